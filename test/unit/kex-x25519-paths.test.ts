/**
 * The fast paths of nodeX25519 (kex-x25519.ts): a key pair made on this
 * thread is finished with its cached KeyObject, a structured clone of the
 * same secret (what a pool worker receives) goes through the raw JWK import;
 * both must give noble's answer, and malformed input must still fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeX25519, nobleX25519Impl, curve25519Kex } from '../../src/crypto/kex-x25519.js';
import { encodeString } from '../../src/protocol/wire.js';
import { KeyExchangeFailed } from '../../src/protocol/errors.js';

test('X25519 node: cached and cloned secrets give the same shared secret as noble', () => {
  for (let i = 0; i < 16; i++) {
    const a = nodeX25519.keyPair();
    const b = nobleX25519Impl.keyPair();
    const expected = nobleX25519Impl.shared(b.privateKey, a.publicKey);
    assert.deepEqual(nodeX25519.shared(a.privateKey, b.publicKey), expected, 'cached KeyObject');
    assert.deepEqual(nodeX25519.shared(structuredClone(a.privateKey), b.publicKey), expected, 'cloned bytes');
    assert.deepEqual(nodeX25519.shared(Uint8Array.from(a.privateKey), b.publicKey), expected, 'copied bytes');
    assert.deepEqual(nodeX25519.publicKey(Uint8Array.from(a.privateKey)), a.publicKey);
  }
});

test('X25519 node: a subarray view of a larger buffer is read at its offset', () => {
  const a = nobleX25519Impl.keyPair();
  const b = nobleX25519Impl.keyPair();
  const big = new Uint8Array(100).fill(0xee);
  big.set(a.privateKey, 37);
  assert.deepEqual(nodeX25519.shared(big.subarray(37, 69), b.publicKey), nobleX25519Impl.shared(b.privateKey, a.publicKey));
});

test('X25519 node: bad lengths and low-order points are KeyExchangeFailed on both paths', () => {
  const a = nodeX25519.keyPair();
  const clone = Uint8Array.from(a.privateKey);
  const zeroPoint = new Uint8Array(32);
  const onePoint = new Uint8Array(32);
  onePoint[0] = 1;
  for (const priv of [a.privateKey, clone]) {
    assert.throws(() => nodeX25519.shared(priv, zeroPoint), KeyExchangeFailed);
    assert.throws(() => nodeX25519.shared(priv, onePoint), KeyExchangeFailed);
    assert.throws(() => nodeX25519.shared(priv, new Uint8Array(31)), KeyExchangeFailed);
  }
  assert.throws(() => nodeX25519.shared(new Uint8Array(33), a.publicKey), KeyExchangeFailed);
});

test('curve25519Kex: client agree and server respond give the same K (node vs noble server)', () => {
  const client = curve25519Kex();
  const server = curve25519Kex(nobleX25519Impl);
  for (let i = 0; i < 4; i++) {
    const kp = client.generate();
    const { publicWire, sharedWire } = server.respond(kp.publicWire);
    assert.deepEqual(client.agree(kp.secret, publicWire), sharedWire);
    assert.deepEqual(client.agree(Uint8Array.from(kp.secret), publicWire), sharedWire);
  }
  assert.throws(() => client.agree(client.generate().secret, encodeString(new Uint8Array(32))), KeyExchangeFailed);
});
