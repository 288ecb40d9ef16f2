// ssh_config: the `config` option (default ~/.ssh/config; null = none).
// Host aliases, HostName/Port/User, IdentityFile, and StrictHostKeyChecking
// accept-new (unknown keys are appended to UserKnownHostsFile; a changed key
// is still refused). Explicit connect() options always win. Self-contained.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, generatePrivateKey } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetssh-cfg-'));
const userKey = generatePrivateKey('ssh-ed25519');
writeFileSync(join(dir, 'id_web'), userKey.exportPrivateKey(), { mode: 0o600 });

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  authorizedClientKeys: [userKey.publicOnly()],
  processFactory: (p) => { p.stdout.write(`${p.username} ran ${p.command}\n`); p.exit(0); },
});

const knownHosts = join(dir, 'known_hosts');
const config = join(dir, 'config');
writeFileSync(config, `
Host web
  HostName 127.0.0.1
  Port ${server.port}
  User deploy
  IdentityFile ${join(dir, 'id_web')}
  IdentitiesOnly yes
  UserKnownHostsFile ${knownHosts}
  StrictHostKeyChecking accept-new
`);

{
  await using conn = await connect('web', { config });
  console.log((await conn.run('hostname')).stdout.toString().trim(), `(${conn.host}:${conn.port})`);
}
console.log('accept-new wrote:', readFileSync(knownHosts, 'utf8').split(' ').slice(0, 2).join(' '));
{
  // Second time the key is known; an explicit username overrides User.
  await using conn = await connect('web', { config, username: 'ops' });
  console.log((await conn.run('id')).stdout.toString().trim());
}
rmSync(dir, { recursive: true, force: true });
