// authorized_keys: authorizedClientKeys as a file path (its options are
// enforced: command=, from=, restrict/no-pty, environment=, expiry-time=) or
// as a list of keys (no options). importAuthorizedKeys parses the text.
// Self-contained; knownHosts: null because the host key is generated here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, generatePrivateKey, importAuthorizedKeys, PermissionDenied } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetssh-ak-'));
const admin = generatePrivateKey('ssh-ed25519');
const backup = generatePrivateKey('ssh-ed25519');
const remoteOnly = generatePrivateKey('ssh-ed25519');
const text = [
  `${admin.exportPublicKey()} admin`,
  `restrict,command="echo backup-only" ${backup.exportPublicKey()} backup`,
  `from="10.0.0.0/8" ${remoteOnly.exportPublicKey()} only-from-10/8`,
].join('\n') + '\n';
writeFileSync(join(dir, 'authorized_keys'), text);

const parsed = importAuthorizedKeys(text);
console.log('entries:', parsed.entries.map((e) => `${e.comment} pty=${e.options.permissions.pty} command=${e.options.command ?? '-'}`));

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  authorizedClientKeys: join(dir, 'authorized_keys'),
  processFactory: (p) => {
    // command= replaced what the client asked for; the asked command is in SSH_ORIGINAL_COMMAND.
    p.stdout.write(`running ${JSON.stringify(p.command)} (asked: ${JSON.stringify(p.env.SSH_ORIGINAL_COMMAND ?? p.command)})\n`);
    p.exit(0);
  },
});
const base = { port: server.port, username: 'ops', knownHosts: null, config: null, agentPath: null } as const;

for (const [name, key] of [['admin', admin], ['backup', backup]] as const) {
  await using conn = await connect('127.0.0.1', { ...base, clientKeys: [key] });
  console.log(`${name}:`, (await conn.run('rm -rf /tmp/x')).stdout.toString().trim());
}
try {
  await connect('127.0.0.1', { ...base, clientKeys: [remoteOnly] });
} catch (err) {
  if (err instanceof PermissionDenied) console.log('from="10.0.0.0/8" refused from 127.0.0.1:', err.code);
}
rmSync(dir, { recursive: true, force: true });
