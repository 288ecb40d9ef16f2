/**
 * Host certificates through the client's known_hosts verifier
 * (actors/known-hosts-policy.ts createHostKeyVerifier, which calls
 * crypto/keys/certificate.ts checkHostCertificate): @cert-authority trust,
 * @revoked, validity and principals, and ssh(1)'s fallback to the plain key
 * when no @cert-authority line names the CA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHostKeyVerifier, hmacSha1 } from '../../src/actors/known-hosts-policy.js';
import { HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import { importKnownHosts } from '../../src/protocol/known-hosts.js';
import { CertificateError } from '../../src/protocol/certificate.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { checkHostCertificate, createCertificate, type CreateCertificateOptions } from '../../src/crypto/keys/certificate.js';

const ca = generatePrivateKey('ssh-ed25519');
const hostKey = generatePrivateKey('ecdsa-sha2-nistp256');

function hostCert(o: Partial<CreateCertificateOptions> = {}) {
  return createCertificate(ca, hostKey.publicOnly(), { type: 'host', keyId: 'web1', principals: ['web1.example.com'], validAfter: '-5m', validBefore: '+1h', ...o });
}

async function verdict(knownHosts: string, blob: Uint8Array, keyType: string, host = 'web1.example.com'): Promise<string> {
  const verify = createHostKeyVerifier({ knownHosts: importKnownHosts(knownHosts, { hmacSha1 }) });
  try {
    await verify(host, null, 22, blob, keyType);
    return 'trusted';
  } catch (err) {
    assert.ok(err instanceof HostKeyNotVerifiable, String(err));
    return err.message;
  }
}

test('a host certificate is trusted through @cert-authority and refused with the failed check named', async () => {
  const CA = `@cert-authority *.example.com ${ca.exportPublicKey()}\n`;
  const good = hostCert();
  assert.equal(await verdict(CA, good.blob, good.certKeyType), 'trusted');
  const expired = hostCert({ validAfter: '-2h', validBefore: '-1h' });
  assert.match(await verdict(CA, expired.blob, expired.certKeyType), /unacceptable certificate: .*expired/);
  const wrongName = hostCert({ principals: ['db1.example.com'] });
  assert.match(await verdict(CA, wrongName.blob, wrongName.certKeyType), /is not valid for "web1.example.com"/);
  const userCert = hostCert({ type: 'user' });
  assert.match(await verdict(CA, userCert.blob, userCert.certKeyType), /user certificate/);
  assert.match(await verdict(`${CA}@revoked * ${ca.exportPublicKey()}\n`, good.blob, good.certKeyType), /revoked/i);
  const tampered = good.blob.slice();
  tampered[tampered.length - 3]! ^= 1;
  assert.match(await verdict(CA, tampered, good.certKeyType), /CA signature does not verify/);
});

test('no @cert-authority for the CA: the certified key is checked as a plain key (as ssh)', async () => {
  const good = hostCert();
  const plainLine = `web1.example.com ${hostKey.exportPublicKey()}\n`;
  assert.equal(await verdict(plainLine, good.blob, good.certKeyType), 'trusted');
  assert.match(await verdict('', good.blob, good.certKeyType), /is not in known_hosts/);
  const otherCa = `@cert-authority * ${generatePrivateKey('ssh-ed25519').exportPublicKey()}\n`;
  assert.match(await verdict(otherCa, good.blob, good.certKeyType), /is not in known_hosts/);
  // An expired certificate is refused even though its plain key is listed.
  const expired = hostCert({ validAfter: '-2h', validBefore: '-1h' });
  assert.match(await verdict(`@cert-authority * ${ca.exportPublicKey()}\n${plainLine}`, expired.blob, expired.certKeyType), /expired/);
});

test('checkHostCertificate returns the certificate or throws CertificateError', () => {
  const kh = importKnownHosts(`@cert-authority [web1.example.com]:2222 ${ca.exportPublicKey()}\n`, { hmacSha1 });
  const good = hostCert();
  assert.equal(checkHostCertificate(good.blob, kh, { host: 'web1.example.com', port: 2222 }).keyId, 'web1');
  assert.throws(() => checkHostCertificate(good.blob, kh, { host: 'web1.example.com', port: 22 }), (e: unknown) => e instanceof CertificateError && e.reason === 'untrusted-ca');
  assert.throws(() => checkHostCertificate(hostKey.publicBlob, kh, { host: 'web1.example.com', port: 2222 }), (e: unknown) => e instanceof CertificateError && e.reason === 'malformed');
});
