/**
 * OpenSSH's `sftp` client against fleetssh's SFTPServer, run with `sftp -D`
 * (the server program on the client's stdio, no SSH) and `-b` batch
 * scripts: put/get, rename, mkdir, symlink, ls, chmod, reget/reput (-a),
 * globbing, and names with spaces, quotes and UTF-8; byte-exact by hash,
 * all under a chroot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, runProcess } from '../helpers/ssh-client.js';

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const serverScript = fileURLToPath(new URL('../helpers/sftp-server-stdio.ts', import.meta.url));
const tsxLoader = import.meta.resolve('tsx');
const skip = existsSync('/usr/bin/sftp') ? false : 'OpenSSH sftp not installed';

async function batch(root: string, local: string, script: string): Promise<string> {
  const file = join(local, '.batch');
  writeFileSync(file, script);
  const server = `${process.execPath} --import ${tsxLoader} ${serverScript} --root ${root}`;
  const r = await runProcess('sftp', ['-b', file, '-D', server], { cwd: local, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `sftp failed:\n${r.stdout.toString()}\n${r.stderr}`);
  return r.stdout.toString();
}

test('OpenSSH sftp batch: put/get/rename/mkdir/symlink/ls/chmod with awkward names', { skip }, async () => {
  const root = makeTempDir('sftp-batch-root-');
  const local = makeTempDir('sftp-batch-local-');
  const awkward = `sp ace "dq" 'sq' ünï😀.bin`;
  writeFileSync(join(local, awkward), randomBytes(3 * 1024 * 1024 + 7));
  writeFileSync(join(local, 'a.txt'), 'A');
  writeFileSync(join(local, 'b.txt'), 'B');
  const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const out = await batch(root, local, [
    `mkdir "dir one"`,
    `put ${q(awkward)} "dir one/"`,
    `put *.txt "dir one"`,
    `rename "dir one/a.txt" "dir one/renamed.txt"`,
    `symlink renamed.txt "dir one/link"`,
    `chmod 600 "dir one/b.txt"`,
    `ls -l "dir one"`,
    `lcd ${q(join(local, 'back'))}`,
    `get dir\\ one/*`,
    `pwd`,
  ].join('\n').replace(`lcd ${q(join(local, 'back'))}`, (m) => (mkdirSync(join(local, 'back')), m)));
  const remoteDir = join(root, 'dir one');
  assert.equal(sha(join(remoteDir, awkward)), sha(join(local, awkward)));
  assert.equal(readFileSync(join(remoteDir, 'renamed.txt'), 'utf8'), 'A');
  assert.equal(readlinkSync(join(remoteDir, 'link')), 'renamed.txt');
  assert.equal(statSync(join(remoteDir, 'b.txt')).mode & 0o777, 0o600);
  assert.match(out, /-rw------- .*one\/b\.txt/);
  assert.match(out, /Remote working directory: \/\n/);
  assert.equal(sha(join(local, 'back', awkward)), sha(join(local, awkward)));
  assert.equal(readFileSync(join(local, 'back', 'renamed.txt'), 'utf8'), 'A');
  assert.ok(lstatSync(join(local, 'back', 'link')).isFile(), 'sftp get follows the link');
});

test('OpenSSH sftp batch: reget and reput continue partial files; recursive put/get', { skip }, async () => {
  const root = makeTempDir('sftp-batch-root-');
  const local = makeTempDir('sftp-batch-local-');
  const data = randomBytes(5 * 1024 * 1024 + 3);
  writeFileSync(join(local, 'big'), data);
  writeFileSync(join(root, 'big'), data.subarray(0, 1_234_567));
  writeFileSync(join(root, 'down'), data);
  writeFileSync(join(local, 'down'), data.subarray(0, 777));
  mkdirSync(join(local, 'tree/sub'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(local, 'tree/sub', `f ${i}`), randomBytes(i * 1000));
  await batch(root, local, ['reput big', 'reget down', 'put -r tree', 'get -r tree tree-back'].join('\n'));
  assert.equal(sha(join(root, 'big')), sha(join(local, 'big')));
  assert.equal(sha(join(local, 'down')), sha(join(root, 'down')));
  for (let i = 0; i < 20; i++) {
    assert.equal(sha(join(root, 'tree/sub', `f ${i}`)), sha(join(local, 'tree/sub', `f ${i}`)));
    assert.equal(sha(join(local, 'tree-back/sub', `f ${i}`)), sha(join(local, 'tree/sub', `f ${i}`)));
  }
});

test('OpenSSH sftp batch: failures are reported with the right status, escapes stay inside', { skip }, async () => {
  const root = makeTempDir('sftp-batch-root-');
  const local = makeTempDir('sftp-batch-local-');
  const file = join(local, '.batch');
  // '-' prefixes let the batch continue past expected failures.
  writeFileSync(file, ['-get nope', '-rmdir nope', '-cd ../../..', 'pwd', '-put /etc/hostname ../../escaped', 'ls'].join('\n'));
  const server = `${process.execPath} --import ${tsxLoader} ${serverScript} --root ${root}`;
  const r = await runProcess('sftp', ['-b', file, '-D', server], { cwd: local, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /No such file/);
  assert.match(r.stdout.toString(), /Remote working directory: \/\n/);
  assert.ok(existsSync(join(root, 'escaped')), 'the upload aimed at ../../ landed at the root');
});
