/**
 * Confinement tables. Server: a chroot session must never read, list,
 * create or change anything outside its root, whatever the path, the
 * symlinks already inside the root, or the symlinks the client makes
 * (including a sibling directory sharing the root's prefix). Client: a
 * hostile server must not make a recursive get write outside the local
 * destination (names with '/', '..', absolute names, symlinks out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SFTPClient, SFTPError } from '../../src/actors/sftp-client.js';
import { SFTPServer, type SFTPServerOptions } from '../../src/actors/sftp-server.js';
import type { SFTPName } from '../../src/protocol/sftp-replies.js';
import { makeTempDir } from '../helpers/ssh-client.js';

async function pair(options: SFTPServerOptions): Promise<{ c: SFTPClient; stop: () => Promise<void> }> {
  const up = new PassThrough();
  const down = new PassThrough();
  const served = new SFTPServer(options).serve({ readable: up, writable: down });
  const c = await SFTPClient.start({ readable: down, writable: up });
  return { c, stop: async () => { c.exit(); await served; } };
}

test('chroot escape table: every attempt stays inside the root', async () => {
  const base = makeTempDir('sftp-chroot-');
  const root = join(base, 'srv/a');
  mkdirSync(join(root, 'in'), { recursive: true });
  mkdirSync(join(base, 'srv/ab'), { recursive: true });
  mkdirSync(join(base, 'outside'), { recursive: true });
  writeFileSync(join(base, 'srv/ab/secret'), 'SIBLING');
  writeFileSync(join(base, 'outside/secret'), 'OUTSIDE');
  writeFileSync(join(root, 'in/file'), 'inside');
  // Links already inside the root, pointing out by every route.
  symlinkSync('../..', join(root, 'up'));
  symlinkSync(join(base, 'outside'), join(root, 'abs'));
  symlinkSync('../ab', join(root, 'sib'));
  symlinkSync('up', join(root, 'chain'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  const { c, stop } = await pair({ chroot: root });
  try {
    const secrets = /SIBLING|OUTSIDE/;
    const reads = [
      '/../ab/secret', '../ab/secret', '../../outside/secret', 'up/outside/secret', 'up/srv/ab/secret', 'chain/outside/secret',
      'abs/secret', 'sib/secret', `${base}/outside/secret`, 'in/../../ab/secret', '/in/../../../outside/secret', 'loop1/x',
    ];
    for (const p of reads) {
      const got = await c.open(p).then((f) => f.readText(), (e: SFTPError) => e);
      assert.ok(got instanceof SFTPError, `${p} opened: ${String(got)}`);
      assert.ok(!secrets.test(String((got as Error).message)));
    }
    for (const p of ['up', 'chain', 'sib', '..', '/..', '../../..']) {
      const names = await c.listdir(p).catch(() => [] as string[]);
      assert.ok(!names.includes('secret') && !names.includes('outside') && !names.includes('ab'), `${p}: ${names}`);
    }
    assert.equal(await c.realpath('/..'), '/');
    assert.equal(await c.realpath('up/x'), '/x');
    assert.equal(await c.realpath('abs'), join(base, 'outside'), 'an absolute link is read inside the root');
    // Links the client makes, then uses.
    await c.symlink(join(base, 'outside'), 'mine');
    await c.symlink('../../../../../../..', 'dots');
    await assert.rejects(c.open('mine/secret'), SFTPError);
    assert.deepEqual((await c.listdir('dots')).sort(), readdirSync(root).sort());
    // Writes, renames, mkdirs, links and removals aimed outside land inside or fail.
    for (const p of ['../ab/new', 'sib/new', 'up/outside/new', 'mine/new', 'dots/new2']) {
      await c.open(p, 'w').then((f) => f.close(), () => undefined);
    }
    await c.rename('in/file', '../ab/moved').catch(() => undefined);
    await c.mkdir('up/outside/dir').catch(() => undefined);
    await c.link('in/file', 'sib/hard').catch(() => undefined);
    await c.remove('sib/secret').catch(() => undefined);
    await c.remove('../ab/secret').catch(() => undefined);
    await c.setstat('abs/secret', { permissions: 0o777 }).catch(() => undefined);
    assert.deepEqual(readdirSync(join(base, 'srv/ab')), ['secret']);
    assert.deepEqual(readdirSync(join(base, 'outside')), ['secret']);
    assert.equal(readFileSync(join(base, 'outside/secret'), 'utf8'), 'OUTSIDE');
    assert.ok(existsSync(join(root, 'dots')) && existsSync(join(root, 'new2')), 'the write through dots landed at the root');
    assert.equal((await c.homeDirectory('')), '/');
  } finally {
    await stop();
  }
});

test('hostile server table: a recursive get never writes outside the destination', async () => {
  const base = makeTempDir('sftp-hostile-');
  const remote = join(base, 'remote');
  mkdirSync(remote);
  writeFileSync(join(remote, 'ok'), 'fine');
  const reg = { permissions: 0o100644, size: 4 };
  const lnk = { permissions: 0o120777, size: 4 };
  const evil: SFTPName[] = [
    { filename: '../escape', longname: '', attrs: reg },
    { filename: 'a/b', longname: '', attrs: reg },
    { filename: `${base}/abs`, longname: '', attrs: reg },
    { filename: '..', longname: '', attrs: { permissions: 0o040755 } },
    { filename: '', longname: '', attrs: reg },
    { filename: 'nul\0x', longname: '', attrs: reg },
    { filename: 'link-abs', longname: '', attrs: lnk },
    { filename: 'link-up', longname: '', attrs: lnk },
    { filename: 'link-in', longname: '', attrs: lnk },
  ];
  const targets: Record<string, string> = { 'link-abs': '/etc/passwd', 'link-up': '../../x', 'link-in': 'ok' };
  const { c, stop } = await pair({
    fs: {
      listdir: async (p: string) => (p === remote ? [{ filename: 'ok', longname: '', attrs: reg }, ...evil] : []),
      readlink: async (p: string) => targets[p.slice(remote.length + 1)] ?? 'ok',
    },
  });
  try {
    const dest = join(base, 'local');
    const refused: string[] = [];
    await c.get(remote, dest, { recurse: true, errorHandler: (e) => refused.push(e.message) });
    assert.deepEqual(readdirSync(dest).sort(), ['link-in', 'ok']);
    assert.equal(readFileSync(join(dest, 'ok'), 'utf8'), 'fine');
    assert.deepEqual(readdirSync(base).sort(), ['local', 'remote']);
    assert.equal(refused.length, 7, refused.join('\n'));
    // Without an errorHandler the first refusal is thrown.
    await assert.rejects(c.get(remote, join(base, 'local2'), { recurse: true }), /refusing/);
  } finally {
    await stop();
  }
});

test('server answers bad requests with a status and keeps serving', async () => {
  // Raw bytes first: INIT, an unknown type 99, a truncated READ, then a good REALPATH.
  const up = new PassThrough();
  const down = new PassThrough();
  const raw = new SFTPServer().serve({ readable: up, writable: down });
  const got: Buffer[] = [];
  const answered = new Promise<void>((resolve) => down.on('data', (b: Buffer) => {
    got.push(b);
    if (Buffer.concat(got).toString('hex').includes('6800000079')) resolve();
  }));
  up.write(Buffer.from('00000005' + '01' + '00000003', 'hex'));
  up.write(Buffer.from('00000005' + '63' + '00000077', 'hex'));
  up.write(Buffer.from('00000007' + '05' + '00000078' + '0000', 'hex'));
  up.write(Buffer.from('0000000a' + '10' + '00000079' + '00000001' + '2f', 'hex'));
  await answered; // REALPATH is answered after the two bad ones were
  up.end();
  await raw;
  const all = Buffer.concat(got).toString('hex');
  assert.ok(all.includes('65' + '00000077' + '00000008'), 'OP_UNSUPPORTED for the unknown type');
  assert.ok(all.includes('65' + '00000078' + '00000005'), 'BAD_MESSAGE for the truncated READ');
  assert.ok(all.includes('68' + '00000079' + '00000001' + '00000001' + '2f'), 'REALPATH still answered');

  const { c, stop } = await pair({ maxHandles: 2 });
  const dir = makeTempDir('sftp-bad-');
  writeFileSync(join(dir, 'f'), 'x');
  const f1 = await c.open(join(dir, 'f'));
  await c.open(join(dir, 'f'));
  await assert.rejects(c.open(join(dir, 'f')), /too many open handles/);
  await f1.close();
  assert.equal(await (await c.open(join(dir, 'f'))).readText(), 'x');
  await assert.rejects(c.session.status((id) => ({ kind: 'close', id, handle: new Uint8Array([9, 9]) })), /invalid handle/);
  await stop();
});
