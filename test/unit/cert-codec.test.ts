/**
 * OpenSSH certificate codec: known-answer certificates written by OpenSSH 9.2's
 * ssh-keygen (commands below), a malformed-input table, and a fast-check
 * round trip of encode/parse.
 *
 * USER_CERT: ssh-keygen -s ca -I alice@example -n alice,deploy -z 7
 *   -V 20200101000000Z:20400101000000Z -O source-address=10.1.0.0/16,127.0.0.1
 *   -O force-command=uptime -O no-pty -O no-port-forwarding u.pub   (ca, u: ed25519)
 * HOST_CERT: ssh-keygen -s rca -h -I host.example -n host.example,10.0.0.5
 *   -z 1234567890123 -V 20200101000000Z:20400101000000Z h.pub   (rca: RSA 2048, h: ecdsa P-256)
 */
const CA_PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGEzLHVQVopWrO3ztLp8hafRFf7A2Hs2WaOwG4AaikhG ca';
const USER_PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICQUTXDACX4W7nZAiHJcZHxi4m940wAPkOsH9/DxmDJf user';
const USER_CERT = 'ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAICQy2q/McKalT3cYbut0geCTMNNIHv0JwEV5R18Ef5J8AAAAICQUTXDACX4W7nZAiHJcZHxi4m940wAPkOsH9/DxmDJfAAAAAAAAAAcAAAABAAAADWFsaWNlQGV4YW1wbGUAAAATAAAABWFsaWNlAAAABmRlcGxveQAAAABeC+EAAAAAAIOqfoAAAABOAAAADWZvcmNlLWNvbW1hbmQAAAAKAAAABnVwdGltZQAAAA5zb3VyY2UtYWRkcmVzcwAAABkAAAAVMTAuMS4wLjAvMTYsMTI3LjAuMC4xAAAAUgAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACBhMyx1UFaKVqzt87S6fIWn0RX+wNh7NlmjsBuAGopIRgAAAFMAAAALc3NoLWVkMjU1MTkAAABAi1AENN/nkPglOtJt7WrPwq82wkxeotYegEE+Cq2YrCrkbvEJ1ugtLv+vg70zD4hLIMbkOH5UHJJFJLmLZLklAQ== user';
const RSA_CA_PUB = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDq8+WXTGyDC2Urq6yimSTTcGYXihisq8Zdwb9jG/oSpxzlxQBbQ7fEHecwukXF2c81TMivzNfWoFgDpr/X2FRo5j1OPj4kV9C7RGjDcJFogv9fUYw/PGzCyOs9yFYU0eSlnYIjYPbpmBuKEEnHQ4V/C9AjJ8tSoUhYvqd6Cgl/y4NVqV4+YThEuj/SuG7k3fPEihCOb3fLRoNe47kqJnCX7BiJoODA65c/SuP46Z+hRlRpEVBsyhEicyceEkss10ZKYXb7KqKohCwtc+/z/6KaxEUaI4eU/ty26fQ9LpeX9jWv9i13K4937p6EUOFfsC6X0j9bCOSAk2MG0As8lB3 rsaca';
const HOST_PUB = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJHeen+nAWPWTaK/y0l9Cjc9YhL+LexMrwdWdtOJAG7Oac/heNEt3r2aeO5qc/gw+36Kae6ulIuKlv8hp5q1zU4= host';
const HOST_CERT = 'ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgCFZhNw4DLZohqpIglvSA17hQ+Pz8LaSfdZh51/1pgAMAAAAIbmlzdHAyNTYAAABBBJHeen+nAWPWTaK/y0l9Cjc9YhL+LexMrwdWdtOJAG7Oac/heNEt3r2aeO5qc/gw+36Kae6ulIuKlv8hp5q1zU4AAAEfcfsEywAAAAIAAAAMaG9zdC5leGFtcGxlAAAAHAAAAAxob3N0LmV4YW1wbGUAAAAIMTAuMC4wLjUAAAAAXgvhAAAAAACDqn6AAAAAAAAAAAAAAAAAAAABFwAAAAdzc2gtcnNhAAAAAwEAAQAAAQEAw6vPll0xsgwtlK6usopkk03BmF4oYrKvGXcG/Yxv6Eqcc5cUAW0O3xB3nMLpFxdnPNUzIr8zX1qBYA6a/19hUaOY9Tj4+JFfQu0Row3CRaIL/X1GMPzxswsjrPchWFNHkpZ2CI2D26ZgbihBJx0OFfwvQIyfLUqFIWL6negoJf8uDValePmE4RLo/0rhu5N3zxIoQjm93y0aDXuO5KiZwl+wYiaDgwOuXP0rj+OmfoUZUaRFQbMoRInMnHhJLLNdGSmF2+yqiqIQsLXPv8/+imsRFGiOHlP7ctun0PS6Xl/Y1r/YtdyuPd+6ehFDhX7Aul9I/WwjkgJNjBtALPJQdwAAARQAAAAMcnNhLXNoYTItNTEyAAABAEZTCW+cUPhPLYwkc8oUACKB2Yp70WBk+hKUjCmp/hDnnZTCx8HQpAjrMot/kY6GIvy9Vl2GvHQ3VbGNTCSO+jxAyCXB66y+Vuc9qUOslbukyK/BWCu0jUBNShiyGW2Ip1mSlNijwdpBlp91LDKnrPshfv5tJJEdUCmu/swUQySTa9MZ+ptI6rl8YYS80bdYyfJztAo3tBDdTILPbNeMDNqCYQYdeTrhwK/ghhSfC3ifE1RkZU42f+UiZS7BiT+1saRA1Qp+9rx3nMXWhB3eLALHvadF8r9pCfhPePfvzPkBrAh+mEb6pBHiD5GUBThpECxOj2WwMUgCmLyf0PN5wng= host';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CERT_FOREVER,
  CertificateError,
  type CertificateFields,
  certAlgorithmFor,
  certAlgorithmsForKeyType,
  certKeyTypeForAlgorithm,
  certSignatureAlgorithm,
  encodeCertificate,
  encodeCertificateBody,
  parseCertificate,
} from '../../src/protocol/certificate.js';
import { Writer } from '../../src/protocol/wire.js';
import { importPublicKey, generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate, importCertificate, parseCertTime } from '../../src/crypto/keys/certificate.js';

const b64 = (line: string): Uint8Array => new Uint8Array(Buffer.from(line.split(' ')[1]!, 'base64'));

test('parses an ssh-keygen user certificate field by field', () => {
  const c = parseCertificate(b64(USER_CERT));
  assert.equal(c.certKeyType, 'ssh-ed25519-cert-v01@openssh.com');
  assert.equal(c.keyType, 'ssh-ed25519');
  assert.equal(c.nonce.length, 32);
  assert.deepEqual(c.publicKeyBlob, importPublicKey(USER_PUB).publicBlob);
  assert.deepEqual(c.signatureKey, importPublicKey(CA_PUB).publicBlob);
  assert.equal(c.serial, 7n);
  assert.equal(c.type, 'user');
  assert.equal(c.keyId, 'alice@example');
  assert.deepEqual(c.principals, ['alice', 'deploy']);
  assert.equal(c.validAfter, BigInt(Date.UTC(2020, 0, 1) / 1000));
  assert.equal(c.validBefore, BigInt(Date.UTC(2040, 0, 1) / 1000));
  assert.deepEqual(c.criticalOptions.map((o) => [o.name, o.value]), [['force-command', 'uptime'], ['source-address', '10.1.0.0/16,127.0.0.1']]);
  // -O no-pty / no-port-forwarding drop those two from ssh-keygen's default extensions.
  assert.deepEqual(c.extensions.map((o) => o.name), ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-user-rc']);
  assert.equal(c.reserved.length, 0);
  assert.equal(c.signedData.length + 4 + c.signature.length, c.blob.length);
});

test('parses an ssh-keygen host certificate signed by an RSA CA with rsa-sha2-512', () => {
  const cert = importCertificate(HOST_CERT);
  assert.equal(cert.type, 'host');
  assert.equal(cert.certKeyType, 'ecdsa-sha2-nistp256-cert-v01@openssh.com');
  assert.equal(cert.serial, 1234567890123n);
  assert.deepEqual(cert.principals, ['host.example', '10.0.0.5']);
  assert.deepEqual(cert.extensions, []);
  assert.equal(cert.comment, 'host');
  assert.deepEqual(cert.subjectKey.publicBlob, importPublicKey(HOST_PUB).publicBlob);
  assert.deepEqual(cert.caKey.publicBlob, importPublicKey(RSA_CA_PUB).publicBlob);
  assert.equal(cert.verifySignature(), true);
  assert.equal(cert.verifySignature(['rsa-sha2-256']), false, 'CA algorithm not in the allowed list');
  assert.equal(cert.exportCertificate(), HOST_CERT);
});

test('a flipped bit anywhere in the signed part breaks the CA signature', () => {
  const blob = b64(USER_CERT);
  const good = importCertificate(USER_CERT);
  assert.equal(good.verifySignature(), true);
  const signedLen = good.cert.signedData.length;
  for (const at of [40, 80, 120, signedLen - 50]) {
    const bad = blob.slice();
    bad[at]! ^= 0x01;
    let ok: boolean;
    try {
      ok = importCertificate(bad).verifySignature();
    } catch (err) {
      assert.ok(err instanceof CertificateError);
      ok = false;
    }
    assert.equal(ok, false, `bit flip at ${at}`);
  }
});

test('algorithm tables map certificate names to plain ones', () => {
  assert.equal(certSignatureAlgorithm('rsa-sha2-512-cert-v01@openssh.com'), 'rsa-sha2-512');
  assert.equal(certSignatureAlgorithm('ssh-ed25519'), undefined);
  assert.equal(certKeyTypeForAlgorithm('rsa-sha2-256-cert-v01@openssh.com'), 'ssh-rsa-cert-v01@openssh.com');
  assert.equal(certAlgorithmFor('ecdsa-sha2-nistp521'), 'ecdsa-sha2-nistp521-cert-v01@openssh.com');
  assert.deepEqual(certAlgorithmsForKeyType('ssh-rsa-cert-v01@openssh.com'), [
    'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com',
  ]);
});

const ED_KEY = importPublicKey(USER_PUB).publicBlob;
const CA_KEY = importPublicKey(CA_PUB).publicBlob;
const FAKE_SIG = new Writer().string('ssh-ed25519').string(new Uint8Array(64)).toBytes();

function fields(over: Partial<CertificateFields> = {}): CertificateFields {
  return {
    certKeyType: 'ssh-ed25519-cert-v01@openssh.com', nonce: new Uint8Array(32).fill(7), publicKeyBlob: ED_KEY, serial: 1n,
    type: 'user', keyId: 'k', principals: ['p'], validAfter: 0n, validBefore: CERT_FOREVER,
    criticalOptions: {}, extensions: { 'permit-pty': '' }, signatureKey: CA_KEY, ...over,
  };
}

/** A cert built by hand, field by field, so tables can corrupt one field. */
function handBuilt(parts: { type?: number; options?: Uint8Array; extensions?: Uint8Array; caKey?: Uint8Array; certType?: string; trailing?: boolean }): Uint8Array {
  const w = new Writer().string(parts.certType ?? 'ssh-ed25519-cert-v01@openssh.com').string(new Uint8Array(32));
  w.string(ED_KEY.subarray(4 + 11 + 4)).uint64(1n).uint32(parts.type ?? 1).string('id');
  w.string(new Writer().string('p').toBytes()).uint64(0n).uint64(CERT_FOREVER);
  w.string(parts.options ?? new Uint8Array(0)).string(parts.extensions ?? new Uint8Array(0)).string(new Uint8Array(0));
  w.string(parts.caKey ?? CA_KEY).string(FAKE_SIG);
  if (parts.trailing) w.byte(0);
  return w.toBytes();
}
const opts = (...pairs: [string, Uint8Array][]): Uint8Array => {
  const w = new Writer();
  for (const [n, d] of pairs) w.string(n).string(d);
  return w.toBytes();
};
const none = new Uint8Array(0);

test('hand-built certificate matches encodeCertificateBody byte for byte', () => {
  const body = encodeCertificateBody(fields({ nonce: new Uint8Array(32), keyId: 'id', extensions: {} }));
  assert.deepEqual(encodeCertificate(body, FAKE_SIG), handBuilt({}));
});

test('malformed certificates are refused with reason "malformed"', () => {
  const cases: [string, Uint8Array][] = [
    ['trailing byte', handBuilt({ trailing: true })],
    ['certificate type 3', handBuilt({ type: 3 })],
    ['plain key type', handBuilt({ certType: 'ssh-ed25519' })],
    ['v00 certificate type', handBuilt({ certType: 'ssh-rsa-cert-v00@openssh.com' })],
    ['options out of order', handBuilt({ options: opts(['source-address', none], ['force-command', none]) })],
    ['repeated option', handBuilt({ options: opts(['force-command', none], ['force-command', none]) })],
    ['repeated extension', handBuilt({ extensions: opts(['permit-pty', none], ['permit-pty', none]) })],
    ['truncated option list', handBuilt({ options: opts(['force-command', none]).subarray(0, 9) })],
    ['CA key is a certificate', handBuilt({ caKey: new Writer().string('ssh-ed25519-cert-v01@openssh.com').toBytes() })],
    ['empty blob', new Uint8Array(0)],
    ['oversized blob', new Uint8Array(20000)],
  ];
  for (const [name, blob] of cases) {
    assert.throws(() => parseCertificate(blob), (e: unknown) => e instanceof CertificateError && e.reason === 'malformed' && e.code === 'ERR_SSH_CERT_MALFORMED', name);
  }
  const good = handBuilt({});
  assert.doesNotThrow(() => parseCertificate(good));
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => parseCertificate(good.subarray(0, n)), CertificateError, `truncated to ${n}`);
  }
});

test('importCertificate refuses plain keys and mismatched lines', () => {
  assert.throws(() => importCertificate(USER_PUB), /not a certificate type/);
  const [, data] = HOST_CERT.split(' ');
  assert.throws(() => importCertificate(`ssh-ed25519-cert-v01@openssh.com ${data}`), /says ssh-ed25519-cert-v01/);
  assert.throws(() => importCertificate('garbage'), CertificateError);
});

test('decode(encode(fields)) round-trips (fast-check)', () => {
  const name = fc.stringMatching(/^[a-z@.-]{1,12}$/);
  fc.assert(
    fc.property(
      fc.record({
        nonce: fc.uint8Array({ maxLength: 40 }),
        serial: fc.bigInt({ min: 0n, max: CERT_FOREVER }),
        type: fc.constantFrom('user' as const, 'host' as const),
        keyId: fc.string({ maxLength: 20 }),
        principals: fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
        validAfter: fc.bigInt({ min: 0n, max: CERT_FOREVER }),
        validBefore: fc.bigInt({ min: 0n, max: CERT_FOREVER }),
        criticalOptions: fc.dictionary(name, fc.string({ maxLength: 10 }), { maxKeys: 4 }),
        extensions: fc.dictionary(name, fc.constant(''), { maxKeys: 6 }),
      }),
      (r) => {
        const f = fields(r);
        const c = parseCertificate(encodeCertificate(encodeCertificateBody(f), FAKE_SIG));
        assert.deepEqual(c.nonce, r.nonce);
        assert.equal(c.serial, r.serial);
        assert.equal(c.type, r.type);
        assert.equal(c.keyId, r.keyId);
        assert.deepEqual(c.principals, r.principals);
        assert.equal(c.validAfter, r.validAfter);
        assert.equal(c.validBefore, r.validBefore);
        assert.deepEqual(Object.fromEntries(c.criticalOptions.map((o) => [o.name, o.value])), { ...r.criticalOptions });
        assert.deepEqual(c.extensions.map((o) => o.name), Object.keys(r.extensions).sort());
        assert.deepEqual(c.publicKeyBlob, ED_KEY);
      },
    ),
    { numRuns: 200 },
  );
});

test('createCertificate signs every key type with every CA type, and the signature verifies', () => {
  const types = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
  const keys = types.map((t) => generatePrivateKey(t, { bits: 1024 }));
  for (const ca of keys) {
    for (const subject of keys) {
      const cert = createCertificate(ca, subject.publicOnly(), { type: 'host', principals: ['h'], serial: 5 });
      assert.equal(cert.certKeyType, `${subject.keyType}-cert-v01@openssh.com`);
      assert.equal(cert.verifySignature(), true, `${subject.keyType} by ${ca.keyType}`);
      assert.ok(cert.certifies(subject));
      assert.deepEqual(importCertificate(cert.exportCertificate()).blob, cert.blob);
    }
  }
  const rsa = keys[4]!;
  const c256 = createCertificate(rsa, keys[0]!, { type: 'user', principals: ['u'], signatureAlgorithm: 'rsa-sha2-256' });
  assert.equal(c256.verifySignature(), true);
  assert.equal(c256.verifySignature(['rsa-sha2-512']), false);
  const sha1 = createCertificate(rsa, keys[0]!, { type: 'user', principals: ['u'], signatureAlgorithm: 'ssh-rsa' });
  assert.equal(sha1.verifySignature(), false, 'ssh-rsa (SHA-1) CA signatures are refused by default, as OpenSSH CASignatureAlgorithms');
  assert.equal(sha1.verifySignature(['ssh-rsa']), true);
});

test('createCertificate argument errors name the argument', () => {
  const ca = generatePrivateKey('ssh-ed25519');
  const k = generatePrivateKey('ssh-ed25519');
  assert.throws(() => createCertificate(ca.publicOnly(), k, { type: 'user' }), /caKey/);
  assert.throws(() => createCertificate(ca, k, { type: 'both' as 'user' }), /type/);
  assert.throws(() => createCertificate(ca, k, { type: 'user', validAfter: '+2h', validBefore: '+1h' }), /validBefore/);
  assert.throws(() => createCertificate(ca, k, { type: 'user', validBefore: 'tomorrow' }), /validBefore/);
  assert.throws(() => createCertificate(ca, k, { type: 'user', criticalOptions: { sourceAddress: 'example.com' } }), /source-address/);
  assert.throws(() => createCertificate(ca, k, { type: 'user', signatureAlgorithm: 'rsa-sha2-512' }), /signatureAlgorithm/);
  assert.throws(() => createCertificate(ca, k, { type: 'user', principals: [''] }), /principals/);
});

test('parseCertTime reads ssh-keygen -V forms', () => {
  const now = Date.UTC(2024, 5, 1, 12, 0, 0);
  const s = BigInt(now / 1000);
  const table: [string | number | bigint | Date, bigint][] = [
    ['always', 0n],
    ['forever', CERT_FOREVER],
    ['+1h', s + 3600n],
    ['-5m', s - 300n],
    ['+1w2d3', s + 604800n + 2n * 86400n + 3n],
    ['20200101Z', BigInt(Date.UTC(2020, 0, 1) / 1000)],
    ['202001020304Z', BigInt(Date.UTC(2020, 0, 2, 3, 4) / 1000)],
    ['20200102030405Z', BigInt(Date.UTC(2020, 0, 2, 3, 4, 5) / 1000)],
    [1700000000, 1700000000n],
    [1700000000n, 1700000000n],
    [new Date(now + 999), s],
  ];
  for (const [input, want] of table) assert.equal(parseCertTime(input, now, 'v'), want, String(input));
  for (const bad of ['', '+', '+1y', '2020', '20201301Z', -1, 1.5, -1n]) {
    assert.throws(() => parseCertTime(bad, now, 'validAfter'), /validAfter/, String(bad));
  }
});
