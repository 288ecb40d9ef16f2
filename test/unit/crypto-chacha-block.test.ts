import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { ChachaBlock, cryptLength, payloadStream, polyKey } from '../../src/crypto/chacha20-block.js';

const words = (w: Uint32Array) => {
  const bytes = Buffer.alloc(64);
  for (let i = 0; i < 16; i++) bytes.writeUInt32LE(w[i]!, 4 * i);
  return bytes.toString('hex');
};

test('ChaCha20 block function: RFC 8439 2.3.2 test vector', () => {
  const b = new ChachaBlock(Uint8Array.from({ length: 32 }, (_, i) => i));
  // Nonce 00:00:00:09:00:00:00:4a:00:00:00:00 as little-endian words, counter 1.
  assert.equal(
    words(b.block(1, 0x09000000, 0x4a000000, 0)),
    '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
  );
});

test('ChaCha20 block function agrees with node:crypto for random keys, counters and nonces', () => {
  for (let i = 0; i < 200; i++) {
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const expected = createCipheriv('chacha20', key, iv).update(Buffer.alloc(64)).toString('hex');
    const out = new ChachaBlock(key).block(iv.readUInt32LE(0), iv.readUInt32LE(4), iv.readUInt32LE(8), iv.readUInt32LE(12), new Uint32Array(16));
    assert.equal(words(out), expected);
  }
});

test('cryptLength: the 4 length bytes XORed with K_1 block 0 under nonce = seq (uint64 BE), as node:crypto does it', () => {
  const key = randomBytes(32);
  const b = new ChachaBlock(key);
  for (const seq of [0, 1, 2, 255, 256, 0x01020304, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
    const src = randomBytes(4);
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(12, seq);
    const expected = createCipheriv('chacha20', key, iv).update(src);
    assert.deepEqual(Buffer.from(cryptLength(b, seq, src)), expected, `seq ${seq}`);
  }
});

test('ChachaBlock: rejects a key that is not 32 bytes; dispose wipes the key', () => {
  assert.throws(() => new ChachaBlock(new Uint8Array(16)), RangeError);
  const b = new ChachaBlock(randomBytes(32));
  b.dispose();
  const zero = new ChachaBlock(new Uint8Array(32));
  assert.deepEqual(b.block(0, 0, 0, 0, new Uint32Array(16)), zero.block(0, 0, 0, 0, new Uint32Array(16)));
});

test('polyKey and payloadStream: block 0 and the keystream from block 1 on, split at any point, as node:crypto', () => {
  const key = randomBytes(32);
  const b = new ChachaBlock(key);
  for (const seq of [0, 7, 0x01020304, 0xffffffff]) {
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(12, seq);
    const data = randomBytes(300);
    const whole = createCipheriv('chacha20', key, iv).update(Buffer.concat([Buffer.alloc(64), data]));
    assert.deepEqual(Buffer.from(polyKey(b, seq)), whole.subarray(0, 32), `poly key, seq ${seq}`);
    for (const cut of [0, 1, 63, 64, 65, 200, 300]) {
      const crypt = payloadStream(b, seq);
      const got = Buffer.concat([crypt(data.subarray(0, cut)), crypt(data.subarray(cut))]);
      assert.deepEqual(got, whole.subarray(64), `seq ${seq}, cut at ${cut}`);
    }
  }
});
