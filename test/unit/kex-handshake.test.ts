import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, getDiffieHellman } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { KEX_ALGORITHMS, type KexName, type SignatureName } from '../../src/protocol/algorithms.js';
import type { DhGroup, KexClientFinishResult, KexClientStartResult, KexServerResult } from '../../src/protocol/crypto-api.js';
import { KeyExchangeFailed } from '../../src/protocol/errors.js';
import { Reader, bytesToBigint, bigintToBytes, concatBytes, encodeMpint, encodeString, utf8 } from '../../src/protocol/wire.js';
import { runHandshake, chooseGexGroup, dhGroupFor } from '../../src/crypto/handshake.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { kexInfo } from '../../src/protocol/kex-methods.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const prefix = encodeString(utf8('V_C..Q_C stand-in prefix'));

function groupFor(method: KexName): DhGroup | undefined {
  return kexInfo(method).style === 'gex' ? chooseGexGroup(2048, 2048, 8192) : dhGroupFor(method);
}

function fullExchange(method: KexName, alg: SignatureName = 'ssh-ed25519', key = hostKey) {
  const group = groupFor(method);
  const start = runHandshake({ op: 'kexClientStart', method, group }) as KexClientStartResult;
  const server = runHandshake({
    op: 'kexServer', method, group, clientPublicWire: start.publicWire, hashPrefix: prefix, hostKey: key.toSigningKeyRef(), signatureAlgorithm: alg,
  }) as KexServerResult;
  const client = runHandshake({
    op: 'kexClientFinish', method, group, secret: start.secret, serverPublicWire: server.publicWire,
    hashPrefix: concatBytes(prefix, server.publicWire), hostKeyBlob: key.publicBlob, signature: server.signature, signatureAlgorithm: alg,
  }) as KexClientFinishResult;
  return { group, start, server, client };
}

function str(wire: Uint8Array): Uint8Array {
  const r = new Reader(wire);
  const v = r.string();
  r.end();
  return v;
}
function mp(wire: Uint8Array): bigint {
  const r = new Reader(wire);
  const v = r.mpint();
  r.end();
  return v;
}

for (const method of KEX_ALGORITHMS) {
  test(`${method}: client and server agree on K and H, host signature verifies`, () => {
    const { server, client } = fullExchange(method);
    assert.deepEqual(client.sharedWire, server.sharedWire);
    assert.deepEqual(client.exchangeHash, server.exchangeHash);
    const want = createHash(kexInfo(method).hash).update(prefix).update(server.publicWire).update(server.sharedWire).digest();
    assert.deepEqual(Buffer.from(server.exchangeHash), want);
    assert.equal(client.signatureValid, true);
  });
}

test('a signature over another hash is reported invalid, not thrown', () => {
  const method = 'curve25519-sha256';
  const a = fullExchange(method);
  const start = runHandshake({ op: 'kexClientStart', method }) as KexClientStartResult;
  const res = runHandshake({
    op: 'kexClientFinish', method, secret: start.secret, serverPublicWire: a.server.publicWire,
    hashPrefix: prefix, hostKeyBlob: hostKey.publicBlob, signature: a.server.signature, signatureAlgorithm: 'ssh-ed25519',
  }) as KexClientFinishResult;
  assert.equal(res.signatureValid, false);
});

test('curve25519: K is mpint of the X25519 output read big-endian (RFC 8731 §3.1), cross-checked with noble', () => {
  const { start, server } = fullExchange('curve25519-sha256');
  const raw = x25519.getSharedSecret(start.secret, str(server.publicWire));
  assert.deepEqual(server.sharedWire, encodeMpint(raw));
  assert.equal(mp(server.sharedWire), bytesToBigint(raw));
});

test('ecdh-sha2-nistp*: K is the shared x-coordinate, cross-checked with noble', () => {
  const curves = { 'ecdh-sha2-nistp256': [p256, 32], 'ecdh-sha2-nistp384': [p384, 48], 'ecdh-sha2-nistp521': [p521, 66] } as const;
  for (const [method, [curve, n]] of Object.entries(curves)) {
    const { start, server } = fullExchange(method as KexName);
    assert.equal(str(start.publicWire)[0], 4, 'uncompressed point');
    const shared = curve.getSharedSecret(bigintToBytes(bytesToBigint(start.secret), n), str(server.publicWire));
    assert.equal(mp(server.sharedWire), bytesToBigint(shared.subarray(1)));
  }
});

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

test('diffie-hellman-group14-sha256: e = g^x mod p and K = f^x mod p (BigInt cross-check)', () => {
  const { group, start, server } = fullExchange('diffie-hellman-group14-sha256');
  const p = bytesToBigint(group!.p);
  const x = bytesToBigint(start.secret);
  assert.equal(mp(start.publicWire), modPow(2n, x, p));
  assert.equal(mp(server.sharedWire), modPow(mp(server.publicWire), x, p));
});

test('mlkem768x25519-sha256: layout and K = string(SHA256(K_PQ || K_CL)), cross-checked with noble', () => {
  const { start, server } = fullExchange('mlkem768x25519-sha256');
  assert.equal(str(start.publicWire).length, 1184 + 32);
  const reply = str(server.publicWire);
  assert.equal(reply.length, 1088 + 32);
  const kPq = ml_kem768.decapsulate(reply.subarray(0, 1088), start.secret.subarray(0, 2400));
  const kCl = x25519.getSharedSecret(start.secret.subarray(2400), reply.subarray(1088));
  const k = createHash('sha256').update(kPq).update(kCl).digest();
  assert.deepEqual(server.sharedWire, encodeString(k));
});

test('malformed or weak peer publics fail with KeyExchangeFailed', () => {
  const g14 = dhGroupFor('diffie-hellman-group14-sha256')!;
  const p = bytesToBigint(g14.p);
  const dh = 'diffie-hellman-group14-sha256';
  const cases: Array<[string, KexName, Uint8Array]> = [
    ['DH e = 0', dh, encodeMpint(new Uint8Array(0))],
    ['DH e = 1', dh, encodeMpint(Uint8Array.of(1))],
    ['DH e = p - 1', dh, encodeMpint(bigintToBytes(p - 1n))],
    ['DH e = p', dh, encodeMpint(g14.p)],
    ['DH trailing bytes', dh, concatBytes(encodeMpint(Uint8Array.of(5)), Uint8Array.of(0))],
    ['DH truncated', dh, Uint8Array.of(0, 0, 0, 9, 1)],
    ['X25519 short key', 'curve25519-sha256', encodeString(new Uint8Array(31))],
    ['X25519 zero point (all-zero shared secret)', 'curve25519-sha256', encodeString(new Uint8Array(32))],
    ['X25519 order-1 point u=1', 'curve25519-sha256', encodeString(Uint8Array.of(1, ...new Uint8Array(31)))],
    ['P-256 point off curve', 'ecdh-sha2-nistp256', encodeString(Uint8Array.of(4, ...new Uint8Array(64).fill(7)))],
    ['P-256 compressed point', 'ecdh-sha2-nistp256', encodeString(p256.getPublicKey(p256.utils.randomSecretKey(), true))],
    ['P-384 point of P-256', 'ecdh-sha2-nistp384', encodeString(p256.getPublicKey(p256.utils.randomSecretKey(), false))],
    ['ML-KEM wrong length', 'mlkem768x25519-sha256', encodeString(new Uint8Array(1215))],
    ['ML-KEM key with coefficients >= q', 'mlkem768x25519-sha256', encodeString(new Uint8Array(1216).fill(0xff))],
  ];
  for (const [name, method, wire] of cases) {
    assert.throws(
      () => runHandshake({ op: 'kexServer', method, group: dhGroupFor(method), clientPublicWire: wire, hashPrefix: prefix, hostKey: hostKey.toSigningKeyRef(), signatureAlgorithm: 'ssh-ed25519' }),
      KeyExchangeFailed,
      name,
    );
  }
  const start = runHandshake({ op: 'kexClientStart', method: 'curve25519-sha256' }) as KexClientStartResult;
  assert.throws(
    () => runHandshake({ op: 'kexClientFinish', method: 'curve25519-sha256', secret: start.secret, serverPublicWire: encodeString(new Uint8Array(32)), hashPrefix: prefix, hostKeyBlob: hostKey.publicBlob, signature: new Uint8Array(0), signatureAlgorithm: 'ssh-ed25519' }),
    KeyExchangeFailed,
  );
});

test('RSA and ECDSA host keys sign the exchange hash with every algorithm they allow', () => {
  const rsa = generatePrivateKey('ssh-rsa', { bits: 2048 });
  for (const alg of ['rsa-sha2-256', 'rsa-sha2-512', 'ssh-rsa'] as const) {
    assert.equal(fullExchange('curve25519-sha256', alg, rsa).client.signatureValid, true, alg);
  }
  const ec = generatePrivateKey('ecdsa-sha2-nistp384');
  assert.equal(fullExchange('ecdh-sha2-nistp384', 'ecdsa-sha2-nistp384', ec).client.signatureValid, true);
});

test('sign and verify ops', () => {
  const data = utf8('data');
  const sig = runHandshake({ op: 'sign', key: hostKey.toSigningKeyRef(), algorithm: 'ssh-ed25519', data }) as Uint8Array;
  assert.equal(runHandshake({ op: 'verify', publicKeyBlob: hostKey.publicBlob, algorithm: 'ssh-ed25519', signature: sig, data }), true);
  assert.equal(runHandshake({ op: 'verify', publicKeyBlob: hostKey.publicBlob, algorithm: 'ssh-ed25519', signature: sig, data: utf8('other') }), false);
});

test('DH private exponents are 512 bits, below the group order (p-1)/2', () => {
  // private exponents are 512 bits: far below every group order (p-1)/2
  const start = runHandshake({ op: 'kexClientStart', method: 'diffie-hellman-group1-sha1' }) as KexClientStartResult;
  assert.equal(start.secret.length, 64);
  assert.ok(bytesToBigint(start.secret) < bytesToBigint(getDiffieHellman('modp2').getPrime()) / 2n);
});
