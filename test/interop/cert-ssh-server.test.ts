/**
 * OpenSSH ssh authenticating to fleetssh's server with a user certificate
 * (ssh -i key, key-cert.pub next to it). The protocol layer verifies the CA
 * signature and asks a {kind:'certificate'} decision, which the server actor
 * answers from authorized_keys cert-authority lines or trustedUserCaKeys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { connect } from '../../src/actors/client.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { createCertificate, type CreateCertificateOptions } from '../../src/crypto/keys/certificate.js';
import { keygen, makeTempDir, removeTempDir, requireBinary, runSsh, type KeyFiles } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh', 'openssh-client');
const ca = generatePrivateKey('ssh-ed25519');
let dir = '';
let server: SSHServer | null = null;

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-certs-');
  const ak = join(dir, 'authorized_keys');
  writeFileSync(ak, `cert-authority,principals="deploy" ${ca.exportPublicKey()}\n`);
  server = await listen({
    host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: ak,
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command}\n`);
      proc.exit(0);
    },
  });
});
after(async () => {
  await server?.close();
  if (dir) removeTempDir(dir);
});

async function certifiedKey(o: Partial<CreateCertificateOptions>): Promise<KeyFiles> {
  const key = await keygen('ed25519', undefined, { dir });
  const cert = createCertificate(ca, importPublicKey(key.publicLine), { type: 'user', keyId: 'ssh-to-fleet', principals: ['deploy'], validAfter: '-5m', validBefore: '+1h', ...o });
  writeFileSync(key.privatePath + '-cert.pub', cert.exportCertificate() + '\n');
  return key;
}

const ssh = (key: KeyFiles) => runSsh(['hello'], { target: { port: server!.port, user: 'alice', identityFile: key.privatePath }, timeoutMs: 30_000 });

test('ssh logs in to our server with a certificate from a cert-authority CA', { skip }, async () => {
  const r = await ssh(await certifiedKey({}));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString('utf8'), 'ran hello\n');
});

test('ssh with an expired certificate is refused by our server', { skip }, async () => {
  const r = await ssh(await certifiedKey({ validAfter: '-2h', validBefore: '-1h' }));
  assert.equal(r.code, 255);
  assert.match(r.stderr, /Permission denied/);
});

test('ssh with a certificate for another principal is refused', { skip }, async () => {
  const r = await ssh(await certifiedKey({ principals: ['someone-else'] }));
  assert.equal(r.code, 255);
  assert.match(r.stderr, /Permission denied/);
});

test('trustedUserCaKeys: the principal must be the user name; force-command replaces the command', { skip }, async () => {
  const ca2 = generatePrivateKey('ecdsa-sha2-nistp256');
  const s2 = await listen({
    host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], trustedUserCaKeys: [ca2.publicOnly()],
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command} orig=${proc.env.SSH_ORIGINAL_COMMAND ?? '-'}\n`);
      proc.exit(0);
    },
  });
  try {
    const mk = async (o: Partial<CreateCertificateOptions>): Promise<KeyFiles> => {
      const key = await keygen('ed25519', undefined, { dir });
      const cert = createCertificate(ca2, importPublicKey(key.publicLine), { type: 'user', keyId: 'ca2', principals: ['alice'], validAfter: '-5m', validBefore: '+1h', ...o });
      writeFileSync(key.privatePath + '-cert.pub', cert.exportCertificate() + '\n');
      return key;
    };
    const run = (key: KeyFiles, user: string) => runSsh(['hello'], { target: { port: s2.port, user, identityFile: key.privatePath }, timeoutMs: 30_000 });
    const ok = await run(await mk({}), 'alice');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.toString('utf8'), 'ran hello orig=-\n');
    const wrongUser = await run(await mk({}), 'bob');
    assert.equal(wrongUser.code, 255);
    const forced = await run(await mk({ criticalOptions: { 'force-command': 'forced-cmd' } }), 'alice');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout.toString('utf8'), 'ran forced-cmd orig=hello\n');
  } finally {
    await s2.close();
  }
});

test('our client loads <key>-cert.pub beside a key file and logs in with it', { skip }, async () => {
  const key = await certifiedKey({});
  const conn = await connect('127.0.0.1', { port: server!.port, username: 'alice', clientKeys: [key.privatePath], knownHosts: null, agentPath: null });
  try {
    assert.equal((await conn.run('via-file')).stdout, 'ran via-file\n');
  } finally {
    conn.close();
  }
});

test('revokedKeys: a certificate whose key or CA is revoked is refused', { skip }, async () => {
  const ca3 = generatePrivateKey('ssh-ed25519');
  const key = await keygen('ed25519', undefined, { dir });
  const cert = createCertificate(ca3, importPublicKey(key.publicLine), { type: 'user', keyId: 'rev', principals: ['alice'], validAfter: '-5m', validBefore: '+1h' });
  writeFileSync(key.privatePath + '-cert.pub', cert.exportCertificate() + '\n');
  const base = { host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], trustedUserCaKeys: [ca3.publicOnly()], processFactory: (p: { stdout: NodeJS.WritableStream; exit(n: number): void }) => (p.stdout.write('in\n'), p.exit(0)) };
  for (const revoked of [[], [importPublicKey(key.publicLine)], [ca3.publicOnly()]]) {
    const s = await listen({ ...base, revokedKeys: revoked } as never);
    try {
      const r = await runSsh(['x'], { target: { port: s.port, user: 'alice', identityFile: key.privatePath }, timeoutMs: 30_000 });
      if (revoked.length === 0) assert.equal(r.code, 0, r.stderr);
      else assert.equal(r.code, 255, 'revoked: refused');
    } finally {
      await s.close();
    }
  }
});
