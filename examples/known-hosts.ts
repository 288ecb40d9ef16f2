// Host key checking: knownHosts as a file path, as parsed text, as a
// callback; an unknown or changed key is refused with HostKeyNotVerifiable.
// The strict / accept-new / off policies are reached through ssh_config's
// StrictHostKeyChecking (see ssh-config.ts). Self-contained.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, generatePrivateKey, parseKnownHosts, HostKeyNotVerifiable } from '../src/index.js';

const hostKey = generatePrivateKey('ssh-ed25519');
await using server = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [hostKey], passwords: { demo: 'secret' } });
const dir = mkdtempSync(join(tmpdir(), 'fleetssh-kh-'));
const base = { port: server.port, username: 'demo', password: 'secret', config: null, agentPath: null, clientKeys: null } as const;

// 1. A known_hosts file with the right key ([host]:port form for a non-22 port).
const file = join(dir, 'known_hosts');
writeFileSync(file, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
await (await connect('127.0.0.1', { ...base, knownHosts: file })).close();
console.log('file: trusted');

// 2. A changed key (the file lists another key) is refused.
const other = generatePrivateKey('ssh-ed25519');
try {
  await connect('127.0.0.1', { ...base, knownHosts: parseKnownHosts(`[127.0.0.1]:${server.port} ${other.exportPublicKey()}\n`) });
} catch (err) {
  if (err instanceof HostKeyNotVerifiable) console.log('changed key refused:', err.code, err.fingerprint === hostKey.fingerprintSHA256());
}

// 3. An empty file: the key is unknown, so it is refused too (no trust on first use by default).
writeFileSync(file, '');
await connect('127.0.0.1', { ...base, knownHosts: file }).catch((err: Error & { code?: string }) => console.log('unknown key refused:', err.code));

// 4. A callback decides (here: pin the SHA256 fingerprint).
const pin = hostKey.fingerprintSHA256();
await (await connect('127.0.0.1', { ...base, knownHosts: (_h, _p, key) => key.fingerprint === pin })).close();
console.log('callback: pinned fingerprint accepted');

rmSync(dir, { recursive: true, force: true });
