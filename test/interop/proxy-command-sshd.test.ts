/**
 * ProxyCommand and client certificates against OpenSSH sshd: the
 * `proxyCommand` option (string through /bin/sh with tokens, argument list
 * without a shell), ssh_config's ProxyCommand and CertificateFile, a command
 * that fails before the handshake (its status and stderr in the error), and
 * the command being ended with the connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir, removeTempDir } from '../helpers/ssh-client.js';
import { connect } from '../../src/actors/client.js';
import { ConnectionLost, PermissionDenied } from '../../src/protocol/errors.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate } from '../../src/crypto/keys/certificate.js';

const skip = sshdSkipReason();
const proxyScript = fileURLToPath(new URL('../helpers/tcp-stdio-proxy.mjs', import.meta.url));
const node = process.execPath;
const ca = generatePrivateKey('ssh-ed25519');
// Known to sshd only through its certificate: its plain public key is in no authorized_keys.
const certOnlyKey = generatePrivateKey('ssh-ed25519');
let dir = '';
let sshd: SshdServer | null = null;
let keyFile = '';
let certFile = '';

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-proxycmd-');
  chmodSync(dir, 0o755);
  const caFile = join(dir, 'user_ca.pub');
  writeFileSync(caFile, ca.exportPublicKey() + '\n', { mode: 0o644 });
  sshd = await startSshd({ hostKeys: ['ed25519'], config: { TrustedUserCAKeys: caFile } });
  keyFile = join(dir, 'certonly');
  writeFileSync(keyFile, certOnlyKey.exportPrivateKey(), { mode: 0o600 });
  const cert = createCertificate(ca, certOnlyKey.publicOnly(), { type: 'user', keyId: 'proxy-test', principals: ['root'], validAfter: '-5m', validBefore: '+1h' });
  // Not at `<key>-cert.pub`, so only clientCerts / CertificateFile can find it.
  certFile = join(dir, 'elsewhere-cert.pub');
  writeFileSync(certFile, cert.exportCertificate() + '\n');
});
after(async () => {
  await sshd?.stop();
  if (dir) removeTempDir(dir);
});

const base = () => ({ port: sshd!.port, username: 'root', clientKeys: [sshd!.clientKeys.ed25519.privatePath], knownHosts: sshd!.knownHostsFile, agentPath: null, config: null });

test('proxyCommand as a shell string with %h %p tokens carries the connection to sshd', { skip }, async () => {
  const pidFile = join(dir, 'proxy.pid');
  const conn = await connect('127.0.0.1', { ...base(), proxyCommand: `env PROXY_PID_FILE=${pidFile} "${node}" "${proxyScript}" %h %p` });
  const r = await conn.run('echo via-proxy');
  assert.equal(r.stdout, 'via-proxy\n');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(isAlive(pid), 'the proxy command runs while the connection is open');
  conn.close();
  await conn.waitClosed();
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(isAlive(pid), false, 'the proxy command is gone once the connection closed');
});

test('proxyCommand as an argument list runs without a shell', { skip }, async () => {
  const conn = await connect('127.0.0.1', { ...base(), proxyCommand: [node, proxyScript, '%h', '%p'] });
  try {
    assert.equal((await conn.run('echo "$SSH_CONNECTION" | cut -d" " -f1')).stdout, '127.0.0.1\n');
  } finally {
    conn.close();
    await conn.waitClosed();
  }
});

test('a proxy command that fails names its status and stderr; one that cannot start says so', { skip }, async () => {
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: `sh -c 'echo "no route to bastion" >&2; exit 3'` }), (e: unknown) => {
    assert.ok(e instanceof ConnectionLost, String(e));
    assert.match(e.message, /exited with status 3: no route to bastion/);
    return true;
  });
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: [join(dir, 'no-such-program')] }), (e: unknown) => {
    assert.ok(e instanceof ConnectionLost, String(e));
    assert.match(e.message, /could not be started: .*ENOENT/);
    return true;
  });
  // stderr that is read after the exit status arrived (here written late by a child that keeps it open) is still named.
  const late = `sh -c '(exec >&-; sleep 0.2; echo "late: no route" >&2) & exec >&-; exit 3'`;
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: late }), /exited with status 3: late: no route/);
  // A dead target: the command's own complaint reaches the caller.
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: [node, proxyScript, '127.0.0.1', '1'] }), /exited with status 2: proxy: connect ECONNREFUSED/);
});

test('wrong proxyCommand arguments are TypeErrors before anything starts', { skip }, async () => {
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: '' }), TypeError);
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: [] }), TypeError);
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: 'nc %x' }), /proxyCommand: .*unknown token %x/);
  await assert.rejects(connect('127.0.0.1', { ...base(), proxyCommand: 'true', tunnel: 'bastion' }), /cannot be combined/);
});

test('clientCerts pairs a certificate kept elsewhere with its key; without it sshd refuses the key', { skip }, async () => {
  const o = { ...base(), clientKeys: [keyFile] };
  await assert.rejects(connect('127.0.0.1', o), PermissionDenied);
  const conn = await connect('127.0.0.1', { ...o, clientCerts: [certFile] });
  try {
    assert.equal((await conn.run('echo cert-ok')).stdout, 'cert-ok\n');
  } finally {
    conn.close();
    await conn.waitClosed();
  }
  assert.match(sshd!.logs(), /Accepted publickey for root .*ID proxy-test/);
  // A certificate for none of the keys is a TypeError, not a silent no-op.
  await assert.rejects(connect('127.0.0.1', { ...base(), clientCerts: [certFile] }), /clientCerts: .* certifies none of the client keys/);
});

test('ssh_config ProxyCommand (with tokens) and CertificateFile are applied', { skip }, async () => {
  const cfg = join(dir, 'ssh_config');
  writeFileSync(cfg, [
    'Host viaproxy',
    '  HostName 127.0.0.1',
    `  Port ${sshd!.port}`,
    '  User root',
    `  IdentityFile ${keyFile}`,
    `  CertificateFile ${certFile}`,
    `  CertificateFile ${join(dir, 'missing-cert.pub')}`,
    `  ProxyCommand "${node}" "${proxyScript}" %h %p`,
    '  ProxyJump nobody@192.0.2.1',
    '',
  ].join('\n'));
  const conn = await connect('viaproxy', { config: cfg, knownHosts: sshd!.knownHostsFile, agentPath: null });
  try {
    assert.equal((await conn.run('echo config-ok')).stdout, 'config-ok\n');
  } finally {
    conn.close();
    await conn.waitClosed();
  }
});
