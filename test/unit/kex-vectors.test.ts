import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, getDiffieHellman } from 'node:crypto';
import { nodeX25519, nobleX25519Impl } from '../../src/crypto/kex-x25519.js';
import { DH_GROUP_1, DH_GROUP_14, DH_GROUP_15, DH_GROUP_16, DH_GROUP_17, DH_GROUP_18, chooseGexGroup, groupBits } from '../../src/crypto/dh-groups.js';
import { KeyExchangeFailed } from '../../src/protocol/errors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 7748 §5.2 (first scalar-multiplication vector) and §6.1 (Alice/Bob Diffie-Hellman).
const rfc7748 = {
  scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
  u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
  out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  alicePriv: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePub: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPriv: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPub: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};

for (const [name, impl] of [['node', nodeX25519], ['noble', nobleX25519Impl]] as const) {
  test(`X25519 (${name}) RFC 7748 §5.2 and §6.1 vectors`, () => {
    assert.equal(toHex(impl.shared(hex(rfc7748.scalar), hex(rfc7748.u))), rfc7748.out);
    assert.equal(toHex(impl.publicKey(hex(rfc7748.alicePriv))), rfc7748.alicePub);
    assert.equal(toHex(impl.publicKey(hex(rfc7748.bobPriv))), rfc7748.bobPub);
    assert.equal(toHex(impl.shared(hex(rfc7748.alicePriv), hex(rfc7748.bobPub))), rfc7748.shared);
    assert.equal(toHex(impl.shared(hex(rfc7748.bobPriv), hex(rfc7748.alicePub))), rfc7748.shared);
    assert.throws(() => impl.shared(hex(rfc7748.alicePriv), new Uint8Array(32)), KeyExchangeFailed);
  });
}

test('X25519 node and noble agree on random key pairs', () => {
  for (let i = 0; i < 8; i++) {
    const a = nodeX25519.keyPair();
    const b = nobleX25519Impl.keyPair();
    assert.deepEqual(nobleX25519Impl.publicKey(a.privateKey), a.publicKey);
    assert.deepEqual(nodeX25519.shared(a.privateKey, b.publicKey), nobleX25519Impl.shared(b.privateKey, a.publicKey));
  }
});

const groups = [
  ['modp2', DH_GROUP_1, 1024],
  ['modp14', DH_GROUP_14, 2048],
  ['modp15', DH_GROUP_15, 3072],
  ['modp16', DH_GROUP_16, 4096],
  ['modp17', DH_GROUP_17, 6144],
  ['modp18', DH_GROUP_18, 8192],
] as const;

// SHA-256 of each prime's big-endian bytes, recorded from OpenSSL 3's built-in RFC 2409/3526 tables.
const primeSha256: Record<string, string> = {
  modp2: '3f35a3f5f6c4376a744acad409bb22f8d897f949d2311d885adaa890981b67a0',
  modp14: 'd66436f79bbd6b2e38c0ffbd079be904d2641415e2e67140e09448be9a60890e',
  modp15: '48cf8b092fbce4359d9871abf74f98e25b6163379eaa15cd9087e800c6d1c55c',
  modp16: '4ee95187682bcb230ad26a95205f6920e84708f6251b3894329b09ec23919e33',
  modp17: 'd1bfe6d0925ce7e4da262b62861514a7755e35831e429f343e7b864848657efd',
  modp18: '39ab4feab950a3128fb71accb9fc3965d857012e081998a85996e3ea8b3c3bcf',
};

test('DH group constants equal OpenSSL copies and have the RFC 3526 shape', () => {
  for (const [name, g, bits] of groups) {
    assert.deepEqual(Buffer.from(g.p), getDiffieHellman(name).getPrime(), name);
    assert.equal(createHash('sha256').update(g.p).digest('hex'), primeSha256[name], name);
    assert.equal(groupBits(g), bits, name);
    assert.deepEqual(g.g, Uint8Array.of(2));
    // p = 2^n - 2^(n-64) - 1 + 2^64 * (...): top and bottom 64 bits are all ones; p ≡ 7 mod 8 (safe prime, 2 a QR).
    assert.ok(g.p.subarray(0, 8).every((b) => b === 0xff), `${name} top 64 bits`);
    assert.ok(g.p.subarray(-8).every((b) => b === 0xff), `${name} bottom 64 bits`);
  }
});

test('chooseGexGroup picks the smallest group of at least n bits within [min, max]', () => {
  const table: Array<[number, number, number, number]> = [
    [2048, 2048, 8192, 2048],
    [2048, 3072, 8192, 3072],
    [2048, 7680, 8192, 8192],
    [1024, 2000, 8192, 2048],
    [2048, 8192, 8192, 8192],
    [1024, 1024, 1024, 1024],
    [2048, 9000, 9000, 8192],
    [3000, 3000, 3500, 3072],
  ];
  for (const [min, n, max, want] of table) assert.equal(groupBits(chooseGexGroup(min, n, max)), want, `${min}/${n}/${max}`);
  for (const [min, n, max] of [[9000, 9000, 10000], [2049, 2049, 3071], [4096, 2048, 8192]]) {
    assert.throws(() => chooseGexGroup(min!, n!, max!), KeyExchangeFailed);
  }
});
