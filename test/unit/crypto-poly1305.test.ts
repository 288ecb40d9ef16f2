import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import fc from 'fast-check';
import { Poly1305Wasm } from '../../src/crypto/poly1305-wasm.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 8439 section 2.5.2 and appendix A.3 (vectors #1, #5-#9), and
// Bernstein, "The Poly1305-AES message-authentication code" (2005), appendix B
// (key = r || encrypted nonce).
const VECTORS: { source: string; key: string; msg: string; tag: string }[] = [
  {
    source: 'RFC 8439 2.5.2',
    key: '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b',
    msg: Buffer.from('Cryptographic Forum Research Group').toString('hex'),
    tag: 'a8061dc1305136c6c22b8baf0c0127a9',
  },
  { source: 'RFC 8439 A.3 #1', key: '00'.repeat(32), msg: '00'.repeat(64), tag: '00'.repeat(16) },
  { source: 'RFC 8439 A.3 #5', key: '02' + '00'.repeat(31), msg: 'ff'.repeat(16), tag: '03' + '00'.repeat(15) },
  { source: 'RFC 8439 A.3 #6', key: '02' + '00'.repeat(15) + 'ff'.repeat(16), msg: '02' + '00'.repeat(15), tag: '03' + '00'.repeat(15) },
  {
    source: 'RFC 8439 A.3 #7',
    key: '01' + '00'.repeat(31),
    msg: 'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15),
    tag: '05' + '00'.repeat(15),
  },
  {
    source: 'RFC 8439 A.3 #8',
    key: '01' + '00'.repeat(31),
    msg: 'ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16),
    tag: '00'.repeat(16),
  },
  { source: 'RFC 8439 A.3 #9', key: '02' + '00'.repeat(31), msg: 'fd' + 'ff'.repeat(15), tag: 'fa' + 'ff'.repeat(15) },
  {
    source: 'Poly1305-AES paper B, 2-byte message',
    key: '851fc40c3467ac0be05cc20404f3f700580b3b0f9447bb1e69d095b5928b6dbc',
    msg: 'f3f6',
    tag: 'f4c633c3044fc145f84f335cb81953de',
  },
  {
    source: 'Poly1305-AES paper B, empty message',
    key: 'a0f3080000f46400d0c7e9076c834403dd3fab2251f11ac759f0887129cc2ee7',
    msg: '',
    tag: 'dd3fab2251f11ac759f0887129cc2ee7',
  },
];

test('Poly1305 (wasm) matches the RFC 8439 and Poly1305-AES vectors', () => {
  const p = new Poly1305Wasm();
  for (const v of VECTORS) {
    assert.equal(toHex(p.mac(hex(v.key), hex(v.msg))), v.tag, v.source);
  }
});

test('Poly1305 (wasm) equals noble for random keys and lengths, including memory growth', () => {
  const p = new Poly1305Wasm();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 300 }), fc.boolean(), (key, len, ones) => {
      const msg = ones ? new Uint8Array(len).fill(0xff) : randomBytes(len);
      assert.equal(toHex(p.mac(key, msg)), toHex(poly1305(msg, key)));
    }),
    { numRuns: 400 },
  );
  for (const len of [65536 - 128, 65536, 200_000]) {
    const key = randomBytes(32);
    const msg = randomBytes(len);
    assert.equal(toHex(p.mac(key, msg)), toHex(poly1305(msg, key)), `length ${len}`);
  }
});

test('Poly1305 (wasm) writes into an offset and rejects a wrong key size', () => {
  const p = new Poly1305Wasm();
  const v = VECTORS[0];
  const out = new Uint8Array(20);
  p.macInto(hex(v.key), hex(v.msg), out, 4);
  assert.equal(toHex(out.subarray(4)), v.tag);
  assert.throws(() => p.mac(new Uint8Array(31), new Uint8Array(1)), RangeError);
});
