/**
 * SFTP over real SSH connections through sftp-connect.ts: fleetssh's client
 * against OpenSSH sshd (internal-sftp) and against fleetssh's server
 * (`withSftp` processFactory, chroot), and OpenSSH's `sftp` against
 * fleetssh's server. Byte-exact by SHA-256.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey, importPrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { startSftpClient, withSftp } from '../../src/actors/sftp-connect.js';
import { sshdSkipReason, startSshd } from '../helpers/openssh.js';
import { keygen, makeTempDir, runProcess, type KeyFiles } from '../helpers/ssh-client.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const skip = sshdSkipReason() ?? false;

test('fleetssh client -> OpenSSH sshd internal-sftp: put/get 16 MiB, listdir, statvfs', { skip, timeout: 120_000 }, async () => {
  const sshd = await startSshd();
  try {
    const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    const conn = await connect('127.0.0.1', {
      port: sshd.port, username: 'root', clientKeys: [key], knownHosts: sshd.knownHostsFile,
      kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'],
    });
    const sftp = await startSftpClient(conn);
    const dir = makeTempDir('sftp-sshd-');
    const data = randomBytes(16 * 1024 * 1024 + 99);
    writeFileSync(join(dir, 'src'), data);
    await sftp.put(join(dir, 'src'), join(dir, 'up'));
    await sftp.get(join(dir, 'up'), join(dir, 'down'));
    assert.equal(sha(readFileSync(join(dir, 'up'))), sha(data));
    assert.equal(sha(readFileSync(join(dir, 'down'))), sha(data));
    assert.deepEqual(await sftp.listdir(dir), ['down', 'src', 'up']);
    assert.ok((await sftp.statvfs(dir)).bsize > 0n);
    sftp.exit();
    await sftp.waitClosed();
    conn.close();
    await conn.waitClosed();
  } finally {
    await sshd.stop();
  }
});

describe('SFTP to the fleetssh server over SSH', { skip, timeout: 120_000 }, () => {
  const hostKey = generatePrivateKey('ssh-ed25519');
  let clientKey: KeyFiles;
  let server: SSHServer;
  let root: string;
  let knownHosts: string;

  before(async () => {
    clientKey = await keygen('ed25519');
    root = makeTempDir('sftp-served-');
    server = await listen({
      host: '127.0.0.1', port: 0, serverHostKeys: [hostKey], encoding: null,
      authorizedClientKeys: [importPublicKey(clientKey.publicLine)],
      processFactory: withSftp({ chroot: root }),
    });
    knownHosts = join(makeTempDir('sftp-kh-'), 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
  });
  after(async () => server?.close());

  test('fleetssh client: put/get 16 MiB inside the chroot', async () => {
    const key = importPrivateKey(readFileSync(clientKey.privatePath, 'utf8'));
    const conn = await connect('127.0.0.1', { port: server.port, username: 'root', clientKeys: [key], knownHosts });
    const sftp = await startSftpClient(conn);
    const local = makeTempDir('sftp-served-local-');
    const data = randomBytes(16 * 1024 * 1024 + 1);
    writeFileSync(join(local, 'src'), data);
    await sftp.put(join(local, 'src'), '/up');
    assert.equal(sha(readFileSync(join(root, 'up'))), sha(data));
    await sftp.get('up', join(local, 'down'));
    assert.equal(sha(readFileSync(join(local, 'down'))), sha(data));
    assert.equal(await sftp.realpath('../../..'), '/');
    sftp.exit();
    conn.close();
    await conn.waitClosed();
  });

  test('OpenSSH sftp over ssh: batch put/get/ls/mkdir', async () => {
    const local = makeTempDir('sftp-served-openssh-');
    const data = randomBytes(4 * 1024 * 1024 + 5);
    writeFileSync(join(local, 'file one'), data);
    mkdirSync(join(local, 'back'));
    const batch = join(local, 'batch');
    writeFileSync(batch, ['mkdir d', 'put "file one" d/', 'ls d', 'get "d/file one" back/', 'rename "d/file one" d/renamed', 'ls -l d'].join('\n'));
    const r = await runProcess('sftp', [
      '-F', 'none', '-P', String(server.port), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-i', clientKey.privatePath,
      '-b', batch, 'root@127.0.0.1',
    ], { cwd: local, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(sha(readFileSync(join(root, 'd/renamed'))), sha(data));
    assert.equal(sha(readFileSync(join(local, 'back/file one'))), sha(data));
    assert.match(r.stdout.toString(), /renamed/);
  });
});
