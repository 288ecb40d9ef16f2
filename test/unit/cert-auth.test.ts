/**
 * Certificate user authentication through the sans-I/O auth layers:
 * AuthClient and AuthServer back to back in memory, with real signatures
 * (src/crypto/handshake.ts runHandshake answers the work requests) and a
 * server decider that applies authorizeUserCertificate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthClient } from '../../src/protocol/auth-client.js';
import { AuthServer } from '../../src/protocol/auth-server.js';
import type { DecisionRequest } from '../../src/protocol/layer.js';
import { FakeLayerContext, type WorkDone } from '../helpers/fake-layer-context.js';
import type { HandshakeRequest, SigningKeyRef } from '../../src/protocol/crypto-api.js';
import { decodeUserauthRequest } from '../../src/protocol/auth-messages.js';
import { Msg } from '../../src/protocol/messages.js';
import { type OpenSSHCertificate, CertificateError } from '../../src/protocol/certificate.js';
import { authorizeUserCertificate } from '../../src/protocol/certificate-validation.js';
import { Reader } from '../../src/protocol/wire.js';
import { runHandshake } from '../../src/crypto/handshake.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { certificateSigningKeyRef, createCertificate, type CreateCertificateOptions } from '../../src/crypto/keys/certificate.js';

/** Real signatures (runHandshake) from the queue. */
class Side extends FakeLayerContext {
  constructor(queue: Array<() => void>, decide: (r: DecisionRequest) => unknown, serverSigAlgs: readonly string[] | null) {
    super(queue, { decide, work: realWork, sessionId: new Uint8Array(32).fill(9), serverSigAlgs });
  }
}

function realWork(request: HandshakeRequest, done: WorkDone): void {
  try {
    done(null, runHandshake(request));
  } catch (err) {
    done(err as Error);
  }
}

const NOW = Date.UTC(2025, 0, 15, 12);
const ca = generatePrivateKey('ssh-ed25519');

function run(keys: SigningKeyRef[], options: { serverSigAlgs?: readonly string[] | null; trusted?: Uint8Array[]; clientAddr?: string } = {}) {
  const queue: Array<() => void> = [];
  const certRefusals: string[] = [];
  const serverDecider = (r: DecisionRequest): unknown => {
    if (r.kind === 'beginAuth') return true;
    if (r.kind !== 'certificate') return false;
    try {
      const grant = authorizeUserCertificate(r.certificate as OpenSSHCertificate, { trustedCaKeys: options.trusted ?? [ca.publicBlob] }, {
        username: String(r.username), clientAddr: options.clientAddr ?? '127.0.0.1', now: NOW,
      });
      return { accepted: true, ...grant };
    } catch (err) {
      if (err instanceof CertificateError) certRefusals.push(err.reason);
      return false;
    }
  };
  const client = new Side(queue, () => null, options.serverSigAlgs === undefined ? ['ssh-ed25519', 'rsa-sha2-256', 'rsa-sha2-512', 'ecdsa-sha2-nistp256'] : options.serverSigAlgs);
  const server = new Side(queue, serverDecider, null);
  const ac = new AuthClient(client, { username: 'alice', keys });
  const as = new AuthServer(server, { methods: ['publickey'] });
  client.peer = as;
  server.peer = ac;
  ac.start();
  for (let i = 0; queue.length > 0 && i < 1000; i++) queue.shift()!();
  const requests = client.sent.filter((p) => p[0] === Msg.USERAUTH_REQUEST).map(decodeUserauthRequest);
  return { ac, as, client, server, certRefusals, requests };
}

function certRef(key: SSHKey, o: Partial<CreateCertificateOptions> = {}): SigningKeyRef {
  const cert = createCertificate(ca, key.publicOnly(), { type: 'user', principals: ['alice'], validAfter: NOW / 1000 - 60, validBefore: NOW / 1000 + 60, ...o });
  return certificateSigningKeyRef(key, cert);
}

test('each key type authenticates with a certificate; the request names the certificate algorithm', () => {
  const cases: [SSHKey, string, string][] = [
    [generatePrivateKey('ssh-ed25519'), 'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519'],
    [generatePrivateKey('ecdsa-sha2-nistp256'), 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256'],
    [generatePrivateKey('ecdsa-sha2-nistp521'), 'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'ecdsa-sha2-nistp521'],
    [generatePrivateKey('ssh-rsa', { bits: 2048 }), 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-512'],
  ];
  for (const [key, certAlg, sigAlg] of cases) {
    const r = run([certRef(key, { criticalOptions: { forceCommand: 'uptime' } })]);
    assert.equal(r.as.authenticated, true, certAlg);
    assert.equal(r.ac.authenticated, true, certAlg);
    const signed = r.requests.find((q) => q.fields.kind === 'publickey' && q.fields.signature !== undefined)!;
    assert.ok(signed.fields.kind === 'publickey');
    assert.equal(signed.fields.algorithm, certAlg);
    assert.equal(new Reader(signed.fields.signature!).utf8(), sigAlg, 'the signature itself uses the plain algorithm');
    const success = r.server.events.find((e) => e.type === 'authSuccess') as { certificate?: OpenSSHCertificate; grant?: { forceCommand?: string } };
    assert.equal(success.certificate?.keyId, '');
    assert.equal(success.grant?.forceCommand, 'uptime', 'the force-command reaches the authSuccess event');
  }
});

test('RSA certificates follow server-sig-algs: rsa-sha2-256 only -> rsa-sha2-256-cert-v01', () => {
  const r = run([certRef(generatePrivateKey('ssh-rsa', { bits: 2048 }))], { serverSigAlgs: ['rsa-sha2-256'] });
  assert.equal(r.as.authenticated, true);
  // An in-process key: no "none" request and no query, one signed request.
  assert.deepEqual(r.requests.map((q) => q.fields.kind === 'publickey' && q.fields.signature !== undefined && q.fields.algorithm), ['rsa-sha2-256-cert-v01@openssh.com']);
});

test('refused certificates: expired, wrong principal, untrusted CA, source-address', () => {
  const key = generatePrivateKey('ssh-ed25519');
  const cases: [string, SigningKeyRef, Parameters<typeof run>[1], string][] = [
    ['expired', certRef(key, { validAfter: 1000, validBefore: NOW / 1000 - 1 }), {}, 'expired'],
    ['not yet valid', certRef(key, { validAfter: NOW / 1000 + 10 }), {}, 'not-yet-valid'],
    ['wrong principal', certRef(key, { principals: ['bob'] }), {}, 'wrong-principal'],
    ['untrusted CA', certRef(key), { trusted: [generatePrivateKey('ssh-ed25519').publicBlob] }, 'untrusted-ca'],
    ['source-address', certRef(key, { criticalOptions: { sourceAddress: '10.0.0.0/8' } }), { clientAddr: '192.0.2.1' }, 'source-address'],
  ];
  for (const [name, ref, opts, why] of cases) {
    const r = run([ref], opts);
    assert.equal(r.as.authenticated, false, name);
    assert.deepEqual(r.certRefusals, [why], name);
    assert.equal(r.client.failure?.code, 'ERR_SSH_PERMISSION_DENIED', name);
  }
});

test('a certificate whose CA signature is broken never reaches the decider', () => {
  const key = generatePrivateKey('ssh-ed25519');
  const ref = certRef(key);
  const blob = ref.publicBlob.slice();
  blob[blob.length - 5]! ^= 1;
  const r = run([{ ...ref, publicBlob: blob }]);
  assert.equal(r.as.authenticated, false);
  assert.equal(r.server.decisions.filter((d) => d.kind === 'certificate').length, 0);
});

test('a certificate presented with a key it does not certify fails at the signature check', () => {
  const key = generatePrivateKey('ssh-ed25519');
  const other = generatePrivateKey('ssh-ed25519');
  const ref = certRef(key);
  const r = run([{ ...ref, handle: other.toSigningKeyRef().handle }]);
  assert.equal(r.as.authenticated, false);
  assert.equal(r.server.decisions.filter((d) => d.kind === 'certificate').length, 1, 'an in-process key is signed at once: no query');
  // A key held elsewhere (as an agent's) is queried first, then signed.
  const queried = run([{ ...ref, handle: other.toSigningKeyRef().handle, inProcess: false }]);
  assert.equal(queried.as.authenticated, false);
  assert.equal(queried.server.decisions.filter((d) => d.kind === 'certificate').length, 2, 'asked for the query and the signed request');
  assert.throws(() => certificateSigningKeyRef(other, createCertificate(ca, key.publicOnly(), { type: 'user', principals: ['a'] })), /not for key/);
});

test('a plain key is still asked as publicKey, and a mismatched certificate algorithm is refused unasked', () => {
  const key = generatePrivateKey('ssh-ed25519');
  const r = run([key.toSigningKeyRef()]);
  assert.deepEqual(r.server.decisions.map((d) => d.kind), ['beginAuth', 'publicKey']);
  // An RSA certificate offered under an ed25519 certificate name.
  const rsaRef = certRef(generatePrivateKey('ssh-rsa', { bits: 1024 }));
  const bad = run([{ ...rsaRef, keyType: 'ssh-ed25519-cert-v01@openssh.com' }]);
  assert.equal(bad.as.authenticated, false);
  assert.equal(bad.server.decisions.filter((d) => d.kind === 'certificate').length, 0);
});
