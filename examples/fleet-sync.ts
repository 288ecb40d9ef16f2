// Fleet file sync over SFTP: fleet.putAll() copies a local tree to every
// host, fleet.getAll() gathers a remote tree from every host into a local
// directory per host. Self-contained: three embedded servers, each serving
// SFTP chrooted to a directory of its own, plus a port with nothing listening.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, generatePrivateKey, Fleet, type SSHServer } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'fleet-sync-'));
const servers: SSHServer[] = [];
for (let i = 0; i < 3; i++) {
  const root = join(work, `host${i}`);
  mkdirSync(join(root, 'var/log'), { recursive: true });
  mkdirSync(join(root, 'srv')); // put -r makes /srv/app, not its parents (as sftp's put -r)
  writeFileSync(join(root, 'var/log/app.log'), `host${i}: started\n`);
  servers.push(await listen({
    host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    passwords: { deploy: 'secret' }, sftpFactory: { chroot: root },
  }));
}
const hosts = [...servers.map((s, i) => ({ name: `host${i}`, host: '127.0.0.1', port: s.port })), { name: 'down', host: '127.0.0.1', port: 1 }];
const fleet = new Fleet(hosts, {
  retries: 0,
  connect: { username: 'deploy', password: 'secret', knownHosts: null, config: null, agentPath: null, clientKeys: null },
});

// Push a release to every host; a `file` event per file done.
const release = join(work, 'release');
mkdirSync(join(release, 'conf'), { recursive: true });
writeFileSync(join(release, 'conf/app.conf'), 'workers=4\n');
writeFileSync(join(release, 'VERSION'), '1.2.3\n');
const pushed = await fleet.putAll(release, '/srv/app', { recurse: true });
console.log('put:', pushed.summary.succeeded, 'hosts ok,', pushed.summary.unreachable, 'unreachable');
for (const r of pushed.failed) console.log(`${r.host}: put failed: ${r.error?.message}`);
console.log('host1 has VERSION', readFileSync(join(work, 'host1/srv/app/VERSION'), 'utf8').trim());

// Gather every host's logs into ./logs/<host>/.
const logs = join(work, 'logs');
const gathered = await fleet.getAll('/var/log', logs, { recurse: true });
for (const r of gathered.succeeded) console.log(`${r.host}:`, readFileSync(join(logs, r.host, 'log/app.log'), 'utf8').trim());
for (const r of gathered.unreachable) console.log(`${r.host}: ${r.error?.kind} (${r.error?.message})`);

for (const s of servers) await s.close();
rmSync(work, { recursive: true, force: true });
