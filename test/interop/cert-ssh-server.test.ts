/**
 * OpenSSH ssh authenticating to fleetssh's server with a user certificate
 * (ssh -i key, key-cert.pub next to it). The protocol layer verifies the CA
 * signature and asks a {kind:'certificate'} decision; until the server actor
 * answers it (src/actors/server-auth.ts, see the certificate report) the
 * acceptance case is a todo. The refusal case holds today.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../../src/actors/server.js';
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

test('ssh logs in to our server with a certificate from a cert-authority CA', { skip, todo: 'wiring: src/actors/server-auth.ts must answer the certificate decision with authorizeUserCertificate' }, async () => {
  const r = await ssh(await certifiedKey({}));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString('utf8'), 'ran hello\n');
});

test('ssh with an expired certificate is refused by our server', { skip }, async () => {
  const r = await ssh(await certifiedKey({ validAfter: '-2h', validBefore: '-1h' }));
  assert.equal(r.code, 255);
  assert.match(r.stderr, /Permission denied/);
});
