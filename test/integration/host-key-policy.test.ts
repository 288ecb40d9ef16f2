// hostKeyPolicy: 'accept-new' records an unknown host key (hashed) and trusts
// it afterwards under the strict default; a changed key is refused either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, generatePrivateKey, HostKeyNotVerifiable } from '../../src/index.js';

test("hostKeyPolicy 'accept-new': unknown key recorded hashed, then trusted strictly; changed key refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-hkp-'));
  const hostKey = generatePrivateKey('ssh-ed25519');
  const opts = { serverHostKeys: [hostKey], passwords: { u: 'pw' }, processFactory: (p: { stdout: NodeJS.WritableStream; exit(n: number): void }) => (p.stdout.write('ok\n'), p.exit(0)) };
  const server = await listen({ host: '127.0.0.1', port: 0, ...opts } as never);
  const other = await listen({ host: '127.0.0.1', port: 0, ...opts, serverHostKeys: [generatePrivateKey('ssh-ed25519')] } as never);
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, '');
  const login = (port: number, policy?: 'strict' | 'accept-new') =>
    connect('127.0.0.1', { port, username: 'u', password: 'pw', knownHosts: kh, hostKeyPolicy: policy, config: null, agentPath: null, clientKeys: null } as never);
  try {
    await assert.rejects(login(server.port), HostKeyNotVerifiable, 'strict refuses an unknown key');
    const first = await login(server.port, 'accept-new');
    assert.equal((await first.run('x')).stdout, 'ok\n');
    first.close();
    const text = readFileSync(kh, 'utf8');
    assert.match(text, /^\|1\|[^ ]+ ssh-ed25519 /m, 'a hashed line was added');
    const again = await login(server.port);
    assert.equal((await again.run('x')).stdout, 'ok\n');
    again.close();
    // A different key recorded for that host and port: changed, refused even with accept-new.
    const pinned = join(dir, 'pinned');
    writeFileSync(pinned, `[127.0.0.1]:${other.port} ${generatePrivateKey('ssh-ed25519').exportPublicKey()}\n`);
    await assert.rejects(
      connect('127.0.0.1', { port: other.port, username: 'u', password: 'pw', knownHosts: pinned, hostKeyPolicy: 'accept-new', config: null, agentPath: null, clientKeys: null } as never),
      HostKeyNotVerifiable,
    );
    assert.equal(readFileSync(pinned, 'utf8').trim().split('\n').length, 1, 'nothing appended for a changed key');
    await assert.rejects(connect('127.0.0.1', { port: other.port, hostKeyPolicy: 'maybe' } as never), RangeError);
  } finally {
    await server.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
