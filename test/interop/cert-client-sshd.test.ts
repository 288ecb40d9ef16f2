/**
 * fleetssh's client authenticating to OpenSSH sshd with a user certificate
 * (CertifiedKey in clientKeys): sshd trusts the CA through TrustedUserCAKeys,
 * for ed25519, ecdsa and RSA keys (rsa-sha2-512-cert-v01 picked through
 * sshd's server-sig-algs); sshd's refusals (expired, wrong principal) surface
 * as PermissionDenied.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir, removeTempDir } from '../helpers/ssh-client.js';
import { connect } from '../../src/actors/client.js';
import { PermissionDenied } from '../../src/protocol/errors.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { CertifiedKey, createCertificate, type CreateCertificateOptions } from '../../src/crypto/keys/certificate.js';

const skip = sshdSkipReason();
const ca = generatePrivateKey('ssh-ed25519');
let dir = '';
let sshd: SshdServer | null = null;

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-certc-');
  chmodSync(dir, 0o755);
  const caFile = join(dir, 'user_ca.pub');
  writeFileSync(caFile, ca.exportPublicKey() + '\n', { mode: 0o644 });
  // DEBUG3: sshd names the algorithm of a signed publickey request only at that level.
  sshd = await startSshd({ hostKeys: ['ed25519'], config: { TrustedUserCAKeys: caFile, LogLevel: 'DEBUG3' } });
});
after(async () => {
  await sshd?.stop();
  if (dir) removeTempDir(dir);
});

function certified(key: SSHKey, o: Partial<CreateCertificateOptions> = {}): CertifiedKey {
  const cert = createCertificate(ca, key.publicOnly(), { type: 'user', keyId: `fleet-${key.keyType}`, principals: ['root'], validAfter: '-5m', validBefore: '+1h', ...o });
  return new CertifiedKey(key, cert);
}

async function login(key: CertifiedKey) {
  return connect('127.0.0.1', {
    port: sshd!.port, username: 'root', clientKeys: [key], knownHosts: sshd!.knownHostsFile, agentPath: null,
    kexAlgs: ['curve25519-sha256'],
  });
}

test('our client logs in to sshd with a certificate for each key type', { skip }, async () => {
  for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'] as const) {
    const key = certified(generatePrivateKey(type, { bits: 2048 }));
    const before = sshd!.logs().length;
    const conn = await login(key);
    try {
      const r = await conn.run('echo cert-login');
      assert.equal(r.stdout, 'cert-login\n', type);
    } finally {
      conn.close();
      await conn.waitClosed();
    }
    const log = sshd!.logs().slice(before);
    const alg = type === 'ssh-rsa' ? 'rsa-sha2-512-cert-v01@openssh.com' : `${type}-cert-v01@openssh.com`;
    assert.match(log, new RegExp(`Accepted publickey for root .*ID fleet-${type} \\(serial 0\\)`), type);
    assert.match(log, new RegExp(`publickey have ${alg.replace(/\./g, '\\.')} signature`), `${type}: signed as ${alg}`);
  }
});

test('sshd refuses our expired or wrong-principal certificate: PermissionDenied', { skip }, async () => {
  for (const o of [{ validAfter: '-2h', validBefore: '-1h' }, { principals: ['someone-else'] }]) {
    await assert.rejects(login(certified(generatePrivateKey('ssh-ed25519'), o)), (e: unknown) => e instanceof PermissionDenied, JSON.stringify(o));
  }
});
