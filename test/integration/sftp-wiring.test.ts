// SFTP wired into the public API: listen({sftpFactory}) with the default
// (text) encoding still serves binary SFTP, and conn.startSftpClient() talks
// to it; OpenSSH's sftp client reaches the same server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { connect, listen, generatePrivateKey } from '../../src/index.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('listen({sftpFactory: {chroot}}) + conn.startSftpClient(): put, get, listdir, with text encoding on other sessions', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetssh-sftpw-'));
  const local = mkdtempSync(join(tmpdir(), 'fleetssh-sftpl-'));
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    passwords: { u: 'pw' },
    sftpFactory: { chroot: root },
    processFactory: (p) => {
      p.stdin.once('data', (d: unknown) => {
        p.stdout.write(`type=${typeof d}\n`);
        p.exit(0);
      });
    },
  });
  const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'pw', knownHosts: null });
  try {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(local, 'in.bin'), data);
    const sftp = await conn.startSftpClient();
    await sftp.put(join(local, 'in.bin'), '/up.bin');
    assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(data));
    await sftp.get('/up.bin', join(local, 'back.bin'));
    assert.equal(sha(readFileSync(join(local, 'back.bin'))), sha(data));
    assert.deepEqual((await sftp.listdir('/')).filter((n: string) => !n.startsWith('.')).sort(), ['up.bin']);
    await assert.rejects(sftp.stat('/../../etc/passwd'), (e: Error & { code?: string }) => /ERR_SFTP/.test(e.code ?? ''));
    // Other sessions on the same server keep the text encoding.
    const r = await conn.run('x', { input: 'hello' });
    assert.equal(r.stdout, 'type=string\n');
    await sftp.exit();
  } finally {
    conn.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
  }
});

test('OpenSSH sftp reaches listen({sftpFactory})', { skip: spawnSync('sftp', ['-h']).error ? 'SKIPPED: needs sftp (Debian package openssh-client)' : undefined }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetssh-sftpo-'));
  const work = mkdtempSync(join(tmpdir(), 'fleetssh-sftpk-'));
  const userKey = generatePrivateKey('ssh-ed25519');
  const keyPath = join(work, 'id');
  writeFileSync(keyPath, userKey.exportPrivateKey('openssh'), { mode: 0o600 });
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    authorizedClientKeys: [userKey.publicOnly()],
    sftpFactory: { chroot: root },
  });
  try {
    writeFileSync(join(work, 'f.txt'), 'from openssh sftp\n');
    writeFileSync(join(work, 'batch'), `put ${join(work, 'f.txt')} /f.txt\nls /\n`);
    const { spawn } = await import('node:child_process');
    const child = spawn('sftp', ['-F', 'none', '-b', join(work, 'batch'), '-P', String(server.port), '-i', keyPath, '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none', 'u@127.0.0.1']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => child.kill(), 20_000);
      child.on('close', (c) => (clearTimeout(t), res(c)));
    });
    assert.equal(code, 0, out);
    assert.equal(readFileSync(join(root, 'f.txt'), 'utf8'), 'from openssh sftp\n');
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test('listen({allowScp}) with the default text encoding serves OpenSSH scp -O byte-exact, and scp() both ways', { skip: spawnSync('scp', ['-h']).error ? 'SKIPPED: needs scp (Debian package openssh-client)' : undefined }, async () => {
  const { scp } = await import('../../src/index.js');
  const root = mkdtempSync(join(tmpdir(), 'fleetssh-scpw-'));
  const work = mkdtempSync(join(tmpdir(), 'fleetssh-scpk-'));
  const userKey = generatePrivateKey('ssh-ed25519');
  const keyPath = join(work, 'id');
  writeFileSync(keyPath, userKey.exportPrivateKey('openssh'), { mode: 0o600 });
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    authorizedClientKeys: [userKey.publicOnly()],
    allowScp: { chroot: root },
  });
  try {
    const data = randomBytes(1024 * 1024 + 3);
    writeFileSync(join(work, 'up.bin'), data);
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((res) => {
        execFile('scp', args, { timeout: 20_000 }, (err, _out, stderr) => res({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }));
      });
    const r = await run(['-O', '-F', 'none', '-P', String(server.port), '-i', keyPath, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none', join(work, 'up.bin'), 'u@127.0.0.1:/up.bin']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(data));
    await scp([{ host: '127.0.0.1', port: server.port, username: 'u', clientKeys: [userKey], knownHosts: null, agentPath: null, config: null } as never, '/up.bin'] as never, join(work, 'down.bin'));
    assert.equal(sha(readFileSync(join(work, 'down.bin'))), sha(data));
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
