/**
 * High-level SFTP transfers (AsyncSSH's get/put/copy and their m* forms):
 * recursion, preserve, symlinks, error and progress handlers, resume, and
 * pipelined blocks through sftp-pump.ts. Many files move at once over the
 * one session: get and put list up to four directories at once (`DirWalker`;
 * each directory is created before its listing starts) and hand each file
 * to a bounded `JobPool`, so open/write/close of different files, in
 * different directories, overlap while memory stays bounded by `maxFiles`
 * and `maxRequests`, not by the size of the tree. A recursive
 * get trusts nothing the server names: entries with '/', '.', '..', NUL or
 * empty names are refused, as are symlinks whose target leaves the local
 * destination, and local files are opened without following a symlink at
 * the last component.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, stat, symlink, unlink, utimes, chmod } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, resolve as resolveLocal, sep } from 'node:path';
import type { SFTPAttrs } from '../protocol/sftp-attrs.js';
import { isDirAttrs, isRegularAttrs, isSymlinkAttrs } from '../protocol/sftp-attrs.js';
import { FxfFlag, FxStatus, SftpExt } from '../protocol/sftp-constants.js';
import type { SFTPClient } from './sftp-client.js';
import { SFTPError } from './sftp-errors.js';
import type { SFTPFile } from './sftp-file.js';
import { globLocal } from './sftp-glob.js';
import { DirWalker, JobPool } from './sftp-job-pool.js';
import { bytesLength, joined, localSink, localSource, pump, remoteSink, remoteSource, RequestBudget, WRITE_BYTES_IN_FLIGHT, type BlockSink } from './sftp-pump.js';

export interface TransferOptions {
  recurse?: boolean;
  preserve?: boolean;
  followSymlinks?: boolean;
  /** Called with each per-file error; the transfer continues. Without it the first error is thrown. */
  errorHandler?: (err: Error) => void;
  progressHandler?: (srcPath: string, dstPath: string, bytesDone: number, totalBytes: number) => void;
  /** Bytes per request (default: the server's read/write limit). */
  blockSize?: number;
  /** Requests in flight across the whole transfer (default 16: 4 MiB with 255 KiB blocks). */
  maxRequests?: number;
  /** Files transferred at once (default 32, at most half the server's open-handle limit). */
  maxFiles?: number;
  /** Continue partial destination files (reget/reput). */
  resume?: boolean;
  /** Expand wildcards in the sources (mget/mput/mcopy). */
  glob?: boolean;
}

interface Ctx {
  client: SFTPClient;
  o: TransferOptions;
  blockSize: number;
  budget: RequestBudget;
  pool: JobPool;
  /** Directory listings of get and put, several at once. */
  walker: DirWalker;
  /** Read buffers of putSmallFile, one per file in flight at most. */
  scratch: Buffer[];
  /** Remote directories this transfer created: a file put into one cannot have been there before (OPEN_FOR_PUT). */
  madeDirs: Set<string>;
}

const DEFAULT_MAX_FILES = 32;
/** Directories listed (and so filled) at once by get and put (see DirWalker). */
const DIR_LISTINGS = 4;
/** Measured: 16 blocks in flight moved a 256 MiB file as fast as 64 with less memory (load-tests/README.md). */
const DEFAULT_MAX_REQUESTS = 16;

/** `writes`: the transfer sends WRITEs (put, copy), whose bytes in flight are capped (WRITE_BYTES_IN_FLIGHT). */
function context(client: SFTPClient, o: TransferOptions, writes = false): Ctx {
  const limit = Math.min(client.limits.maxReadLength, client.limits.maxWriteLength);
  const blockSize = o.blockSize ?? limit;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize: expected a positive integer, got ${blockSize}`);
  const handles = client.limits.maxOpenHandles;
  const maxFiles = o.maxFiles ?? (handles > 0 ? Math.max(1, Math.min(DEFAULT_MAX_FILES, Math.floor(handles / 2))) : DEFAULT_MAX_FILES);
  return { client, o, blockSize: Math.min(blockSize, limit), budget: requestBudget(o.maxRequests ?? DEFAULT_MAX_REQUESTS, writes), pool: new JobPool(maxFiles), walker: new DirWalker(DIR_LISTINGS), scratch: [], madeDirs: new Set() };
}

/** Requests are refilled a quarter of the budget at a time (see RequestBudget): 12-16 stay in flight by default. */
const requestBudget = (size: number, writes: boolean): RequestBudget => new RequestBudget(size, Math.floor(size / 4), writes ? WRITE_BYTES_IN_FLIGHT : Infinity);

const asList = (p: string | string[]): string[] => (Array.isArray(p) ? p : [p]);

function report(ctx: Ctx, e: unknown): void {
  if (ctx.o.errorHandler) ctx.o.errorHandler(e as Error);
  else throw e;
}

/** Runs `fn`, handing a failure to the error handler (or throwing it). */
async function reported(ctx: Ctx, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    report(ctx, e);
  }
}

/** A started job (its completion in `done`), or a walked directory (done at once). */
type Started = { done: Promise<void> };
const WALKED: Started = { done: Promise.resolve() };

/** Starts `fn` as one file's job in the pool; resolves once it has started. */
function submit(ctx: Ctx, fn: () => Promise<void>): Promise<Started> {
  return ctx.pool.submit(() => reported(ctx, fn));
}

/** Sets a directory's attributes once the jobs for the files in it are done. */
function afterJobs(ctx: Ctx, jobs: Started[], fn: () => Promise<void>): void {
  void ctx.pool.track(async () => {
    await Promise.all(jobs.map((j) => j.done));
    await reported(ctx, fn);
  });
}

/** `fn` over every item, at most `limit` at once, results in order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A name from a directory listing that is safe to use as one local path component. */
export function isSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && !name.includes('\\') && !name.includes('\uFFFD');
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

/**
 * The top-level sources of a transfer: each is resolved (stat'ed, many at
 * once) and then walked in order; the walk feeds the pool.
 */
async function runSources<A>(ctx: Ctx, srcs: string[], probe: (src: string) => Promise<A>, walk: (src: string, attrs: A) => Promise<void>): Promise<void> {
  const probed = await mapBounded(srcs, ctx.pool.size, (src) => probe(src).then((a) => ({ a }), (e: unknown) => ({ e })));
  try {
    for (let i = 0; i < srcs.length; i++) {
      ctx.pool.check();
      const p = probed[i]!;
      await reported(ctx, async () => {
        if ('e' in p) throw p.e;
        await walk(srcs[i]!, p.a);
        await ctx.walker.done();
      });
    }
  } catch (e) {
    await ctx.walker.done().catch(() => undefined); // no listing outlives the call,
    await ctx.pool.settle(); // nor any job
    throw e;
  }
  await ctx.pool.drain();
}

// ---- get ----

export async function get(client: SFTPClient, remotePaths: string | string[], localPath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o);
  const srcs = o.glob ? await client.glob(remotePaths) : asList(remotePaths);
  const dstIsDir = localPath !== undefined && (await stat(localPath).then((s) => s.isDirectory(), () => false));
  if (srcs.length > 1 && localPath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${localPath} must be a directory for several sources`);
  await runSources(ctx, srcs, (src) => client.stat(src), async (src, attrs) => {
    const base = posix.basename(src.replace(/\/+$/, '')) || '.';
    const dst = localPath === undefined ? base : dstIsDir ? join(localPath, base) : localPath;
    await getEntry(ctx, src, dst, attrs, resolveLocal(dirname(dst)));
  });
}

/** One remote entry: a directory is created here and listed by the walker; files and symlinks become jobs. */
async function getEntry(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs, root: string): Promise<Started> {
  if (!inside(root, resolveLocal(dst))) throw new SFTPError(FxStatus.PERMISSION_DENIED, `refusing to write ${dst} outside ${root}`);
  if (!isDirAttrs(attrs)) {
    if (!isRegularAttrs(attrs) && attrs.permissions !== undefined) throw new SFTPError(FxStatus.FAILURE, `${src} is not a regular file`);
    return submit(ctx, () => getFile(ctx, src, dst, attrs));
  }
  if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
  const existing = await lstat(dst).catch(() => null);
  if (existing && !existing.isDirectory()) throw new SFTPError(FxStatus.FAILURE, `${dst} exists and is not a directory`);
  if (!existing) await mkdir(dst);
  await ctx.walker.add(() => reported(ctx, () => getDir(ctx, src, dst, attrs, root)));
  return WALKED;
}

/** Lists a remote directory, in order, into jobs; its attributes are set once they are done (preserve). */
async function getDir(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs, root: string): Promise<void> {
  const jobs: Started[] = [];
  for await (const n of ctx.client.scandir(src)) {
    if (n.filename === '.' || n.filename === '..') continue;
    ctx.pool.check();
    if (!isSafeName(n.filename)) {
      report(ctx, new SFTPError(FxStatus.PERMISSION_DENIED, `refusing unsafe name ${JSON.stringify(n.filename)} from the server in ${src}`));
      continue;
    }
    const s = posix.join(src, n.filename);
    const d = join(dst, n.filename);
    await reported(ctx, async () => {
      let a = n.attrs;
      if (isSymlinkAttrs(a)) {
        if (!ctx.o.followSymlinks) {
          jobs.push(await submit(ctx, () => getSymlink(ctx, s, d, root)));
          return;
        }
        a = await ctx.client.stat(s);
      }
      jobs.push(await getEntry(ctx, s, d, a, root));
    });
  }
  if (ctx.o.preserve) afterJobs(ctx, jobs, () => setLocalAttrs(dst, attrs));
}

async function getSymlink(ctx: Ctx, src: string, dst: string, root: string): Promise<void> {
  const target = await ctx.client.readlink(src);
  const resolved = resolveLocal(dirname(dst), target);
  if (target.startsWith('/') || !inside(root, resolved)) {
    throw new SFTPError(FxStatus.PERMISSION_DENIED, `refusing symlink ${src} -> ${target}: it points outside the destination`);
  }
  await symlink(target, dst);
}

/** Closes a remote file and a local one together; the first failure is thrown. */
async function closeBoth(a: () => Promise<void>, b: () => Promise<void>): Promise<void> {
  const [x, y] = await Promise.allSettled([a(), b()]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
}

/** Opens the remote file of a get; when that fails, a local file created for it meanwhile (`early`) is removed. */
async function openRemoteForGet(ctx: Ctx, src: string, dst: string, early: Promise<{ sink: BlockSink } | null> | null): Promise<SFTPFile> {
  try {
    return await ctx.client.open(src, 'r', {}, { blockSize: ctx.blockSize });
  } catch (e) {
    const made = await early;
    if (made) await made.sink.close().then(() => unlink(dst)).catch(() => undefined);
    throw e;
  }
}

async function getFile(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs): Promise<void> {
  const mode = attrs.permissions !== undefined ? attrs.permissions & 0o777 : undefined;
  const resume = ctx.o.resume ?? false;
  if (!resume && attrs.size !== undefined && attrs.size < ctx.blockSize) return getSmallFile(ctx, src, dst, attrs, attrs.size, mode);
  // A new local file is created while the remote one opens (on ext4 a create
  // costs ~0.6 ms: about a round trip). O_EXCL: only a file made here, which
  // is removed again when the remote open fails; an existing file is opened
  // (and truncated) only once the remote open succeeded, as before.
  const early = resume ? null : localSink(dst, { resume: false, mode, exclusive: true }).catch(() => null);
  const file = await openRemoteForGet(ctx, src, dst, early);
  let sink: BlockSink | null = null;
  try {
    const made = await early;
    if (made) sink = made.sink;
    const size = attrs.size ?? (await file.stat()).size ?? 0;
    const opened = made ?? (await localSink(dst, { resume, mode }));
    sink = opened.sink;
    const progress = ctx.o.progressHandler;
    await pump(remoteSource(file), sink, {
      start: Math.min(opened.size, size), size, blockSize: ctx.blockSize, budget: ctx.budget,
      onProgress: progress && ((n) => progress(src, dst, n, size)),
    });
  } catch (e) {
    const opened = sink;
    await closeBoth(() => file.close(), () => opened?.close() ?? Promise.resolve()).catch(() => undefined);
    throw e;
  }
  // The remote close is a courtesy for a read: only the local one can lose data.
  const done = sink;
  await closeBoth(() => file.close().catch(() => undefined), () => done.close());
  if (ctx.o.preserve) await setLocalAttrs(dst, attrs);
}

/**
 * A file whose listed size fits in one block (most of a tree): as soon as
 * the handle arrives its one READ and the CLOSE leave together, so a file
 * costs two round trips (OPEN, then READ+CLOSE) instead of three. The READ
 * asks for one byte more than the listed size: a reply of exactly that size
 * is the whole file (a regular file reads short only at its end). Any other
 * reply (the file grew or shrank since the listing, or the server answered
 * short) is kept and the rest fetched through the pump on a second open, as
 * the pump itself would have done on the first. The READ is not counted in
 * the request budget: its reply is bounded by the block size and there is
 * at most one per file in flight (maxFiles).
 */
async function getSmallFile(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs, size: number, mode: number | undefined): Promise<void> {
  const early = localSink(dst, { resume: false, mode, exclusive: true }).catch(() => null);
  const file = await openRemoteForGet(ctx, src, dst, early);
  const read = file.readBlockParts(0, size + 1);
  const closed = file.close(); // same tick as the READ: one packet, answered in order after it
  read.catch(() => undefined);
  closed.catch(() => undefined);
  let sink: BlockSink | null = null;
  try {
    const made = await early;
    sink = (made ?? (await localSink(dst, { resume: false, mode }))).sink;
    const parts = await read;
    const n = parts ? bytesLength(parts) : 0;
    if (n > 0) {
      await sink.writeAt(0, parts!);
      ctx.o.progressHandler?.(src, dst, n, size);
    }
    if (n !== size) await getRest(ctx, src, dst, sink, n, size);
  } catch (e) {
    const opened = sink;
    await opened?.close().catch(() => undefined);
    throw e;
  }
  // The remote close is a courtesy for a read: only the local one can lose data.
  await closed.catch(() => undefined);
  await sink.close();
  if (ctx.o.preserve) await setLocalAttrs(dst, attrs);
}

/** The rest of a file from `start`, after a one-READ fetch did not end where the listing said. */
async function getRest(ctx: Ctx, src: string, dst: string, sink: BlockSink, start: number, size: number): Promise<void> {
  const file = await ctx.client.open(src, 'r', {}, { blockSize: ctx.blockSize });
  const progress = ctx.o.progressHandler;
  try {
    await pump(remoteSource(file), sink, {
      start, size, blockSize: ctx.blockSize, budget: ctx.budget,
      onProgress: progress && ((n) => progress(src, dst, n, size)),
    });
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function setLocalAttrs(path: string, a: SFTPAttrs): Promise<void> {
  if (a.permissions !== undefined) await chmod(path, a.permissions & 0o7777);
  if (a.atime !== undefined && a.mtime !== undefined) await utimes(path, a.atime, a.mtime);
}

// ---- put ----

export async function put(client: SFTPClient, localPaths: string | string[], remotePath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o, true);
  const srcs = o.glob ? await globLocal(localPaths) : asList(localPaths);
  const dstIsDir = remotePath !== undefined && (await client.isdir(remotePath));
  if (srcs.length > 1 && remotePath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${remotePath} must be a directory for several sources`);
  await runSources(ctx, srcs, (src) => stat(src), async (src, st) => {
    const base = basename(src);
    const dst = remotePath === undefined ? base : dstIsDir ? posix.join(remotePath, base) : remotePath;
    await putEntry(ctx, src, dst, st);
  });
}

const localAttrs = (st: Stats): SFTPAttrs => ({ permissions: st.mode & 0o7777, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) });

/** One local entry whose stat is known: a directory is created remotely here and listed by the walker; files and symlinks become jobs. */
async function putEntry(ctx: Ctx, src: string, dst: string, st: Stats): Promise<Started> {
  if (st.isSymbolicLink()) return submit(ctx, async () => ctx.client.symlink(await readlink(src), dst));
  if (st.isFile()) return submit(ctx, () => putFile(ctx, src, dst, st));
  if (!st.isDirectory()) throw new SFTPError(FxStatus.FAILURE, `${src} is not a regular file`);
  if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
  if (await makeRemoteDir(ctx.client, dst)) ctx.madeDirs.add(dst);
  await ctx.walker.add(() => reported(ctx, () => putDir(ctx, src, dst, st)));
  return WALKED;
}

/** Lists a local directory, in name order, into jobs; its attributes are set once they are done (preserve). */
async function putDir(ctx: Ctx, src: string, dst: string, st: Stats): Promise<void> {
  const entries = (await readdir(src, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const jobs: Started[] = [];
  for (const ent of entries) {
    ctx.pool.check();
    await reported(ctx, async () => {
      const s = join(src, ent.name);
      const d = posix.join(dst, ent.name);
      if (ent.isFile()) jobs.push(await submit(ctx, () => putFileAt(ctx, s, d)));
      else jobs.push(await putEntry(ctx, s, d, ctx.o.followSymlinks && ent.isSymbolicLink() ? await stat(s) : await lstat(s)));
    });
  }
  if (ctx.o.preserve) afterJobs(ctx, jobs, () => ctx.client.setstat(dst, localAttrs(st)));
}

/** mkdir, and only when that fails, check whether a directory is already there (one round trip for a new tree); true when mkdir made it. */
async function makeRemoteDir(client: SFTPClient, dst: string): Promise<boolean> {
  try {
    await client.mkdir(dst);
    return true;
  } catch (e) {
    if (!(await client.isdir(dst))) throw e;
    return false;
  }
}

/**
 * A regular file found by readdir. Without preserve or resume nothing of
 * its stat is needed: the local file is opened and read (into a scratch
 * buffer of SMALL_READ bytes) while the remote one opens, and a read that
 * comes back short is the whole file (a regular file reads short only at its
 * end), so a small file costs three local calls (open, read, close) instead
 * of four, and its WRITE and CLOSE leave together. A larger file, or any
 * other case, takes its lstat in the job, not in the walker.
 */
async function putFileAt(ctx: Ctx, src: string, dst: string): Promise<void> {
  if (!ctx.o.preserve && !ctx.o.resume && (await putSmallFile(ctx, src, dst))) return;
  const st = await lstat(src);
  if (!st.isFile()) throw new SFTPError(FxStatus.FAILURE, `${src} is not a regular file`);
  await putFile(ctx, src, dst, st);
}

/**
 * put opens the remote file while the local one opens, to save a round
 * trip, so the remote open must not truncate: a local file that turns out
 * unreadable (gone since the listing, or a permission error) would otherwise
 * have emptied an existing remote copy. The remote file is cut to the new
 * length once the local bytes are in hand, with the last WRITE's batch.
 * Inside a directory this transfer created, no file can have been there
 * before: the cut is skipped (it cost sshd's sftp-server ~8 % of a tree put),
 * and a file whose local side fails is removed again. Elsewhere a remote file
 * that did not exist is still created, empty, when the local open fails.
 */
const OPEN_FOR_PUT = FxfFlag.WRITE | FxfFlag.CREAT;

/** Whether `dst` lies directly in a directory this transfer made (so it is new). */
const isNew = (ctx: Ctx, dst: string): boolean => ctx.madeDirs.has(posix.dirname(dst));

/** The local side failed after the remote file opened: a file this transfer created is closed and removed again. */
async function dropNewRemote(ctx: Ctx, file: SFTPFile, dst: string): Promise<void> {
  if (!isNew(ctx, dst)) return;
  await file.close().then(() => ctx.client.remove(dst)).catch(() => undefined);
}

/** Bytes read at once by putSmallFile: files shorter than this take its path. */
const SMALL_READ = 65536;

/** Sends a file shorter than one scratch buffer; false (nothing sent, nothing left open) when it is not. */
async function putSmallFile(ctx: Ctx, src: string, dst: string): Promise<boolean> {
  const [local, remote] = await Promise.allSettled([
    readSmall(ctx, src),
    ctx.client.open(dst, OPEN_FOR_PUT, {}, { blockSize: ctx.blockSize }),
  ]);
  const file = remote.status === 'fulfilled' ? remote.value : null;
  const read = local.status === 'fulfilled' ? local.value : null;
  if (!file || !read) {
    if (file && !read) await dropNewRemote(ctx, file, dst);
    await closeBoth(() => read?.closing ?? Promise.resolve(), () => file?.close() ?? Promise.resolve()).catch(() => undefined);
    throw local.status === 'rejected' ? local.reason : (remote as PromiseRejectedResult).reason;
  }
  if (read.data === null) {
    await closeBoth(() => read.closing, () => file.close());
    return false;
  }
  const data = read.data;
  // The remote file is cut to length with the same batch (WRITE, FSETSTAT size, CLOSE): see OPEN_FOR_PUT.
  await closeBoth(() => read.closing, () => file.writeFinal(0, data, isNew(ctx, dst) ? undefined : { size: data.length }));
  ctx.o.progressHandler?.(src, dst, data.length, data.length);
  return true;
}

/**
 * Opens (not following a symlink swapped in since the listing, nor waiting
 * on a FIFO) and reads a local file in one call: its bytes when it is
 * shorter than a scratch buffer, null when it may be longer. The local
 * close is left running (`closing`) so it overlaps the remote requests.
 */
async function readSmall(ctx: Ctx, src: string): Promise<{ data: Uint8Array | null; closing: Promise<void> }> {
  const fh = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let data: Uint8Array | null = null;
  const buf = ctx.scratch.pop() ?? Buffer.allocUnsafeSlow(Math.min(SMALL_READ, ctx.blockSize));
  try {
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    // A copy: the scratch buffer goes back to the pool, the bytes wait for their WRITE.
    if (bytesRead < buf.length) data = Buffer.from(buf.subarray(0, bytesRead));
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  } finally {
    ctx.scratch.push(buf);
  }
  const closing = fh.close();
  closing.catch(() => undefined);
  return { data, closing };
}

async function putFile(ctx: Ctx, src: string, dst: string, st: Stats): Promise<void> {
  const attrs = localAttrs(st);
  let start = 0;
  if (ctx.o.resume) start = Math.min(st.size, (await ctx.client.stat(dst).catch(() => ({ size: 0 }))).size ?? 0);
  // Not truncated at open (OPEN_FOR_PUT); without resume the length is set at the end, unless the file is new.
  const cut = !ctx.o.resume && !isNew(ctx, dst);
  // The local and the remote open overlap: one round trip and one thread-pool job at once.
  const [local, remote] = await Promise.allSettled([
    localSource(src, st.size),
    ctx.client.open(dst, OPEN_FOR_PUT, ctx.o.preserve ? { permissions: attrs.permissions } : {}, { blockSize: ctx.blockSize }),
  ]);
  const source = local.status === 'fulfilled' ? local.value : null;
  const file = remote.status === 'fulfilled' ? remote.value : null;
  try {
    if (file && !source && !ctx.o.resume) await dropNewRemote(ctx, file, dst);
    if (!source || !file) throw local.status === 'rejected' ? local.reason : (remote as PromiseRejectedResult).reason;
    const progress = ctx.o.progressHandler;
    // A file within one block: its one WRITE goes with the FSETSTAT and CLOSE (sftp-file.ts writeFinal).
    const oneBlock = st.size - start < ctx.blockSize;
    const finalAttrs = (size: number): SFTPAttrs | undefined =>
      ctx.o.preserve || cut ? { ...(ctx.o.preserve ? attrs : {}), ...(cut ? { size } : {}) } : undefined;
    let closedWithLastWrite = false;
    const sink: BlockSink = oneBlock
      ? {
        writeAt: async (offset, bytes) => {
          const data = joined(bytes);
          if (offset + data.length !== st.size || closedWithLastWrite) return file.writeBlock(offset, data);
          closedWithLastWrite = true;
          await file.writeFinal(offset, data, finalAttrs(st.size));
        },
        close: () => file.close(),
      }
      : remoteSink(file);
    const length = await pump(source, sink, {
      start, size: st.size, blockSize: ctx.blockSize, budget: ctx.budget,
      onProgress: progress && ((n) => progress(src, dst, n, st.size)),
    });
    const last = finalAttrs(length);
    if (!closedWithLastWrite && last) await file.setstat(last);
  } catch (e) {
    await closeBoth(() => source?.close() ?? Promise.resolve(), () => file?.close() ?? Promise.resolve()).catch(() => undefined);
    throw e;
  }
  await closeBoth(() => source.close(), () => file.close());
}

// ---- copy (remote to remote on the same server) ----

export async function copy(client: SFTPClient, srcPaths: string | string[], dstPath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o, true);
  const srcs = o.glob ? await client.glob(srcPaths) : asList(srcPaths);
  const dstIsDir = dstPath !== undefined && (await client.isdir(dstPath));
  if (srcs.length > 1 && dstPath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${dstPath} must be a directory for several sources`);
  await runSources(ctx, srcs, (src) => client.stat(src), async (src, attrs) => {
    const base = posix.basename(src);
    const dst = dstPath === undefined ? base : dstIsDir ? posix.join(dstPath, base) : dstPath;
    await copyEntry(ctx, src, dst, attrs);
  });
}

const preserved = (a: SFTPAttrs): SFTPAttrs => ({ permissions: a.permissions, atime: a.atime, mtime: a.mtime });

/** Walks one remote entry: directories here, in order; files and symlinks as jobs. */
async function copyEntry(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs): Promise<Started> {
  const c = ctx.client;
  if (!isDirAttrs(attrs)) return submit(ctx, () => copyFile(ctx, src, dst, attrs));
  if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
  await makeRemoteDir(c, dst);
  const jobs: Started[] = [];
  for await (const n of c.scandir(src)) {
    if (n.filename === '.' || n.filename === '..') continue;
    ctx.pool.check();
    const s = posix.join(src, n.filename);
    const d = posix.join(dst, n.filename);
    await reported(ctx, async () => {
      if (isSymlinkAttrs(n.attrs) && !ctx.o.followSymlinks) jobs.push(await submit(ctx, async () => c.symlink(await c.readlink(s), d)));
      else jobs.push(await copyEntry(ctx, s, d, isSymlinkAttrs(n.attrs) ? await c.stat(s) : n.attrs));
    });
  }
  if (ctx.o.preserve) afterJobs(ctx, jobs, () => c.setstat(dst, preserved(attrs)));
  return WALKED;
}

async function copyFile(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs): Promise<void> {
  const c = ctx.client;
  const from = await c.open(src, 'r', {}, { blockSize: ctx.blockSize });
  try {
    const to = await c.open(dst, 'w', {}, { blockSize: ctx.blockSize });
    try {
      if (c.extensions.has(SftpExt.COPY_DATA)) {
        await c.session.extendedStatus({ name: SftpExt.COPY_DATA, readHandle: from.handle, readOffset: 0, length: 0, writeHandle: to.handle, writeOffset: 0 });
      } else {
        await pump(remoteSource(from), remoteSink(to), { start: 0, size: attrs.size ?? 0, blockSize: ctx.blockSize, budget: ctx.budget });
      }
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
  if (ctx.o.preserve) await c.setstat(dst, preserved(attrs));
}
