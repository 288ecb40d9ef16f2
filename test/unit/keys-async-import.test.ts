import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { closeKeyImportPool, importPrivateKeyAsync, importPrivateKeysAsync } from '../../src/workers/key-import.js';
import { KeyImportError } from '../../src/protocol/errors.js';

after(() => closeKeyImportPool());

/** Counts event-loop turns (setImmediate callbacks) while `p` is pending. */
async function turnsWhile<T>(p: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return { value: await p, turns };
  } finally {
    done = true;
  }
}

test('encrypted OpenSSH key (bcrypt, 64 rounds) decrypts in the pool while the event loop keeps turning', async () => {
  const key = generatePrivateKey('ssh-ed25519', { comment: 'async' });
  const text = key.exportPrivateKey('openssh', 'secret', { rounds: 64 });
  const { value, turns } = await turnsWhile(importPrivateKeyAsync(text, 'secret'));
  assert.deepEqual(value.publicBlob, key.publicBlob);
  assert.equal(value.comment, 'async');
  // Inline, 64 bcrypt rounds would block: the loop could not turn more than a couple of times.
  assert.ok(turns > 20, `event loop turned only ${turns} times`);
});

test('encrypted PPK v3 (Argon2id) decrypts in the pool; a list of PEM blocks imports in parallel', async () => {
  const ec = generatePrivateKey('ecdsa-sha2-nistp384', { comment: 'ppk' });
  const ppk = ec.exportPrivateKey('ppk3', 'pw', { argon2: { memory: 1024, passes: 2, parallelism: 1 } });
  assert.deepEqual((await importPrivateKeyAsync(ppk, 'pw')).publicBlob, ec.publicBlob);
  const a = generatePrivateKey('ssh-ed25519');
  const b = generatePrivateKey('ecdsa-sha2-nistp256');
  const two = a.exportPrivateKey('openssh', 'pw', { rounds: 4 }) + b.exportPrivateKey('openssh', 'pw', { rounds: 4 });
  const list = await importPrivateKeysAsync(two, 'pw');
  assert.deepEqual(list.map((k) => k.fingerprintSHA256()), [a.fingerprintSHA256(), b.fingerprintSHA256()]);
});

test('wrong passphrase through the pool rejects with KeyImportError', async () => {
  const key = generatePrivateKey('ssh-ed25519');
  await assert.rejects(importPrivateKeyAsync(key.exportPrivateKey('openssh', 'right', { rounds: 4 }), 'wrong'), (e: unknown) => e instanceof KeyImportError && /wrong passphrase|check integers/.test(e.message));
  await assert.rejects(importPrivateKeyAsync('garbage'), KeyImportError);
});
