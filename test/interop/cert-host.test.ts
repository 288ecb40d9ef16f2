/**
 * Host certificates in key exchange, both directions: our client accepts
 * sshd's host certificate through a known_hosts @cert-authority line (and
 * refuses one from an unknown CA), and OpenSSH ssh accepts our server's host
 * certificate the same way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir, removeTempDir, runSsh } from '../helpers/ssh-client.js';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import { generatePrivateKey, importPrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { CertifiedKey, createCertificate } from '../../src/crypto/keys/certificate.js';

const skip = sshdSkipReason();
const ca = generatePrivateKey('ssh-ed25519');
const otherCa = generatePrivateKey('ssh-ed25519');
let dir = '';
let sshd: SshdServer | null = null;

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-hostcert-');
  chmodSync(dir, 0o755);
  sshd = await startSshd({ hostKeys: ['ed25519'] });
  const hostKey = importPrivateKey(readFileSync(sshd.hostKeys.ed25519.privatePath, 'utf8'));
  const cert = createCertificate(ca, hostKey.publicOnly(), { type: 'host', keyId: 'sshd-host', principals: ['127.0.0.1'], validAfter: '-5m', validBefore: '+1h' });
  const certPath = join(dir, 'host-cert.pub');
  writeFileSync(certPath, cert.exportCertificate() + '\n', { mode: 0o644 });
  await sshd.stop();
  sshd = await startSshd({ hostKeys: ['ed25519'], config: { HostCertificate: certPath } });
});
after(async () => {
  await sshd?.stop();
  if (dir) removeTempDir(dir);
});

function caFile(name: string, key = ca, pattern = '*'): string {
  const p = join(dir, name);
  writeFileSync(p, `@cert-authority ${pattern} ${key.exportPublicKey()}\n`);
  return p;
}

test('our client accepts sshd host certificate signed by a @cert-authority CA', { skip }, async () => {
  const userKey = importPrivateKey(readFileSync(sshd!.clientKeys.ed25519.privatePath, 'utf8'));
  const conn = await connect('127.0.0.1', { port: sshd!.port, username: 'root', clientKeys: [userKey], knownHosts: caFile('kh-ca'), agentPath: null } as never);
  try {
    assert.equal((conn as unknown as { algorithms: { hostKey: string } }).algorithms.hostKey, 'ssh-ed25519-cert-v01@openssh.com');
    assert.equal((await conn.run('echo via-cert')).stdout, 'via-cert\n');
  } finally {
    conn.close();
  }
});

test('our client refuses a host certificate from an unknown CA when the plain key is unknown too', { skip }, async () => {
  const userKey = importPrivateKey(readFileSync(sshd!.clientKeys.ed25519.privatePath, 'utf8'));
  await assert.rejects(
    connect('127.0.0.1', { port: sshd!.port, username: 'root', clientKeys: [userKey], knownHosts: caFile('kh-other', otherCa), agentPath: null } as never),
    HostKeyNotVerifiable,
  );
});

test('OpenSSH ssh accepts our server host certificate through @cert-authority', { skip }, async () => {
  const hostKey = generatePrivateKey('ssh-ed25519');
  const cert = createCertificate(ca, hostKey.publicOnly(), { type: 'host', keyId: 'fleet-host', principals: ['127.0.0.1'], validAfter: '-5m', validBefore: '+1h' });
  const userKey = importPrivateKey(readFileSync(sshd!.clientKeys.ed25519.privatePath, 'utf8'));
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [new CertifiedKey(hostKey, cert), hostKey],
    authorizedClientKeys: [userKey.publicOnly()],
    processFactory: (p: SSHServerProcess) => {
      p.stdout.write(`cert host ok ${p.command}\n`);
      p.exit(0);
    },
  } as never);
  try {
    const target = { port: server.port, knownHostsFile: caFile('kh-ssh', ca, '[127.0.0.1]:*'), identityFile: sshd!.clientKeys.ed25519.privatePath,
      options: { HostKeyAlgorithms: 'ssh-ed25519-cert-v01@openssh.com' }, logLevel: 'DEBUG1' };
    const r = await runSsh(['hi'], { target: target as never, timeoutMs: 20_000 });
    assert.equal(r.stdout.toString(), 'cert host ok hi\n', r.stderr.toString());
    assert.match(r.stderr.toString(), /Server host certificate: ssh-ed25519-cert-v01@openssh.com/);
    const bad = await runSsh(['hi'], { target: { ...target, knownHostsFile: caFile('kh-ssh-bad', otherCa, '[127.0.0.1]:*') } as never, timeoutMs: 20_000 });
    assert.notEqual(bad.code, 0);
  } finally {
    await server.close();
  }
});
