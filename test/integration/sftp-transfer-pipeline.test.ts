/**
 * Pipelining across files in get/put/copy: many files in flight over one
 * session, never more than `maxFiles` open at the server, one READ per
 * small file (no end-of-file probe), a file that grew after its stat read
 * to its real end, errors that stop (or, with a handler, skip) files, and
 * a one-block put whose WRITE, FSETSTAT and CLOSE leave together.
 * The server is fleetssh's SFTPServer in-process with a counting file system.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { PassThrough } from 'node:stream';
import { SFTPClient } from '../../src/actors/sftp-client.js';
import { DirWalker, JobPool } from '../../src/actors/sftp-job-pool.js';
import { RequestBudget } from '../../src/actors/sftp-pump.js';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { LocalFileSystem, type SFTPOpenFile } from '../../src/actors/sftp-server-fs.js';
import type { SFTPAttrs } from '../../src/protocol/sftp-attrs.js';
import { Fxp } from '../../src/protocol/sftp-constants.js';
import { SftpDeframer } from '../../src/protocol/sftp-framing.js';
import { SFTPError } from '../../src/actors/sftp-errors.js';
import { makeTempDir } from '../helpers/ssh-client.js';

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every regular file under `root`, relative path -> sha256. */
function digestTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(relative(root, join(e.parentPath, e.name)), sha(join(e.parentPath, e.name)));
  }
  return out;
}

interface Counting {
  open: number;
  peakOpen: number;
  reads: number;
  /** Paths in the order the server opened them. */
  opened: string[];
}

async function countingPeer(overrides: { stat?: (path: string) => Promise<SFTPAttrs> } = {}): Promise<{ client: SFTPClient; counts: Counting; stop(): Promise<void> }> {
  const base = new LocalFileSystem();
  const counts: Counting = { open: 0, peakOpen: 0, reads: 0, opened: [] };
  const fs = {
    async open(path: string, pflags: number, attrs: SFTPAttrs): Promise<SFTPOpenFile> {
      const f = await base.open(path, pflags, attrs);
      counts.open++;
      counts.opened.push(path);
      counts.peakOpen = Math.max(counts.peakOpen, counts.open);
      // Hold the file open a moment, as a disk would: lets overlap show.
      await new Promise((r) => setImmediate(r));
      return f;
    },
    async close(file: SFTPOpenFile): Promise<void> {
      counts.open--;
      await base.close(file);
    },
    async read(file: SFTPOpenFile, offset: number, len: number): Promise<Uint8Array> {
      counts.reads++;
      return base.read(file, offset, len);
    },
    ...overrides,
  };
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = new SFTPServer({ fs }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  return { client, counts, stop: async () => { client.exit(); await served; } };
}

function makeTree(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const d = join(root, `d${i % 3}`, i % 2 ? 'x' : '');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), randomBytes(1 + ((i * 389) % 5000)));
  }
}

test('recursive put, get and copy overlap files (put and get across directories), never more than maxFiles open at the server, byte-exact', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  const tree = join(dir, 'tree');
  makeTree(tree, 150);
  const want = digestTree(tree);
  const peer = await countingPeer();
  try {
    for (const [op, run] of [
      ['put', () => peer.client.put(tree, join(dir, 'up'), { recurse: true, maxFiles: 6 })],
      ['get', () => peer.client.get(join(dir, 'up'), join(dir, 'down'), { recurse: true, maxFiles: 6 })],
      ['copy', () => peer.client.copy(join(dir, 'up'), join(dir, 'copied'), { recurse: true, maxFiles: 3 })],
    ] as const) {
      peer.counts.peakOpen = 0;
      peer.counts.opened.length = 0;
      await run();
      const limit = 6; // copy: 3 files, two handles each
      assert.ok(peer.counts.peakOpen <= limit, `${op}: ${peer.counts.peakOpen} files open at once`);
      assert.ok(peer.counts.peakOpen >= 2, `${op}: files did not overlap (peak ${peer.counts.peakOpen})`);
      assert.equal(peer.counts.open, 0, `${op}: every file closed`);
      if (op !== 'copy') {
        // Several directories fill at once (creating files in one directory is serialised by the file
        // system): a walk that fills one after the other changes directory 5 times in the order of opens.
        const dirs = peer.counts.opened.map((p) => relative(dir, join(p, '..')));
        const changes = dirs.filter((d, i) => i > 0 && d !== dirs[i - 1]).length;
        assert.ok(changes > 10, `${op}: files were opened one directory after the other (${changes} changes)`);
      }
    }
    for (const out of ['up', 'down', 'copied']) assert.deepEqual(digestTree(join(dir, out)), want, out);
  } finally {
    await peer.stop();
  }
});

test('a small file costs one READ; a file larger than its stat said is read to its real end', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  writeFileSync(join(dir, 'small'), randomBytes(3000));
  writeFileSync(join(dir, 'grown'), randomBytes(200_000));
  // The server under-reports the size of 'grown', as if it grew after the stat.
  const base = new LocalFileSystem();
  const peer = await countingPeer({
    stat: async (path: string) => {
      const a = await base.stat(path);
      return path.endsWith('grown') ? { ...a, size: 10 } : a;
    },
  });
  try {
    await peer.client.get(join(dir, 'small'), join(dir, 'small.out'));
    assert.equal(peer.counts.reads, 1);
    await peer.client.get(join(dir, 'grown'), join(dir, 'grown.out'), { blockSize: 16384 });
    assert.equal(sha(join(dir, 'grown.out')), sha(join(dir, 'grown')));
  } finally {
    await peer.stop();
  }
});

test('a failing file stops a tree transfer, or is skipped with an errorHandler', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  const tree = join(dir, 'tree');
  makeTree(tree, 40);
  const base = new LocalFileSystem();
  const bad = join(tree, 'd1', 'x', 'f1');
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = new SFTPServer({
    fs: {
      // The server refuses to open one file.
      open: async (path: string, pflags: number, attrs: SFTPAttrs) => {
        if (path === bad) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        return base.open(path, pflags, attrs);
      },
    },
  }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  try {
    await assert.rejects(client.get(tree, join(dir, 'out1'), { recurse: true, maxFiles: 4 }), /denied/i);
    const errors: Error[] = [];
    await client.get(tree, join(dir, 'out2'), { recurse: true, maxFiles: 4, errorHandler: (e) => errors.push(e) });
    assert.equal(errors.length, 1);
    const want = digestTree(tree);
    want.delete(relative(tree, bad));
    assert.deepEqual(digestTree(join(dir, 'out2')), want);
  } finally {
    client.exit();
    await served;
  }
});

test('JobPool: submit waits for a slot, jobs overlap up to the size, the first error stops it', async () => {
  const pool = new JobPool(3);
  let running = 0;
  let peak = 0;
  const job = async (): Promise<void> => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 2));
    running--;
  };
  let submittedAhead = 0;
  for (let i = 0; i < 20; i++) {
    await pool.submit(job);
    submittedAhead = Math.max(submittedAhead, running);
  }
  await pool.drain();
  assert.equal(peak, 3);
  assert.ok(submittedAhead <= 3);
  const failing = new JobPool(2);
  await failing.submit(async () => {
    throw new Error('boom');
  });
  await assert.rejects(failing.drain(), /boom/);
  await assert.rejects(failing.submit(job), /boom/);
});

/**
 * Watches the requests on their way to the server; the function returned
 * resolves true once a CLOSE arrives (or has arrived since the previous
 * call's request), false after 3 s without one.
 */
function watchCloses(toServer: PassThrough): () => Promise<boolean> {
  const deframer = new SftpDeframer();
  let closes = 0;
  let closeSeen: () => void = () => undefined;
  toServer.on('data', (chunk: Uint8Array) => {
    deframer.push(chunk);
    for (let p = deframer.next(); p; p = deframer.next()) {
      if (p[0] === Fxp.CLOSE) {
        closes++;
        closeSeen();
      }
    }
  });
  return () => {
    const before = closes;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 3000);
      closeSeen = () => {
        clearTimeout(t);
        resolve(true);
      };
      if (closes > before) closeSeen();
    });
  };
}

/** A server whose fs.write waits until the wire has shown a CLOSE after the WRITE (or 3 s), optionally failing one file's write. */
async function closeWatchingPeer(failWrite: (path: string) => boolean): Promise<{ client: SFTPClient; stats: { open: number; closedAfterWriteSent: number; setstats: number }; stop(): Promise<void> }> {
  const base = new LocalFileSystem();
  const stats = { open: 0, closedAfterWriteSent: 0, setstats: 0 };
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const closeAhead = watchCloses(toServer);
  const paths = new Map<SFTPOpenFile, string>();
  const served = new SFTPServer({
    fs: {
      async open(path: string, pflags: number, attrs: SFTPAttrs): Promise<SFTPOpenFile> {
        const f = await base.open(path, pflags, attrs);
        paths.set(f, path);
        stats.open++;
        return f;
      },
      async close(file: SFTPOpenFile): Promise<void> {
        stats.open--;
        await base.close(file);
      },
      async write(file: SFTPOpenFile, offset: number, data: Uint8Array): Promise<void> {
        // The CLOSE for this file is on the wire before the WRITE is answered: it was sent with it.
        if (await closeAhead()) stats.closedAfterWriteSent++;
        if (failWrite(paths.get(file) ?? '')) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
        await base.write(file, offset, data);
      },
      async fsetstat(file: SFTPOpenFile, attrs: SFTPAttrs): Promise<void> {
        stats.setstats++;
        await base.fsetstat(file, attrs);
      },
    },
  }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  return { client, stats, stop: async () => { client.exit(); await served; } };
}

test('put: a file within one block sends its WRITE, FSETSTAT and CLOSE together; a failed last WRITE is still reported', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  writeFileSync(join(dir, 'small'), randomBytes(5000));
  writeFileSync(join(dir, 'bad'), randomBytes(100));
  const peer = await closeWatchingPeer((p) => p.endsWith('bad.out'));
  try {
    // maxFiles 1: each WRITE is the only one in flight, so the CLOSE seen is this file's.
    await peer.client.put(join(dir, 'small'), join(dir, 'small.out'), { preserve: true, maxFiles: 1 });
    assert.equal(sha(join(dir, 'small.out')), sha(join(dir, 'small')));
    assert.equal(peer.stats.closedAfterWriteSent, 1);
    assert.equal(peer.stats.setstats, 1);
    assert.equal(peer.stats.open, 0);
    await assert.rejects(peer.client.put(join(dir, 'bad'), join(dir, 'bad.out'), { maxFiles: 1 }), (e: Error) => e instanceof SFTPError && /space|failure/i.test(e.message));
    assert.equal(peer.stats.open, 0, 'the handle is closed after a failed last WRITE');
  } finally {
    await peer.stop();
  }
});

test('RequestBudget: returned tokens reach waiters a batch at a time, or all once every token is back', async () => {
  const budget = new RequestBudget(4, 2);
  for (let i = 0; i < 4; i++) await budget.acquire();
  const started: number[] = [];
  const waiting = [0, 1, 2].map((i) => budget.acquire().then(() => started.push(i)));
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  budget.release();
  await settle();
  assert.deepEqual(started, [], 'one token back: below the batch, nobody starts');
  budget.release();
  await settle();
  assert.deepEqual(started, [0, 1], 'two back: two start together');
  budget.release();
  await settle();
  assert.deepEqual(started, [0, 1]);
  budget.release();
  budget.release();
  budget.release();
  await Promise.all(waiting);
  assert.deepEqual(started, [0, 1, 2]);
  // A waiter is never stranded: once every token is back it starts, batch or not.
  const lone = new RequestBudget(3, 3);
  for (let i = 0; i < 3; i++) await lone.acquire();
  let loneStarted = false;
  const later = lone.acquire().then(() => (loneStarted = true));
  lone.release();
  lone.release();
  await settle();
  assert.equal(loneStarted, false);
  lone.release();
  await later;
  assert.throws(() => new RequestBudget(0), RangeError);
});

test('get: a failed remote open leaves no new local file and an existing one untouched', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  writeFileSync(join(dir, 'keep'), 'old contents');
  const peer = await countingPeer({ stat: async () => ({ size: 10, permissions: 0o100644 }) });
  try {
    await assert.rejects(peer.client.get(join(dir, 'missing'), join(dir, 'new.out')));
    assert.deepEqual(readdirSync(dir).sort(), ['keep']);
    await assert.rejects(peer.client.get(join(dir, 'missing'), join(dir, 'keep')));
    assert.equal(readFileSync(join(dir, 'keep'), 'utf8'), 'old contents');
  } finally {
    await peer.stop();
  }
});

test('get: a small file sends its READ and CLOSE together; a file that shrank or grew since the listing is still exact', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  writeFileSync(join(dir, 'small'), randomBytes(3000));
  writeFileSync(join(dir, 'shrunk'), randomBytes(3000));
  writeFileSync(join(dir, 'empty'), '');
  const base = new LocalFileSystem();
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const closeAhead = watchCloses(toServer);
  let readsWithCloseBehind = 0;
  const served = new SFTPServer({
    fs: {
      // The listing of 'shrunk' says 5000 bytes: it lost 2000 since.
      stat: async (path: string) => {
        const a = await base.stat(path);
        return path.endsWith('shrunk') ? { ...a, size: 5000 } : a;
      },
      async read(file: SFTPOpenFile, offset: number, len: number): Promise<Uint8Array> {
        // This file's CLOSE is on the wire before its READ is answered: it was sent with it.
        if (await closeAhead()) readsWithCloseBehind++;
        return base.read(file, offset, len);
      },
    },
  }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  try {
    await client.get(join(dir, 'small'), join(dir, 'small.out'), { maxFiles: 1 });
    assert.equal(sha(join(dir, 'small.out')), sha(join(dir, 'small')));
    assert.equal(readsWithCloseBehind, 1);
    await client.get(join(dir, 'shrunk'), join(dir, 'shrunk.out'), { maxFiles: 1 });
    assert.equal(sha(join(dir, 'shrunk.out')), sha(join(dir, 'shrunk')));
    await client.get(join(dir, 'empty'), join(dir, 'empty.out'), { maxFiles: 1 });
    assert.equal(readFileSync(join(dir, 'empty.out')).length, 0);
  } finally {
    client.exit();
    await served;
  }
});

test('put: files of a tree are read without an lstat each unless preserve needs their attributes', async () => {
  const dir = makeTempDir('sftp-pipeline-');
  const tree = join(dir, 'tree');
  makeTree(tree, 30);
  writeFileSync(join(tree, 'big'), randomBytes(300_000)); // longer than one scratch read: the general path
  writeFileSync(join(tree, 'empty'), '');
  const want = digestTree(tree);
  const fsp = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
  const real = fsp.lstat;
  let lstats = 0;
  fsp.lstat = ((p: Parameters<typeof real>[0], o?: Parameters<typeof real>[1]) => {
    if (String(p).startsWith(tree)) lstats++;
    return real(p, o as never);
  }) as typeof real;
  syncBuiltinESMExports();
  const peer = await countingPeer();
  try {
    await peer.client.put(tree, join(dir, 'up'), { recurse: true, maxFiles: 4 });
    assert.deepEqual(digestTree(join(dir, 'up')), want);
    const dirs = readdirSync(tree, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).length;
    assert.equal(lstats, dirs + 1, 'directories and the one file longer than a scratch read were lstat-ed, no other file');
    lstats = 0;
    await peer.client.put(tree, join(dir, 'up2'), { recurse: true, maxFiles: 4, preserve: true });
    assert.deepEqual(digestTree(join(dir, 'up2')), want);
    assert.ok(lstats >= want.size, `preserve: ${lstats} lstats for ${want.size} files`);
    assert.equal(peer.counts.open, 0);
  } finally {
    fsp.lstat = real;
    syncBuiltinESMExports();
    await peer.stop();
  }
});

test('DirWalker: listings run `size` at once, then queue in order, then run inline; the first failure is rethrown', async () => {
  const walker = new DirWalker(2, 1);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const listing = (i: number) => async (): Promise<void> => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    order.push(i);
    running--;
  };
  await walker.add(listing(0));
  await walker.add(listing(1));
  await walker.add(listing(2)); // queued
  await walker.add(listing(3)); // queue full: ran inline, done when add resolves
  assert.ok(order.includes(3));
  await walker.done();
  assert.deepEqual(order.slice().sort(), [0, 1, 2, 3]);
  assert.ok(peak <= 3, `peak ${peak}`); // two started, one inline
  const failing = new DirWalker(2);
  await failing.add(async () => {
    throw new Error('listing failed');
  });
  await assert.rejects(failing.done(), /listing failed/);
  await assert.rejects(failing.add(listing(9)), /listing failed/);
});
