// Tunnels: a connection through a jump host (`tunnel: conn`, an OpenSSH
// ProxyJump string, or a ProxyCommand), and the reverse direction (the server dials out:
// connectReverse / listenReverse). Self-contained: a bastion and a target on
// 127.0.0.1:0. Host keys are checked with a known_hosts callback that pins
// the keys generated here.
import { connect, listen, connectReverse, listenReverse, generatePrivateKey, type SSHClientConnection, type KnownHostsCallback } from '../src/index.js';

const bastionKey = generatePrivateKey('ssh-ed25519');
const targetKey = generatePrivateKey('ssh-ed25519');
const pinned = new Set([bastionKey.fingerprintSHA256(), targetKey.fingerprintSHA256()]);
const knownHosts: KnownHostsCallback = (_host, _port, key) => pinned.has(key.fingerprint);

const common = { passwords: { demo: 'secret' }, host: '127.0.0.1', port: 0 } as const;
await using bastion = await listen({ ...common, serverHostKeys: [bastionKey] }); // allows direct-tcpip by default
await using target = await listen({
  ...common,
  serverHostKeys: [targetKey],
  processFactory: (p) => { p.stdout.write(`target says hi to ${p.username}\n`); p.exit(0); },
});
const opts = { username: 'demo', password: 'secret', knownHosts, config: null, agentPath: null, clientKeys: null } as const;

// 1. Through an open connection: the target's SSH runs inside a direct-tcpip channel of the bastion.
{
  await using jump = await connect('127.0.0.1', { ...opts, port: bastion.port });
  await using conn = await connect('127.0.0.1', { ...opts, port: target.port, tunnel: jump });
  console.log('tunnel: conn ->', (await conn.run('x')).stdout.toString().trim());
}

// 2. A ProxyJump string ("[user@]host[:port],..."): each hop is connected with the same options.
{
  await using conn = await connect('127.0.0.1', { ...opts, port: target.port, tunnel: `demo@127.0.0.1:${bastion.port}` });
  console.log('tunnel: string ->', (await conn.run('x')).stdout.toString().trim());
}

// 3. A ProxyCommand: any local command whose stdin/stdout reach the target
//    (`nc %h %p`, `ssh -W %h:%p bastion`, a corporate connector). Here a
//    one-line Node relay; a string runs under /bin/sh, a list without a shell.
{
  const relay = "const s=require('net').connect(+process.argv[2],process.argv[1]);process.stdin.pipe(s).pipe(process.stdout)";
  await using conn = await connect('127.0.0.1', { ...opts, port: target.port, proxyCommand: [process.execPath, '-e', relay, '%h', '%p'] });
  console.log('proxyCommand ->', (await conn.run('x')).stdout.toString().trim());
}

// 4. Reverse direction: the client listens, the server side dials out to it
//    (e.g. a device behind NAT reaching a management host).
const rl = await listenReverse({ ...opts, host: '127.0.0.1', port: 0 });
const got = new Promise<SSHClientConnection>((resolve) => rl.once('connection', resolve));
const device = await connectReverse('127.0.0.1', rl.port, {
  serverHostKeys: [targetKey],
  passwords: { demo: 'secret' },
  processFactory: (p) => { p.stdout.write('reverse: device answered\n'); p.exit(0); },
});
const manager = await got;
console.log((await manager.run('status')).stdout.toString().trim());
await manager.close();
await device.close();
await rl.close();
