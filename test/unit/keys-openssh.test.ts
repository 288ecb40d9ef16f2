import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { SSHKey, generatePrivateKey, importPrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { verifySignature } from '../../src/crypto/keys/signature.js';
import { KeyImportError } from '../../src/protocol/errors.js';
import { Reader, Writer, utf8 } from '../../src/protocol/wire.js';
import type { SignatureName } from '../../src/protocol/algorithms.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetssh-keys-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const keygenTypes: Array<[string, string[], SignatureName[]]> = [
  ['ed25519', ['-t', 'ed25519'], ['ssh-ed25519']],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], ['ecdsa-sha2-nistp256']],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], ['ecdsa-sha2-nistp384']],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], ['ecdsa-sha2-nistp521']],
  ['rsa', ['-t', 'rsa', '-b', '2048'], ['rsa-sha2-256', 'rsa-sha2-512', 'ssh-rsa']],
];

function keygenFingerprint(path: string, md5 = false): string {
  const out = execFileSync('ssh-keygen', ['-l', ...(md5 ? ['-E', 'md5'] : []), '-f', path], { encoding: 'utf8' });
  return out.split(' ')[1]!;
}

for (const [name, args, algs] of keygenTypes) {
  test(`ssh-keygen ${name}: import, fingerprints, export read back by ssh-keygen -y, signatures`, () => {
    const path = join(dir, name);
    execFileSync('ssh-keygen', [...args, '-N', '', '-C', `c-${name}`, '-q', '-f', path]);
    const key = importPrivateKey(readFileSync(path, 'utf8'));
    assert.equal(key.hasPrivate, true);
    assert.equal(key.comment, `c-${name}`);
    const pub = importPublicKey(readFileSync(path + '.pub', 'utf8'));
    assert.equal(pub.hasPrivate, false);
    assert.deepEqual(key.publicBlob, pub.publicBlob);
    assert.equal(key.exportPublicKey(), readFileSync(path + '.pub', 'utf8').trim());
    assert.equal(key.fingerprintSHA256(), keygenFingerprint(path));
    assert.equal(key.fingerprintMD5(), keygenFingerprint(path, true));
    assert.deepEqual(importPublicKey(pub.publicBlob).publicBlob, pub.publicBlob);

    const ours = join(dir, name + '-ours');
    writeFileSync(ours, key.exportPrivateKey('openssh'));
    chmodSync(ours, 0o600);
    const derived = execFileSync('ssh-keygen', ['-y', '-f', ours], { encoding: 'utf8' }).trim();
    assert.equal(derived.split(' ').slice(0, 2).join(' '), pub.exportPublicKey().split(' ').slice(0, 2).join(' '));
    assert.deepEqual(importPrivateKey(readFileSync(ours)).publicBlob, key.publicBlob);

    const data = utf8(`message for ${name}`);
    for (const alg of algs) {
      const sig = key.sign(alg, data);
      assert.equal(pub.verify(alg, sig, data), true, alg);
      assert.equal(verifySignature(pub.publicBlob, alg, sig, data), true, alg);
      assert.equal(verifySignature(pub.publicBlob, alg, sig, utf8('tampered')), false, alg);
    }
  });
}

test('ssh-keygen reads keys we generate, and prints the same fingerprint', () => {
  for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const) {
    const key = generatePrivateKey(type, { bits: 2048, comment: 'gen' });
    const path = join(dir, `gen-${type}`);
    writeFileSync(path, key.exportPrivateKey());
    chmodSync(path, 0o600);
    assert.equal(execFileSync('ssh-keygen', ['-y', '-f', path], { encoding: 'utf8' }).trim(), key.exportPublicKey(), type);
    assert.equal(keygenFingerprint(path), key.fingerprintSHA256(), type);
    const pkcs8 = importPrivateKey(key.exportPrivateKey('pkcs8'));
    assert.deepEqual(pkcs8.publicBlob, key.publicBlob);
  }
});

test('Ed25519 RFC 8032 §7.1 TEST 1 and TEST 2 through SSHKey', () => {
  const vectors = [
    ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ];
  for (const [sk, pk, msg, sig] of vectors) {
    const b64u = (h: string) => Buffer.from(h!, 'hex').toString('base64url');
    const key = new SSHKey(createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(sk!), x: b64u(pk!) }, format: 'jwk' }));
    const blob = key.sign('ssh-ed25519', Buffer.from(msg!, 'hex'));
    const r = new Reader(blob);
    assert.equal(r.utf8(), 'ssh-ed25519');
    assert.equal(Buffer.from(r.string()).toString('hex'), sig);
    r.end();
    assert.equal(Buffer.from(key.publicBlob.subarray(-32)).toString('hex'), pk);
  }
});

test('ECDSA signatures are mpint r, mpint s and verify with noble; Ed25519 with noble', () => {
  const data = utf8('cross-check');
  for (const [type, curve, hash] of [['ecdsa-sha2-nistp256', p256, 'sha256'], ['ecdsa-sha2-nistp384', p384, 'sha384'], ['ecdsa-sha2-nistp521', p521, 'sha512']] as const) {
    const key = generatePrivateKey(type);
    const r = new Reader(key.sign(type, data));
    assert.equal(r.utf8(), type);
    const inner = new Reader(r.string());
    const rr = inner.mpint();
    const ss = inner.mpint();
    inner.end();
    const n = { 'ecdsa-sha2-nistp256': 32, 'ecdsa-sha2-nistp384': 48, 'ecdsa-sha2-nistp521': 66 }[type];
    const compact = Buffer.concat([Buffer.from(rr.toString(16).padStart(n * 2, '0'), 'hex'), Buffer.from(ss.toString(16).padStart(n * 2, '0'), 'hex')]);
    const q = key.publicBlob.subarray(-(1 + 2 * n));
    assert.equal(nodeVerify(hash, data, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, compact), true);
    assert.equal(curve.verify(compact, data, q, { prehash: true, lowS: false }), true, type);
  }
  const ed = generatePrivateKey('ssh-ed25519');
  const sig = new Reader(ed.sign('ssh-ed25519', data));
  sig.utf8();
  assert.equal(ed25519.verify(sig.string(), data, ed.publicBlob.subarray(-32)), true);
});

test('verifySignature returns false, never throws, on wrong or malformed input', () => {
  const ed = generatePrivateKey('ssh-ed25519');
  const rsa = generatePrivateKey('ssh-rsa', { bits: 2048 });
  const data = utf8('x');
  const good = ed.sign('ssh-ed25519', data);
  const rsaSig = rsa.sign('rsa-sha2-256', data);
  const cases: Array<[string, Uint8Array, string, Uint8Array]> = [
    ['rsa key for ed25519 alg', rsa.publicBlob, 'ssh-ed25519', good],
    ['ed key for rsa alg', ed.publicBlob, 'rsa-sha2-256', rsaSig],
    ['blob names other alg', rsa.publicBlob, 'rsa-sha2-512', rsaSig],
    ['truncated signature', ed.publicBlob, 'ssh-ed25519', good.subarray(0, good.length - 1)],
    ['trailing bytes', ed.publicBlob, 'ssh-ed25519', Uint8Array.from([...good, 0])],
    ['empty signature', ed.publicBlob, 'ssh-ed25519', new Uint8Array(0)],
    ['garbage key blob', utf8('not a key'), 'ssh-ed25519', good],
    ['unknown algorithm', ed.publicBlob, 'ssh-dss', good],
    ['63-byte ed25519 signature', ed.publicBlob, 'ssh-ed25519', new Writer().string('ssh-ed25519').string(new Uint8Array(63)).toBytes()],
  ];
  for (const [name, blob, alg, sig] of cases) assert.equal(verifySignature(blob, alg, sig, data), false, name);
  assert.throws(() => ed.sign('rsa-sha2-256', data), TypeError);
  assert.throws(() => ed.publicOnly().sign('ssh-ed25519', data), TypeError);
});

test('malformed keys are KeyImportError', () => {
  const ed = generatePrivateKey('ssh-ed25519');
  const pem = ed.exportPrivateKey();
  const body = pem.split('\n').slice(1, -2).join('');
  const raw = Buffer.from(body, 'base64');
  const rearmor = (b: Uint8Array) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(b).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const encrypted = new Writer().raw(utf8('openssh-key-v1\0')).string('aes256-ctr').string('bcrypt').string(new Writer().string(new Uint8Array(16)).uint32(16).toBytes()).uint32(1).string(ed.publicBlob).string(new Uint8Array(16)).toBytes();
  const flipped = Buffer.from(raw);
  flipped[raw.length - 40]! ^= 1;
  const cases: Array<[string, () => unknown, RegExp?]> = [
    ['encrypted, no passphrase', () => importPrivateKey(rearmor(encrypted)), /passphrase is required/],
    ['truncated', () => importPrivateKey(rearmor(raw.subarray(0, raw.length - 20)))],
    ['bad magic', () => importPrivateKey(rearmor(Buffer.concat([Buffer.from('x'), raw.subarray(1)])))],
    ['corrupt private section', () => importPrivateKey(rearmor(flipped))],
    ['not base64', () => importPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\n@@@\n-----END OPENSSH PRIVATE KEY-----')],
    ['no armor', () => importPrivateKey('hello')],
    ['bad PEM', () => importPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----')],
    ['public: one field', () => importPublicKey('ssh-ed25519')],
    ['public: type mismatch', () => importPublicKey(`ssh-rsa ${Buffer.from(ed.publicBlob).toString('base64')}`)],
    ['public: short ed25519', () => importPublicKey(new Writer().string('ssh-ed25519').string(new Uint8Array(31)).toBytes())],
    ['public: unknown type', () => importPublicKey(new Writer().string('ssh-dss').string(new Uint8Array(31)).toBytes())],
    ['public: trailing', () => importPublicKey(Uint8Array.from([...ed.publicBlob, 1]))],
    ['public: ecdsa curve mismatch', () => importPublicKey(new Writer().string('ecdsa-sha2-nistp256').string('nistp384').string(new Uint8Array(97)).toBytes())],
  ];
  for (const [name, fn, msg] of cases) assert.throws(fn, (e: unknown) => e instanceof KeyImportError && (!msg || msg.test(e.message)), name);
});
