// listen() with a handler object: beginAuth, validatePassword,
// validatePublicKey, getKbdintChallenge/validateKbdintResponse,
// sessionRequested; SSHServerProcess (command, env, exit, exitWithSignal).
// Self-contained; knownHosts: null because the host key is generated here.
import { connect, listen, generatePrivateKey, PermissionDenied, type ServerHandler } from '../src/index.js';

const userKey = generatePrivateKey('ecdsa-sha2-nistp256');

const handler: ServerHandler = {
  beginAuth: (username) => username !== 'guest', // guest: no authentication at all
  validatePassword: (username, password) => username === 'alice' && password === 'wonderland',
  validatePublicKey: (username, key) =>
    username === 'bob' && Buffer.from(key.publicBlob).equals(Buffer.from(userKey.publicBlob)),
  getKbdintChallenge: (username) =>
    username === 'carol' ? { instruction: 'second factor', prompts: [{ prompt: 'Code: ', echo: true }] } : null,
  validateKbdintResponse: (_username, responses) => responses[0] === '123456',
  sessionRequested: (conn) => conn.username !== 'nosession',
};

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  handler,
  banner: 'authorized use only\n',
  loginTimeout: 10_000,
  processFactory: async (proc) => {
    if (proc.command === 'crash') return proc.exitWithSignal('SEGV', true, 'pretend crash');
    proc.stdout.write(`hello ${proc.username}: ${proc.command}\n`);
    proc.exit(0);
  },
});
console.log('listening on', server.address());

const base = { port: server.port, knownHosts: null, clientKeys: null, agentPath: null, config: null } as const;

const guest = await connect('127.0.0.1', { ...base, username: 'guest' });
console.log((await guest.run('whoami')).stdout.toString().trim());
await guest.close();

let banner = '';
const alice = await connect('127.0.0.1', { ...base, username: 'alice', password: 'wonderland', onBanner: (m) => (banner = m) });
console.log((await alice.run('uptime')).stdout.toString().trim(), '| banner:', JSON.stringify(banner));
const crashed = await alice.run('crash');
console.log('exitSignal:', crashed.exitSignal?.signal, 'coreDumped:', crashed.exitSignal?.coreDumped, 'returncode:', crashed.returncode);
await alice.close();

const bob = await connect('127.0.0.1', { ...base, username: 'bob', clientKeys: [userKey] });
console.log((await bob.run('id')).stdout.toString().trim());
await bob.close();

const carol = await connect('127.0.0.1', {
  ...base,
  username: 'carol',
  kbdintHandler: (_name, instruction, prompts) => (instruction === 'second factor' && prompts.length === 1 ? ['123456'] : null),
});
console.log((await carol.run('date')).stdout.toString().trim());
await carol.close();

try {
  await connect('127.0.0.1', { ...base, username: 'alice', password: 'wrong' });
} catch (err) {
  if (err instanceof PermissionDenied) console.log('wrong password:', err.code);
}
