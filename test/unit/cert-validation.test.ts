/**
 * Certificate trust rules (protocol/certificate-validation.ts) against
 * certificates signed here with createCertificate: one table of
 * check -> refusal reason for each rule, plus the authorized_keys
 * cert-authority and known_hosts @cert-authority paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CertificateError, type CertificateFailure } from '../../src/protocol/certificate.js';
import {
  authorizeHostCertificate,
  authorizeUserCertificate,
  checkCertificate,
  sourceAddressAllows,
  type CertificateCheck,
} from '../../src/protocol/certificate-validation.js';
import { importAuthorizedKeys } from '../../src/protocol/authorized-keys.js';
import { importKnownHosts } from '../../src/protocol/known-hosts.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate, type CreateCertificateOptions, type SSHCertificate } from '../../src/crypto/keys/certificate.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const S = NOW / 1000;
const ca = generatePrivateKey('ssh-ed25519');
const otherCa = generatePrivateKey('ecdsa-sha2-nistp256');
const userKey = generatePrivateKey('ssh-ed25519');
const hmacSha1 = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha1', k).update(d).digest());

function cert(o: Partial<CreateCertificateOptions> = {}, by: SSHKey = ca): SSHCertificate {
  return createCertificate(by, userKey, { type: 'user', keyId: 'kid', principals: ['alice'], validAfter: S - 60, validBefore: S + 3600, now: NOW, ...o });
}

function reason(fn: () => unknown): CertificateFailure | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (err instanceof CertificateError) return err.reason;
    throw err;
  }
}

test('checkCertificate: one refusal reason per rule', () => {
  const user: CertificateCheck = { type: 'user', now: NOW, principals: ['alice'], clientAddr: '10.1.2.3' };
  const table: [string, SSHCertificate, Partial<CertificateCheck>, CertificateFailure | 'accepted'][] = [
    ['valid', cert(), {}, 'accepted'],
    ['host cert used as user cert', cert({ type: 'host' }), {}, 'wrong-type'],
    ['user cert used as host cert', cert(), { type: 'host' }, 'wrong-type'],
    ['expired a second ago', cert({ validBefore: S }), {}, 'expired'],
    ['valid until the next second', cert({ validBefore: S + 1 }), {}, 'accepted'],
    ['not yet valid', cert({ validAfter: S + 1 }), {}, 'not-yet-valid'],
    ['valid from this second', cert({ validAfter: S }), {}, 'accepted'],
    ['forever', cert({ validAfter: 'always', validBefore: 'forever' }), {}, 'accepted'],
    ['wrong principal', cert({ principals: ['bob'] }), {}, 'wrong-principal'],
    ['principal is case-sensitive for users', cert({ principals: ['Alice'] }), {}, 'wrong-principal'],
    ['second principal matches', cert({ principals: ['bob', 'alice'] }), {}, 'accepted'],
    ['user cert without principals', cert({ principals: [] }), {}, 'no-principals'],
    ['source-address matches CIDR', cert({ criticalOptions: { sourceAddress: '10.0.0.0/8' } }), {}, 'accepted'],
    ['source-address second entry', cert({ criticalOptions: { sourceAddress: ['192.168.0.0/16', '10.1.2.3'] } }), {}, 'accepted'],
    ['source-address mismatch', cert({ criticalOptions: { sourceAddress: '192.168.0.0/16' } }), {}, 'source-address'],
    ['source-address, IPv4-mapped client', cert({ criticalOptions: { sourceAddress: '10.0.0.0/8' } }), { clientAddr: '::ffff:10.9.9.9' }, 'accepted'],
    ['source-address, IPv6 client', cert({ criticalOptions: { sourceAddress: '10.0.0.0/8' } }), { clientAddr: '::1' }, 'source-address'],
    ['source-address, address unknown', cert({ criticalOptions: { sourceAddress: '10.0.0.0/8' } }), { clientAddr: undefined }, 'source-address'],
    ['force-command is understood', cert({ criticalOptions: { forceCommand: 'uptime' } }), {}, 'accepted'],
    ['unknown critical option', cert({ criticalOptions: { 'made-up@example.com': 'x' } }), {}, 'critical-option'],
    ['verify-required cannot be proven by ed25519', cert({ criticalOptions: { verifyRequired: true } }), {}, 'critical-option'],
    ['unknown extension is ignored', cert({ extensions: ['made-up@example.com'] }), {}, 'accepted'],
  ];
  for (const [name, c, over, want] of table) {
    assert.equal(reason(() => checkCertificate(c.cert, { ...user, ...over })), want, name);
  }
});

test('host certificates: principals optional, host names case-insensitive, no critical options', () => {
  const host = (o: Partial<CreateCertificateOptions>) => cert({ type: 'host', principals: ['web1.example.com'], ...o });
  const check: CertificateCheck = { type: 'host', now: NOW, principals: ['WEB1.example.com'] };
  assert.equal(reason(() => checkCertificate(host({}).cert, check)), 'accepted');
  assert.equal(reason(() => checkCertificate(host({ principals: [] }).cert, check)), 'accepted');
  assert.equal(reason(() => checkCertificate(host({ principals: ['web2.example.com'] }).cert, check)), 'wrong-principal');
  assert.equal(reason(() => checkCertificate(host({ criticalOptions: { forceCommand: 'x' } }).cert, check)), 'critical-option');
});

test('SSHCertificate.validate checks the CA signature first', () => {
  const good = cert();
  assert.doesNotThrow(() => good.validate({ type: 'user', now: NOW, principals: ['alice'] }));
  const blob = good.blob.slice();
  blob[blob.length - 10]! ^= 1; // inside the signature
  const tampered = createCertificate(ca, userKey, { type: 'user', principals: ['alice'] });
  Object.defineProperty(tampered, 'cert', { value: { ...good.cert, signature: blob.subarray(good.cert.signedData.length + 4) } });
  assert.equal(reason(() => tampered.validate({ type: 'user', now: NOW, principals: ['alice'] })), 'bad-signature');
});

test('authorizeUserCertificate: TrustedUserCAKeys requires the username as principal', () => {
  const trust = { trustedCaKeys: [ca.publicBlob] };
  const ctx = { username: 'alice', clientAddr: '127.0.0.1', now: NOW };
  const g = authorizeUserCertificate(cert({ criticalOptions: { forceCommand: 'uptime' }, extensions: ['permit-pty'] }).cert, trust, ctx);
  assert.equal(g.via, 'trusted-ca');
  assert.equal(g.forceCommand, 'uptime');
  assert.equal(g.keyId, 'kid');
  assert.deepEqual(g.permissions, { pty: true, 'port-forwarding': false, 'agent-forwarding': false, 'x11-forwarding': false, 'user-rc': false });
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, trust, { ...ctx, username: 'bob' })), 'wrong-principal');
  assert.equal(reason(() => authorizeUserCertificate(cert({}, otherCa).cert, trust, ctx)), 'untrusted-ca');
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, { ...trust, revokedKeys: [userKey.publicBlob] }, ctx)), 'revoked');
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, { ...trust, revokedKeys: [ca.publicBlob] }, ctx)), 'revoked');
  assert.equal(reason(() => authorizeUserCertificate(cert({ validBefore: S - 1, validAfter: S - 100 }).cert, trust, ctx)), 'expired');
});

test('authorizeUserCertificate: authorized_keys cert-authority with principals=, from= and options', () => {
  const caLine = ca.exportPublicKey();
  const ctx = { username: 'alice', clientAddr: '10.0.0.7', now: NOW };
  const ak = (opts: string) => ({ authorizedKeys: importAuthorizedKeys(`${opts} ${caLine}\n`) });
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, ak('cert-authority'), ctx)), 'accepted');
  // A plain key line for the CA is not a cert-authority line.
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, ak(''), ctx)), 'untrusted-ca');
  // principals= replaces the username check: exact names from the list.
  const ops = ak('cert-authority,principals="ops,admin"');
  assert.equal(reason(() => authorizeUserCertificate(cert({ principals: ['ops'] }).cert, ops, ctx)), 'accepted');
  assert.equal(reason(() => authorizeUserCertificate(cert({ principals: ['alice'] }).cert, ops, ctx)), 'wrong-principal');
  assert.equal(reason(() => authorizeUserCertificate(cert({ principals: ['op*'] }).cert, ops, ctx)), 'wrong-principal');
  assert.equal(reason(() => authorizeUserCertificate(cert().cert, ak('cert-authority,from="192.168.*"'), ctx)), 'source-address');
  const restricted = authorizeUserCertificate(cert({ extensions: ['permit-pty', 'permit-port-forwarding'] }).cert, ak('cert-authority,no-pty,command="id"'), ctx);
  assert.equal(restricted.via, 'authorized-keys');
  assert.equal(restricted.permissions.pty, false, 'no-pty on the CA line wins over permit-pty');
  assert.equal(restricted.permissions['port-forwarding'], true);
  assert.equal(restricted.forceCommand, 'id');
  assert.equal(reason(() => authorizeUserCertificate(cert({ criticalOptions: { forceCommand: 'uptime' } }).cert, ak('cert-authority,command="id"'), ctx)), 'critical-option');
});

test('authorizeHostCertificate: known_hosts @cert-authority and @revoked', () => {
  const host = createCertificate(ca, generatePrivateKey('ecdsa-sha2-nistp256'), {
    type: 'host', principals: ['web1.example.com', '10.0.0.5'], validAfter: S - 60, validBefore: S + 60,
  });
  const caLine = ca.exportPublicKey();
  const kh = (text: string) => importKnownHosts(text, { hmacSha1 });
  const target = { host: 'web1.example.com', port: 22, now: NOW };
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority *.example.com ${caLine}\n`), target)), 'accepted');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority *.example.org ${caLine}\n`), target)), 'untrusted-ca');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`*.example.com ${caLine}\n`), target)), 'untrusted-ca');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority * ${caLine}\n@revoked * ${caLine}\n`), target)), 'revoked');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority [*]:2222 ${caLine}\n`), { ...target, port: 2222 })), 'accepted');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority * ${caLine}\n`), { ...target, host: 'web2.example.com' })), 'wrong-principal');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority * ${caLine}\n`), { ...target, host: 'web2', addr: '10.0.0.5' })), 'accepted');
  assert.equal(reason(() => authorizeHostCertificate(host.cert, kh(`@cert-authority * ${caLine}\n`), { ...target, now: NOW + 61_000 })), 'expired');
});

test('sourceAddressAllows refuses malformed lists instead of matching them as patterns', () => {
  assert.equal(sourceAddressAllows('10.0.0.0/8', '10.2.3.4'), true);
  assert.equal(sourceAddressAllows('2001:db8::/32', '2001:db8::1'), true);
  assert.equal(sourceAddressAllows('10.*', '10.2.3.4'), false);
  assert.equal(sourceAddressAllows('!10.0.0.0/8', '11.0.0.1'), false);
  assert.equal(sourceAddressAllows('10.0.0.1/8', '10.0.0.1'), false, 'host bits beyond the mask');
  assert.equal(sourceAddressAllows('', '10.0.0.1'), false);
});
