/**
 * Certificates against OpenSSH 9.2: ssh-keygen -s certificates (user and
 * -h host, every key type, ed25519 and RSA CAs) are parsed and validated by
 * fleetssh; certificates fleetssh signs are printed correctly by
 * `ssh-keygen -L`, accepted by sshd (TrustedUserCAKeys and authorized_keys
 * cert-authority, with `ssh -i key` and our key-cert.pub) and by ssh
 * (@cert-authority, with sshd presenting our host certificate via
 * HostCertificate); expired, not-yet-valid and wrong-principal ones are
 * refused by sshd/ssh and by our validator alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, sshdSkipReason, testKeys, type SshdServer } from '../helpers/openssh.js';
import { keygen, makeTempDir, removeTempDir, runProcess, runSsh, type KeyFiles } from '../helpers/ssh-client.js';
import { CertificateError, type CertificateFailure } from '../../src/protocol/certificate.js';
import { authorizeUserCertificate } from '../../src/protocol/certificate-validation.js';
import { importAuthorizedKeys } from '../../src/protocol/authorized-keys.js';
import { importPrivateKey, importPublicKey, generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate, readCertificate, type CreateCertificateOptions, type SSHCertificate } from '../../src/crypto/keys/certificate.js';

const skip = sshdSkipReason();
let dir = '';

before(() => {
  dir = makeTempDir('fleetssh-cert-');
});
after(() => removeTempDir(dir));

async function keygenOk(args: string[]): Promise<string> {
  const r = await runProcess('ssh-keygen', args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `ssh-keygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString('utf8');
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

test('ssh-keygen -s user and host certificates for every key type are parsed and validated', async () => {
  const rsaCa = await keygen('rsa', 2048, { dir, name: 'rsa_ca' });
  const edCa = await keygen('ed25519', undefined, { dir, name: 'ed_ca' });
  const subjects: KeyFiles[] = [
    await keygen('ed25519', undefined, { dir }),
    await keygen('ecdsa', 256, { dir }),
    await keygen('ecdsa', 384, { dir }),
    await keygen('ecdsa', 521, { dir }),
    await keygen('rsa', 2048, { dir }),
  ];
  const now = Date.now();
  for (const ca of [edCa, rsaCa]) {
    for (const s of subjects) {
      await keygenOk(['-q', '-s', ca.privatePath, '-I', 'user-id', '-n', 'alice,deploy', '-V', '-5m:+1h', '-z', '42', s.publicPath]);
      const user = await readCertificate(s.publicPath.replace(/\.pub$/, '-cert.pub'));
      assert.equal(user.type, 'user');
      assert.equal(user.serial, 42n);
      assert.deepEqual(user.subjectKey.publicBlob, importPublicKey(s.publicLine).publicBlob);
      assert.deepEqual(user.caKey.publicBlob, importPublicKey(ca.publicLine).publicBlob);
      assert.equal(reason(() => user.validate({ type: 'user', principals: ['deploy'], now })), 'accepted', `${s.type} by ${ca.type}`);
      assert.equal(reason(() => user.validate({ type: 'user', principals: ['mallory'], now })), 'wrong-principal');
      assert.equal(reason(() => user.validate({ type: 'host', principals: ['alice'], now })), 'wrong-type');
      assert.equal(reason(() => user.validate({ type: 'user', principals: ['alice'], now: now + 2 * 3600_000 })), 'expired');

      await keygenOk(['-q', '-s', ca.privatePath, '-h', '-I', 'host-id', '-n', 'web1.example.com', '-V', '+1h:+2h', s.publicPath]);
      const host = await readCertificate(s.publicPath.replace(/\.pub$/, '-cert.pub'));
      assert.equal(host.type, 'host');
      assert.equal(reason(() => host.validate({ type: 'host', principals: ['web1.example.com'], now })), 'not-yet-valid');
      assert.equal(reason(() => host.validate({ type: 'host', principals: ['web1.example.com'], now: now + 90 * 60_000 })), 'accepted');
      assert.equal(reason(() => host.validate({ type: 'host', principals: ['web2.example.com'], now: now + 90 * 60_000 })), 'wrong-principal');
    }
  }
});

test('ssh-keygen -L prints what fleetssh signed', async () => {
  const ca = generatePrivateKey('ssh-rsa', { bits: 2048 });
  const subject = generatePrivateKey('ecdsa-sha2-nistp384');
  const cert = createCertificate(ca, subject.publicOnly(), {
    type: 'user', keyId: 'fleet id "7"', principals: ['alice', 'bob'], serial: 2n ** 63n + 5n,
    validAfter: '20240102030405Z', validBefore: '20340102030405Z',
    criticalOptions: { forceCommand: 'echo forced', sourceAddress: ['10.0.0.0/8', '::1'] },
    extensions: ['permit-pty', 'permit-agent-forwarding', 'no-touch-required'],
  });
  const path = join(dir, 'ours-cert.pub');
  writeFileSync(path, cert.exportCertificate() + '\n');
  const out = await runProcess('ssh-keygen', ['-L', '-f', path], { timeoutMs: 30_000, env: { ...process.env, TZ: 'UTC' } });
  assert.equal(out.code, 0, out.stderr);
  const text = out.stdout.toString('utf8');
  assert.match(text, /Type: ecdsa-sha2-nistp384-cert-v01@openssh\.com user certificate/);
  assert.match(text, new RegExp(`Public key: ECDSA-CERT ${subject.fingerprintSHA256().replace(/[+/]/g, '\\$&')}`));
  assert.match(text, new RegExp(`Signing CA: RSA ${ca.fingerprintSHA256().replace(/[+/]/g, '\\$&')} \\(using rsa-sha2-512\\)`));
  assert.match(text, /Key ID: "fleet id "7""/);
  assert.match(text, new RegExp(`Serial: ${2n ** 63n + 5n}`));
  assert.match(text, /Valid: from 2024-01-02T03:04:05 to 2034-01-02T03:04:05/);
  assert.match(text, /Principals: \n\s+alice\n\s+bob\n/);
  assert.match(text, /Critical Options: \n\s+force-command echo forced\n\s+source-address 10\.0\.0\.0\/8,::1\n/);
  assert.match(text, /Extensions: \n\s+no-touch-required\n\s+permit-agent-forwarding\n\s+permit-pty\n/);

  const host = createCertificate(generatePrivateKey('ssh-ed25519'), generatePrivateKey('ssh-rsa', { bits: 1024 }), { type: 'host', keyId: 'h', principals: ['h.example'] });
  writeFileSync(path, host.exportCertificate() + '\n');
  const h = (await runProcess('ssh-keygen', ['-L', '-f', path], { timeoutMs: 30_000 })).stdout.toString('utf8');
  assert.match(h, /Type: ssh-rsa-cert-v01@openssh\.com host certificate/);
  assert.match(h, /Valid: forever/);
  assert.match(h, /Extensions: \(none\)/);
});

/** A user key (as ssh-keygen writes it) with our certificate next to it as key-cert.pub. */
async function certifiedKey(type: 'ed25519' | 'ecdsa' | 'rsa', ca: SSHKey, options: Partial<CreateCertificateOptions>): Promise<{ key: KeyFiles; cert: SSHCertificate }> {
  const key = await keygen(type, type === 'ecdsa' ? 256 : undefined, { dir });
  const cert = createCertificate(ca, importPublicKey(key.publicLine), { type: 'user', keyId: `cert-${type}`, principals: ['root'], validAfter: '-5m', validBefore: '+1h', ...options });
  writeFileSync(key.privatePath + '-cert.pub', cert.exportCertificate() + '\n');
  return { key, cert };
}

test('sshd accepts user certificates fleetssh signs, and refuses bad ones as our validator does', { skip }, async () => {
  const edCa = generatePrivateKey('ssh-ed25519');
  const rsaCa = generatePrivateKey('ssh-rsa', { bits: 2048 });
  const akCa = generatePrivateKey('ecdsa-sha2-nistp256');
  const caFile = join(dir, 'trusted_user_ca');
  writeFileSync(caFile, `${edCa.exportPublicKey()}\n${rsaCa.exportPublicKey()}\n`);
  chmodSync(caFile, 0o644);
  chmodSync(dir, 0o755);
  const sshd: SshdServer = await startSshd({
    config: { TrustedUserCAKeys: caFile },
    authorizedKeys: [`cert-authority,principals="ops" ${akCa.exportPublicKey()}`],
  });
  try {
    const login = async (key: KeyFiles) => runSsh(['echo', 'cert-ok'], { target: { port: sshd.port, identityFile: key.privatePath }, timeoutMs: 30_000 });
    const accepted: [string, 'ed25519' | 'ecdsa' | 'rsa', SSHKey, Partial<CreateCertificateOptions>][] = [
      ['ed25519 key, ed25519 CA', 'ed25519', edCa, {}],
      ['ecdsa key, RSA CA (rsa-sha2-512)', 'ecdsa', rsaCa, {}],
      ['rsa key, RSA CA (rsa-sha2-256)', 'rsa', rsaCa, { signatureAlgorithm: 'rsa-sha2-256' }],
      ['authorized_keys cert-authority principals="ops"', 'ed25519', akCa, { principals: ['ops'] }],
      ['source-address matching 127.0.0.1', 'ed25519', edCa, { criticalOptions: { sourceAddress: '127.0.0.0/8' } }],
    ];
    for (const [name, type, ca, opts] of accepted) {
      const { key, cert } = await certifiedKey(type, ca, opts);
      const r = await login(key);
      assert.equal(r.code, 0, `${name}: ${r.stderr}\n${sshd.logs().slice(-1500)}`);
      assert.equal(r.stdout.toString('utf8'), 'cert-ok\n', name);
      assert.match(sshd.logs(), new RegExp(`ID ${cert.keyId} \\(serial 0\\)`), `${name}: sshd logged the certificate`);
    }
    const { key: forced } = await certifiedKey('ed25519', edCa, { criticalOptions: { forceCommand: 'echo forced-by-cert' } });
    assert.equal((await login(forced)).stdout.toString('utf8'), 'forced-by-cert\n', 'sshd applies our force-command');

    const now = Date.now();
    const refused: [string, Partial<CreateCertificateOptions>, SSHKey, CertificateFailure, RegExp | null][] = [
      ['expired', { validAfter: '-2h', validBefore: '-1h' }, edCa, 'expired', /expired/],
      ['not yet valid', { validAfter: '+1h', validBefore: '+2h' }, edCa, 'not-yet-valid', /not yet valid/],
      ['wrong principal', { principals: ['nobody-here'] }, edCa, 'wrong-principal', /not a listed principal|not in principals/],
      ['wrong principal for the cert-authority line', { principals: ['root'] }, akCa, 'wrong-principal', /not in principals|no matching principal|principals/],
      ['untrusted CA', {}, generatePrivateKey('ssh-ed25519'), 'untrusted-ca', null],
      ['source-address elsewhere', { criticalOptions: { sourceAddress: '192.0.2.0/24' } }, edCa, 'source-address', /not from a permitted source address/],
    ];
    for (const [name, opts, ca, why, logPattern] of refused) {
      const before = sshd.logs().length;
      const { cert, key } = await certifiedKey('ed25519', ca, opts);
      const r = await login(key);
      assert.equal(r.code, 255, `${name}: sshd must refuse (stdout ${r.stdout})`);
      assert.match(r.stderr, /Permission denied/, name);
      if (logPattern) assert.match(sshd.logs().slice(before), logPattern, `${name}: sshd log`);
      const trust = ca === akCa
        ? { authorizedKeys: importAuthorizedKeys(`cert-authority,principals="ops" ${akCa.exportPublicKey()}\n`) }
        : { trustedCaKeys: [edCa.publicBlob, rsaCa.publicBlob] };
      assert.equal(reason(() => authorizeUserCertificate(cert.cert, trust, { username: 'root', clientAddr: '127.0.0.1', now })), why, `${name}: our validator`);
    }
  } finally {
    await sshd.stop();
  }
});

test('ssh accepts a host certificate fleetssh signs through @cert-authority, and refuses bad ones', { skip }, async () => {
  const keys = await testKeys();
  const hostKey = importPrivateKey(readFileSync(keys.host.ed25519.privatePath, 'utf8'));
  const ca = generatePrivateKey('ssh-ed25519');
  const certPath = join(dir, 'host-cert.pub');
  const run = async (opts: Partial<CreateCertificateOptions>, knownHostsLine?: string) => {
    const cert = createCertificate(ca, hostKey.publicOnly(), { type: 'host', keyId: 'host-cert', principals: ['127.0.0.1'], validAfter: '-5m', validBefore: '+1h', ...opts });
    writeFileSync(certPath, cert.exportCertificate() + '\n');
    chmodSync(certPath, 0o644);
    const sshd = await startSshd({ hostKeys: ['ed25519'], config: { HostCertificate: certPath } });
    try {
      const kh = join(dir, 'known_hosts_ca');
      writeFileSync(kh, knownHostsLine ?? `@cert-authority [127.0.0.1]:${sshd.port} ${ca.exportPublicKey()}\n`);
      const r = await runSsh(['echo', 'host-ok'], {
        target: { port: sshd.port, identityFile: sshd.clientKeys.ed25519.privatePath, knownHostsFile: kh, options: { HostKeyAlgorithms: 'ssh-ed25519-cert-v01@openssh.com' } },
        timeoutMs: 30_000,
      });
      return { code: r.code, stderr: r.stderr, stdout: r.stdout.toString('utf8') };
    } finally {
      await sshd.stop();
    }
  };
  const ok = await run({});
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'host-ok\n');
  const expired = await run({ validAfter: '-2h', validBefore: '-1h' });
  assert.notEqual(expired.code, 0);
  assert.match(expired.stderr, /expired|Certificate invalid/i);
  const wrongName = await run({ principals: ['other.example.com'] });
  assert.notEqual(wrongName.code, 0);
  assert.match(wrongName.stderr, /not a listed principal|Certificate invalid/i);
  const userType = await run({ type: 'user' });
  assert.notEqual(userType.code, 0);
  const otherCa = await run({}, `@cert-authority * ${generatePrivateKey('ssh-ed25519').exportPublicKey()}\n`);
  assert.notEqual(otherCa.code, 0);
});
