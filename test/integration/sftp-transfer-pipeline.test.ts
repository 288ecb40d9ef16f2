/**
 * Pipelining across files in get/put/copy: many files in flight over one
 * session, never more than `maxFiles` open at the server, one READ per
 * small file (no end-of-file probe), a file that grew after its stat read
 * to its real end, and errors that stop (or, with a handler, skip) files.
 * The server is fleetssh's SFTPServer in-process with a counting file system.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { SFTPClient } from '../../src/actors/sftp-client.js';
import { JobPool } from '../../src/actors/sftp-job-pool.js';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { LocalFileSystem, type SFTPOpenFile } from '../../src/actors/sftp-server-fs.js';
import type { SFTPAttrs } from '../../src/protocol/sftp-attrs.js';
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
}

async function countingPeer(overrides: { stat?: (path: string) => Promise<SFTPAttrs> } = {}): Promise<{ client: SFTPClient; counts: Counting; stop(): Promise<void> }> {
  const base = new LocalFileSystem();
  const counts: Counting = { open: 0, peakOpen: 0, reads: 0 };
  const fs = {
    async open(path: string, pflags: number, attrs: SFTPAttrs): Promise<SFTPOpenFile> {
      const f = await base.open(path, pflags, attrs);
      counts.open++;
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

test('recursive put, get and copy overlap files, never more than maxFiles open at the server, byte-exact', async () => {
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
      await run();
      const limit = 6; // copy: 3 files, two handles each
      assert.ok(peer.counts.peakOpen <= limit, `${op}: ${peer.counts.peakOpen} files open at once`);
      assert.ok(peer.counts.peakOpen >= 2, `${op}: files did not overlap (peak ${peer.counts.peakOpen})`);
      assert.equal(peer.counts.open, 0, `${op}: every file closed`);
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
