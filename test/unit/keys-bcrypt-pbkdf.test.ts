import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bcryptPbkdf, piFractionWords } from '../../src/crypto/bcrypt-pbkdf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

test('Blowfish initial state is pi: P[0], P[17], S0[0], S3[255] (Schneier 1993 table)', () => {
  const w = piFractionWords(1042);
  assert.equal(w[0]!.toString(16), '243f6a88');
  assert.equal(w[1]!.toString(16), '85a308d3');
  assert.equal(w[17]!.toString(16), '8979fb1b');
  assert.equal(w[18]!.toString(16), 'd1310ba6');
  assert.equal(w[1041]!.toString(16), '3ac372e6');
});

// OpenBSD regress/lib/libutil/bcrypt_pbkdf vectors (as carried by RustCrypto bcrypt-pbkdf tests/test_vectors.rs).
const vectors: Array<[string, string, number, string]> = [
  ['password', 'salt', 4, '5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9'],
  ['password', '\0', 4, 'c12b566235eee04c212598970a579a67'],
  ['\0', 'salt', 4, '6051be18c2f4f82cbf0efee5471b4bb9'],
  ['password\0', 'salt\0', 4, '7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050'],
];

for (const [pw, salt, rounds, out] of vectors) {
  test(`bcrypt_pbkdf(${JSON.stringify(pw)}, ${JSON.stringify(salt)}, ${rounds}) = ${out.slice(0, 16)}...`, () => {
    assert.equal(hex(bcryptPbkdf(bytes(pw), bytes(salt), out.length / 2, rounds)), out);
  });
}

test('output bytes are interleaved across blocks: a longer key is not an extension of a shorter one', () => {
  const a = bcryptPbkdf(bytes('pw'), bytes('salt'), 32, 2);
  const b = bcryptPbkdf(bytes('pw'), bytes('salt'), 48, 2);
  // keylen 48 -> stride 2: block 1 fills even positions, so b[0] = a[0] but b[1] != a[1]
  assert.equal(b[0], a[0]);
  assert.notDeepEqual(b.subarray(0, 32), a);
});

test('bad parameters are RangeError', () => {
  assert.throws(() => bcryptPbkdf(bytes('pw'), bytes('s'), 32, 0), RangeError);
  assert.throws(() => bcryptPbkdf(bytes('pw'), new Uint8Array(0), 32, 1), RangeError);
  assert.throws(() => bcryptPbkdf(bytes('pw'), bytes('s'), 0, 1), RangeError);
  assert.throws(() => bcryptPbkdf(bytes('pw'), bytes('s'), 32, 1e9), RangeError);
});
