/**
 * The server's per-connection auth state across several requests: a user
 * certificate that was only queried (PK_OK, then never signed) must not lend
 * its force-command or permissions to a plain key, a password or another
 * method that logs in after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverDecide, createAuthState, certificateOptionOf, certificatePermissionOf, type ServerAuthConfig } from '../../src/actors/server-auth.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate } from '../../src/crypto/keys/certificate.js';

const ca = generatePrivateKey('ssh-ed25519');
const certKey = generatePrivateKey('ssh-ed25519');
const plain = generatePrivateKey('ssh-ed25519');
const now = Math.floor(Date.now() / 1000);
const cert = createCertificate(ca, certKey.publicOnly(), {
  type: 'user', principals: ['alice'], validAfter: now - 60, validBefore: now + 3600,
  criticalOptions: { forceCommand: 'only-this' }, extensions: ['permit-pty'],
});
const cfg: ServerAuthConfig = { handler: {}, passwords: { alice: 'pw' }, authorizedKeys: [plain.publicOnly()], trustedUserCaKeys: [ca.publicBlob] };

test('a queried certificate lends nothing to a plain key or a password that logs in after it', async () => {
  for (const next of ['publicKey', 'password'] as const) {
    const state = createAuthState('127.0.0.1');
    const granted = await serverDecide(cfg, { kind: 'certificate', username: 'alice', certificate: cert.cert }, state);
    assert.equal((granted as { accepted?: boolean }).accepted, true, 'the certificate itself is acceptable');
    assert.equal(certificateOptionOf(state, 'force-command'), 'only-this', 'while it is the one in play');
    const ok = next === 'publicKey'
      ? await serverDecide(cfg, { kind: 'publicKey', username: 'alice', keyType: 'ssh-ed25519', publicBlob: plain.publicBlob, algorithm: 'ssh-ed25519' }, state)
      : await serverDecide(cfg, { kind: 'password', username: 'alice', password: 'pw' }, state);
    assert.equal(ok, true, `${next} logs in`);
    assert.equal(state.certForceCommand, undefined, `${next}: no force-command carried over`);
    assert.equal(certificateOptionOf(state, 'force-command', 'none'), 'none');
    assert.equal(certificatePermissionOf(state, 'port-forwarding'), true, `${next}: the certificate's missing permit-port-forwarding does not apply`);
  }
});
