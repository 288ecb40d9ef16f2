/**
 * fleetssh's SFTPClient against two servers, with the same checks:
 * OpenSSH's /usr/lib/openssh/sftp-server over a child's stdio, and
 * fleetssh's SFTPServer in-process over a pair of streams. Every client
 * operation, byte-exact big transfers by SHA-256, recursion, glob, resume,
 * server-side copy, and errors mapped to their status codes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SFTPClient, SFTPError } from '../../src/actors/sftp-client.js';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { FxStatus } from '../../src/protocol/sftp-constants.js';
import { makeTempDir } from '../helpers/ssh-client.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const shaFile = (p: string): string => sha(readFileSync(p));

interface Peer {
  client: SFTPClient;
  stop(): Promise<void>;
}

async function opensshPeer(): Promise<Peer> {
  const child: ChildProcess = spawn(SFTP_SERVER, ['-e', '-l', 'ERROR'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const client = await SFTPClient.start({ readable: child.stdout!, writable: child.stdin! });
  return {
    client,
    stop: async () => {
      client.exit();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

async function fleetsshPeer(): Promise<Peer> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = new SFTPServer().serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  return {
    client,
    stop: async () => {
      client.exit();
      await served;
    },
  };
}

const peers: Array<[string, () => Promise<Peer>, boolean]> = [
  ['OpenSSH sftp-server', opensshPeer, existsSync(SFTP_SERVER)],
  ['fleetssh SFTPServer', fleetsshPeer, true],
];

for (const [name, makePeer, available] of peers) {
  describe(`SFTPClient against ${name}`, { skip: available ? false : `${SFTP_SERVER} not installed` }, () => {
    let peer: Peer;
    let c: SFTPClient;
    let dir: string;
    before(async () => {
      peer = await makePeer();
      c = peer.client;
      dir = makeTempDir('sftp-client-');
    });
    after(async () => peer?.stop());

    test('version, extensions and limits', () => {
      assert.equal(c.version, 3);
      for (const ext of ['posix-rename@openssh.com', 'limits@openssh.com', 'copy-data', 'statvfs@openssh.com']) assert.ok(c.extensions.has(ext), ext);
      assert.equal(c.limits.maxReadLength, 261120);
    });

    test('file object: write, seek, read, stat, setstat, truncate, fsync, streams', async () => {
      const p = join(dir, 'obj.bin');
      const f = await c.open(p, 'w+');
      assert.equal(await f.write('hello world'), 11);
      assert.equal(await f.seek(6), 6);
      assert.equal(new TextDecoder().decode(await f.read(5)), 'world');
      assert.equal(await f.seek(-5, 2), 6);
      assert.equal(await f.readText(), 'world');
      assert.equal((await f.stat()).size, 11);
      await f.truncate(5);
      await f.chmod(0o640);
      await f.utime([1000, 2000]);
      await f.fsync();
      const st = await f.stat();
      assert.equal(st.size, 5);
      assert.equal(st.permissions! & 0o777, 0o640);
      assert.equal(st.mtime, 2000);
      assert.ok((await f.statvfs()).bsize > 0n);
      await f.close();
      await assert.rejects(f.read(1), SFTPError);
      const data = randomBytes(3 * 261120 + 17);
      const ws = (await c.open(join(dir, 'stream.bin'), 'w')).createWriteStream();
      await new Promise<void>((res, rej) => ws.end(data, () => res()).on('error', rej));
      const rs = (await c.open(join(dir, 'stream.bin'))).createReadStream();
      const chunks: Buffer[] = [];
      for await (const ch of rs) chunks.push(ch as Buffer);
      assert.equal(sha(Buffer.concat(chunks)), sha(data));
      assert.equal(sha(readFileSync(join(dir, 'stream.bin'))), sha(data));
    });

    test('path operations', async () => {
      const d = join(dir, 'ops');
      await c.makedirs(join(d, 'a/b'), { existOk: true });
      assert.ok(await c.isdir(join(d, 'a/b')));
      await assert.rejects(c.makedirs(join(d, 'a/b')), SFTPError);
      writeFileSync(join(d, 'f.txt'), 'x'.repeat(10));
      assert.equal(await c.getsize(join(d, 'f.txt')), 10);
      assert.ok(await c.isfile(join(d, 'f.txt')));
      assert.equal(await c.exists(join(d, 'nope')), false);
      await c.chmod(join(d, 'f.txt'), 0o600);
      assert.equal(statSync(join(d, 'f.txt')).mode & 0o777, 0o600);
      await c.utime(join(d, 'f.txt'), [1_600_000_000, 1_600_000_100]);
      assert.equal(await c.getmtime(join(d, 'f.txt')), 1_600_000_100);
      await c.truncate(join(d, 'f.txt'), 3);
      assert.equal(statSync(join(d, 'f.txt')).size, 3);
      await c.chown(join(d, 'f.txt'), process.getuid!(), process.getgid!());
      await c.symlink('f.txt', join(d, 'ln'));
      assert.equal(readlinkSync(join(d, 'ln')), 'f.txt');
      assert.equal(await c.readlink(join(d, 'ln')), 'f.txt');
      assert.ok(await c.islink(join(d, 'ln')));
      assert.equal((await c.lstat(join(d, 'ln'))).permissions! & 0o170000, 0o120000);
      assert.equal((await c.stat(join(d, 'ln'))).size, 3);
      await c.link(join(d, 'f.txt'), join(d, 'hard'));
      assert.equal(statSync(join(d, 'hard')).nlink, 2);
      writeFileSync(join(d, 'g.txt'), 'g');
      await assert.rejects(c.rename(join(d, 'g.txt'), join(d, 'hard')), (e: SFTPError) => e.status === FxStatus.FAILURE);
      await c.posixRename(join(d, 'g.txt'), join(d, 'hard'));
      assert.equal(readFileSync(join(d, 'hard'), 'utf8'), 'g');
      await c.rename(join(d, 'hard'), join(d, 'renamed'));
      assert.deepEqual(await c.listdir(d), ['a', 'f.txt', 'ln', 'renamed']);
      const names = [];
      for await (const n of c.scandir(d)) names.push(n.filename);
      assert.ok(names.includes('.') && names.includes('renamed'));
      await c.remove(join(d, 'renamed'));
      await c.chdir(d);
      assert.equal(await c.getcwd(), d);
      assert.equal(await c.realpath('a/../a/b'), join(d, 'a/b'));
      assert.deepEqual(await c.glob('*.txt'), [join(d, 'f.txt')]);
      assert.deepEqual(await c.glob(join(d, '**')), [d, join(d, 'a'), join(d, 'a/b'), join(d, 'f.txt'), join(d, 'ln')].sort());
      await c.rmdir(join(d, 'a/b'));
      assert.ok((await c.statvfs(d)).blocks > 0n);
      // OpenSSH 9.2's sftp-server looks up '' with getpwnam and fails: name the user.
      const home = await c.homeDirectory(userInfo().username);
      assert.equal(home, homedir());
      // OpenSSH expands a bare '~' to its working directory (sshd has made that the home); '~user/' to the user's home.
      assert.ok((await c.expandPath('~')).startsWith('/'));
      assert.equal(await c.expandPath(`~${userInfo().username}/x`), join(homedir(), 'x'));
      const ids = await c.usersGroupsById([0], [0]);
      assert.deepEqual(ids, { users: ['root'], groups: ['root'] });
      await c.rmtree(d);
      assert.equal(existsSync(d), false);
    });

    test('errors carry the status code', async () => {
      await assert.rejects(c.stat(join(dir, 'missing')), (e: SFTPError) => e.status === FxStatus.NO_SUCH_FILE && e.code === 'ERR_SFTP_NO_SUCH_FILE');
      await assert.rejects(c.open(join(dir, 'missing')), (e: SFTPError) => e.status === FxStatus.NO_SUCH_FILE);
      await assert.rejects(c.rmdir(join(dir, 'missing')), (e: SFTPError) => e.status === FxStatus.NO_SUCH_FILE);
      await assert.rejects(c.listdir(join(dir, 'missing')), (e: SFTPError) => e.status === FxStatus.NO_SUCH_FILE);
    });

    test('get and put of 24 MiB, byte-exact, several block sizes', async () => {
      const src = join(dir, 'big.src');
      writeFileSync(src, randomBytes(24 * 1024 * 1024 + 12345));
      const want = shaFile(src);
      await c.put(src, join(dir, 'big.put'));
      assert.equal(shaFile(join(dir, 'big.put')), want);
      await c.get(join(dir, 'big.put'), join(dir, 'big.get'), { blockSize: 32768, maxRequests: 16 });
      assert.equal(shaFile(join(dir, 'big.get')), want);
      const seen: number[] = [];
      await c.copy(join(dir, 'big.put'), join(dir, 'big.copy'), { progressHandler: (_s, _d, n) => seen.push(n) });
      assert.equal(shaFile(join(dir, 'big.copy')), want);
    });

    test('reget and reput continue partial files', async () => {
      const src = join(dir, 'resume.src');
      writeFileSync(src, randomBytes(3 * 1024 * 1024 + 5));
      writeFileSync(join(dir, 'resume.dst'), readFileSync(src).subarray(0, 1_000_000));
      await c.reget(src, join(dir, 'resume.dst'));
      assert.equal(shaFile(join(dir, 'resume.dst')), shaFile(src));
      writeFileSync(join(dir, 'resume.up'), readFileSync(src).subarray(0, 777_777));
      await c.reput(src, join(dir, 'resume.up'));
      assert.equal(shaFile(join(dir, 'resume.up')), shaFile(src));
      // A mismatch in the kept prefix stays (resume trusts the prefix, as `sftp -a` does).
      truncateSync(join(dir, 'resume.up'), 10);
      await c.reput(src, join(dir, 'resume.up'));
      assert.equal(statSync(join(dir, 'resume.up')).size, statSync(src).size);
    });

    test('recursive put/get/copy with preserve, symlinks and m* globbing', async () => {
      const tree = join(dir, 'tree');
      mkdirSync(join(tree, 'sub/deeper'), { recursive: true });
      for (let i = 0; i < 40; i++) writeFileSync(join(tree, i % 2 ? 'sub' : 'sub/deeper', `f${i} ü '.txt`), randomBytes(i * 997));
      writeFileSync(join(tree, 'top.dat'), 'top');
      symlinkSync('top.dat', join(tree, 'link'));
      const up = join(dir, 'tree-up');
      await c.put(tree, up, { recurse: true, preserve: true });
      assert.equal(readlinkSync(join(up, 'link')), 'top.dat');
      assert.equal(statSync(join(up, 'top.dat')).mtimeMs - (statSync(join(up, 'top.dat')).mtimeMs % 1000), Math.floor(statSync(join(tree, 'top.dat')).mtimeMs / 1000) * 1000);
      const down = join(dir, 'tree-down');
      await c.get(up, down, { recurse: true, preserve: true });
      const cp = join(dir, 'tree-copy');
      await c.copy(up, cp, { recurse: true });
      for (const root of [up, down, cp]) {
        for (let i = 0; i < 40; i++) {
          const rel = join(i % 2 ? 'sub' : 'sub/deeper', `f${i} ü '.txt`);
          assert.equal(shaFile(join(root, rel)), shaFile(join(tree, rel)), `${root}/${rel}`);
        }
      }
      assert.ok(lstatSync(join(down, 'link')).isSymbolicLink());
      const many = join(dir, 'many');
      mkdirSync(many);
      await c.mget(join(up, 'sub/f*1*'), many);
      assert.deepEqual(readdirNames(many), ['f1 ü \'.txt', 'f11 ü \'.txt', 'f13 ü \'.txt', 'f15 ü \'.txt', 'f17 ü \'.txt', 'f19 ü \'.txt', 'f21 ü \'.txt', 'f31 ü \'.txt']);
      const errors: Error[] = [];
      await c.get([join(up, 'nope'), join(up, 'top.dat')], many, { errorHandler: (e) => errors.push(e) });
      assert.equal(errors.length, 1);
      assert.ok(existsSync(join(many, 'top.dat')));
      await assert.rejects(c.get(up, join(dir, 'norecurse')), /is a directory/);
    });

    test('put over existing remote files: each cut to the new length; a local file gone since the listing leaves its remote copy as it was', async () => {
      const src = join(dir, 'over');
      mkdirSync(src);
      const big = randomBytes(300_000);
      writeFileSync(join(src, 'a-small.txt'), 'x');
      writeFileSync(join(src, 'b-big.bin'), big);
      writeFileSync(join(src, 'c-empty.txt'), '');
      writeFileSync(join(src, 'd-gone.txt'), 'will vanish');
      const up = join(dir, 'over-up');
      mkdirSync(join(up, 'over'), { recursive: true });
      writeFileSync(join(up, 'over', 'a-small.txt'), 'a much longer remote content');
      writeFileSync(join(up, 'over', 'b-big.bin'), randomBytes(700_000));
      writeFileSync(join(up, 'over', 'c-empty.txt'), 'not empty');
      writeFileSync(join(up, 'over', 'd-gone.txt'), 'precious remote copy');
      const errors: Error[] = [];
      // One file at a time, in name order: c's progress removes d before d's job opens it.
      await c.put(src, up, {
        recurse: true, maxFiles: 1, errorHandler: (e) => errors.push(e),
        progressHandler: (from) => { if (from.endsWith('c-empty.txt') || from.endsWith('b-big.bin')) rmSync(join(src, 'd-gone.txt'), { force: true }); },
      });
      assert.equal(readFileSync(join(up, 'over', 'a-small.txt'), 'utf8'), 'x');
      assert.equal(shaFile(join(up, 'over', 'b-big.bin')), sha(big));
      assert.equal(readFileSync(join(up, 'over', 'c-empty.txt'), 'utf8'), '');
      assert.equal(errors.length, 1, errors.map(String).join('; '));
      assert.match(String(errors[0]), /ENOENT/);
      assert.equal(readFileSync(join(up, 'over', 'd-gone.txt'), 'utf8'), 'precious remote copy');
      // Into a directory the put creates: no length cut is needed, and a file gone meanwhile leaves nothing behind.
      writeFileSync(join(src, 'd-gone.txt'), 'will vanish again');
      const fresh = join(dir, 'over-fresh');
      const freshErrors: Error[] = [];
      await c.put(src, fresh, {
        recurse: true, maxFiles: 1, errorHandler: (e) => freshErrors.push(e),
        progressHandler: (from) => { if (from.endsWith('c-empty.txt') || from.endsWith('b-big.bin')) rmSync(join(src, 'd-gone.txt'), { force: true }); },
      });
      assert.equal(freshErrors.length, 1, freshErrors.map(String).join('; '));
      assert.deepEqual(readdirNames(fresh), ['a-small.txt', 'b-big.bin', 'c-empty.txt']);
      assert.equal(readFileSync(join(fresh, 'a-small.txt'), 'utf8'), 'x');
      assert.equal(shaFile(join(fresh, 'b-big.bin')), sha(big));
      // The same for one big file through the block pump (preserve takes that path).
      writeFileSync(join(up, 'big-over.bin'), randomBytes(900_000));
      await c.put(join(src, 'b-big.bin'), join(up, 'big-over.bin'), { preserve: true });
      assert.equal(shaFile(join(up, 'big-over.bin')), sha(big));
    });
  });
}

function readdirNames(d: string): string[] {
  return readdirSync(d).sort();
}
