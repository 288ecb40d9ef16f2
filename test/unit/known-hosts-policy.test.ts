import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostKeyVerifier, hmacSha1, readKnownHosts, sha256Fingerprint } from '../../src/actors/known-hosts-policy.js';
import { HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import { checkHostKey, encodeBase64, importKnownHosts } from '../../src/protocol/known-hosts.js';

function blob(type: string, fill: number): Uint8Array {
  const t = new TextEncoder().encode(type);
  const b = new Uint8Array(4 + t.length + 4 + 32);
  new DataView(b.buffer).setUint32(0, t.length);
  b.set(t, 4);
  new DataView(b.buffer).setUint32(4 + t.length, 32);
  b.fill(fill, 8 + t.length);
  return b;
}
const ED = 'ssh-ed25519';

function withDir(fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-khp-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function refusal(p: Promise<void>): Promise<HostKeyNotVerifiable> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HostKeyNotVerifiable, String(err));
    return err;
  }
  assert.fail('expected HostKeyNotVerifiable');
}

test('strict refuses unknown keys naming host and fingerprint; trusts listed ones', withDir(async (dir) => {
  const path = join(dir, 'known_hosts');
  const known = blob(ED, 1);
  writeFileSync(path, `srv.example ${ED} ${encodeBase64(known)}\n`);
  const verify = createHostKeyVerifier({ knownHosts: path });
  await verify('srv.example', '10.0.0.1', 22, known, ED);
  const err = await refusal(verify('other.example', null, 22, known, ED));
  assert.equal(err.host, 'other.example');
  assert.equal(err.fingerprint, sha256Fingerprint(known));
  assert.equal(err.code, 'ERR_SSH_HOST_KEY_NOT_VERIFIABLE');
  assert.match(err.message, /not in known_hosts/);
  assert.match(err.message, /SHA256:/);
}));

test('a changed key is refused under every policy; revoked too', withDir(async (dir) => {
  const path = join(dir, 'known_hosts');
  writeFileSync(path, `srv ${ED} ${encodeBase64(blob(ED, 1))}\n@revoked * ${ED} ${encodeBase64(blob(ED, 3))}\n`);
  for (const policy of ['strict', 'accept-new', 'off'] as const) {
    const verify = createHostKeyVerifier({ knownHosts: path, policy });
    assert.match((await refusal(verify('srv', null, 22, blob(ED, 2), ED))).message, /CHANGED/);
    assert.match((await refusal(verify('any', null, 22, blob(ED, 3), ED))).message, /REVOKED/);
  }
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3, 'nothing appended');
}));

test('off accepts unknown keys without writing; null disables checks; callback decides', withDir(async (dir) => {
  const path = join(dir, 'known_hosts');
  await createHostKeyVerifier({ knownHosts: path, policy: 'off' })('h', null, 22, blob(ED, 1), ED);
  assert.equal((await readKnownHosts(path)).entries.length, 0);
  await createHostKeyVerifier({ knownHosts: null })('h', null, 22, blob(ED, 1), ED);
  const seen: string[] = [];
  const cb = createHostKeyVerifier({ knownHosts: (host, _a, port, _b, type) => (seen.push(`${host}:${port}:${type}`), host === 'ok') });
  await cb('ok', null, 2222, blob(ED, 1), ED);
  await refusal(cb('no', null, 22, blob(ED, 1), ED));
  assert.deepEqual(seen, [`ok:2222:${ED}`, `no:22:${ED}`]);
  assert.throws(() => createHostKeyVerifier({ policy: 'yolo' as 'off' }), TypeError);
}));

test('accept-new appends one hashed line per host, safely under concurrency', withDir(async (dir) => {
  const path = join(dir, 'sub', 'known_hosts');
  const verify = createHostKeyVerifier({ knownHosts: path, policy: 'accept-new' });
  // 12 distinct hosts and 6 racing verifications of one more host, all at once.
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < 12; i++) jobs.push(verify(`h${i}.example`, null, i % 2 ? 2222 : 22, blob(ED, 10 + i), ED));
  for (let i = 0; i < 6; i++) jobs.push(verify('same.example', null, 22, blob(ED, 99), ED));
  await Promise.all(jobs);
  const text = readFileSync(path, 'utf8');
  const kh = importKnownHosts(text, { hmacSha1 });
  assert.deepEqual(kh.errors, []);
  assert.equal(kh.entries.length, 13);
  assert.ok(kh.entries.every((e) => e.hosts.kind === 'hashed'));
  for (let i = 0; i < 12; i++) assert.equal(checkHostKey(kh, `h${i}.example`, null, i % 2 ? 2222 : 22, blob(ED, 10 + i)), 'trusted');
  assert.equal(checkHostKey(kh, 'same.example', null, 22, blob(ED, 99)), 'trusted');
  // Now known: a different key for it is a change, and refused.
  await refusal(verify('same.example', null, 22, blob(ED, 98), ED));
  assert.equal(readFileSync(path, 'utf8'), text);
}));
