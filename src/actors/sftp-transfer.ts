/**
 * High-level SFTP transfers (AsyncSSH's get/put/copy and their m* forms):
 * recursion, preserve, symlinks, error and progress handlers, resume, and
 * pipelined blocks through sftp-pump.ts. A recursive get trusts nothing the
 * server names: entries with '/', '.', '..', NUL or empty names are refused,
 * as are symlinks whose target leaves the local destination, and local
 * files are opened without following a symlink at the last component.
 */
import { lstat, mkdir, readdir, readlink, stat, symlink, utimes, chmod } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, resolve as resolveLocal, sep } from 'node:path';
import type { SFTPAttrs } from '../protocol/sftp-attrs.js';
import { isDirAttrs, isRegularAttrs, isSymlinkAttrs } from '../protocol/sftp-attrs.js';
import { FxfFlag, FxStatus, SftpExt } from '../protocol/sftp-constants.js';
import type { SFTPClient } from './sftp-client.js';
import { SFTPError } from './sftp-errors.js';
import { globLocal } from './sftp-glob.js';
import { localSink, localSource, pump, remoteSink, remoteSource, RequestBudget } from './sftp-pump.js';

export interface TransferOptions {
  recurse?: boolean;
  preserve?: boolean;
  followSymlinks?: boolean;
  /** Called with each per-file error; the transfer continues. Without it the first error is thrown. */
  errorHandler?: (err: Error) => void;
  progressHandler?: (srcPath: string, dstPath: string, bytesDone: number, totalBytes: number) => void;
  /** Bytes per request (default: the server's read/write limit). */
  blockSize?: number;
  /** Requests in flight across the whole transfer (default 64). */
  maxRequests?: number;
  /** Files transferred at once in recursive and multi-file transfers (default 8). */
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
  files: RequestBudget;
}

function context(client: SFTPClient, o: TransferOptions): Ctx {
  const limit = Math.min(client.limits.maxReadLength, client.limits.maxWriteLength);
  const blockSize = o.blockSize ?? limit;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize: expected a positive integer, got ${blockSize}`);
  return { client, o, blockSize: Math.min(blockSize, limit), budget: new RequestBudget(o.maxRequests ?? 64), files: new RequestBudget(o.maxFiles ?? 8) };
}

const asList = (p: string | string[]): string[] => (Array.isArray(p) ? p : [p]);

function report(ctx: Ctx, e: unknown): void {
  if (ctx.o.errorHandler) ctx.o.errorHandler(e as Error);
  else throw e;
}

/** A name from a directory listing that is safe to use as one local path component. */
export function isSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && !name.includes('\\') && !name.includes('\uFFFD');
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

/** Runs `fn` on every item concurrently; file tokens are taken only around single-file transfers, never nested. */
async function forEachItem<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let failure: unknown = null;
  await Promise.all(items.map((item) => fn(item).catch((e: unknown) => {
    failure ??= e;
  })));
  if (failure !== null) throw failure;
}

async function withFileToken<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  await ctx.files.acquire();
  try {
    return await fn();
  } finally {
    ctx.files.release();
  }
}

// ---- get ----

export async function get(client: SFTPClient, remotePaths: string | string[], localPath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o);
  const srcs = o.glob ? await client.glob(remotePaths) : asList(remotePaths);
  const dstIsDir = localPath !== undefined && (await stat(localPath).then((s) => s.isDirectory(), () => false));
  if (srcs.length > 1 && localPath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${localPath} must be a directory for several sources`);
  await forEachItem(srcs, async (src) => {
    const base = posix.basename(src.replace(/\/+$/, '')) || '.';
    const dst = localPath === undefined ? base : dstIsDir ? join(localPath, base) : localPath;
    try {
      const attrs = await client.stat(src);
      await getEntry(ctx, src, dst, attrs, resolveLocal(dirname(dst)));
    } catch (e) {
      report(ctx, e);
    }
  });
}

async function getEntry(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs, root: string): Promise<void> {
  if (!inside(root, resolveLocal(dst))) throw new SFTPError(FxStatus.PERMISSION_DENIED, `refusing to write ${dst} outside ${root}`);
  if (isDirAttrs(attrs)) {
    if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
    const existing = await lstat(dst).catch(() => null);
    if (existing && !existing.isDirectory()) throw new SFTPError(FxStatus.FAILURE, `${dst} exists and is not a directory`);
    if (!existing) await mkdir(dst);
    const entries = (await ctx.client.readdir(src)).filter((n) => n.filename !== '.' && n.filename !== '..');
    const jobs: Array<() => Promise<void>> = [];
    for (const n of entries) {
      if (!isSafeName(n.filename)) {
        report(ctx, new SFTPError(FxStatus.PERMISSION_DENIED, `refusing unsafe name ${JSON.stringify(n.filename)} from the server in ${src}`));
        continue;
      }
      const s = posix.join(src, n.filename);
      const d = join(dst, n.filename);
      jobs.push(async () => {
        try {
          let a = n.attrs;
          if (isSymlinkAttrs(a)) {
            if (ctx.o.followSymlinks) a = await ctx.client.stat(s);
            else return await getSymlink(ctx, s, d, root);
          }
          await getEntry(ctx, s, d, a, root);
        } catch (e) {
          report(ctx, e);
        }
      });
    }
    // All entries at once: the file budget bounds how many files are open.
    await Promise.all(jobs.map((j) => j()));
    if (ctx.o.preserve) await setLocalAttrs(dst, attrs);
    return;
  }
  if (!isRegularAttrs(attrs) && attrs.permissions !== undefined) throw new SFTPError(FxStatus.FAILURE, `${src} is not a regular file`);
  await withFileToken(ctx, () => getFile(ctx, src, dst, attrs));
}

async function getSymlink(ctx: Ctx, src: string, dst: string, root: string): Promise<void> {
  const target = await ctx.client.readlink(src);
  const resolved = resolveLocal(dirname(dst), target);
  if (target.startsWith('/') || !inside(root, resolved)) {
    throw new SFTPError(FxStatus.PERMISSION_DENIED, `refusing symlink ${src} -> ${target}: it points outside the destination`);
  }
  await symlink(target, dst);
}

async function getFile(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs): Promise<void> {
  const file = await ctx.client.open(src, 'r', {}, { blockSize: ctx.blockSize });
  try {
    const size = attrs.size ?? (await file.stat()).size ?? 0;
    const { sink, size: have } = await localSink(dst, { resume: ctx.o.resume ?? false, mode: attrs.permissions !== undefined ? attrs.permissions & 0o777 : undefined });
    try {
      const progress = ctx.o.progressHandler;
      await pump(remoteSource(file), sink, {
        start: Math.min(have, size), size, blockSize: ctx.blockSize, budget: ctx.budget,
        onProgress: progress && ((n) => progress(src, dst, n, size)),
      });
    } finally {
      await sink.close();
    }
  } finally {
    await file.close().catch(() => undefined);
  }
  if (ctx.o.preserve) await setLocalAttrs(dst, attrs);
}

async function setLocalAttrs(path: string, a: SFTPAttrs): Promise<void> {
  if (a.permissions !== undefined) await chmod(path, a.permissions & 0o7777);
  if (a.atime !== undefined && a.mtime !== undefined) await utimes(path, a.atime, a.mtime);
}

// ---- put ----

export async function put(client: SFTPClient, localPaths: string | string[], remotePath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o);
  const srcs = o.glob ? await globLocal(localPaths) : asList(localPaths);
  const dstIsDir = remotePath !== undefined && (await client.isdir(remotePath));
  if (srcs.length > 1 && remotePath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${remotePath} must be a directory for several sources`);
  await forEachItem(srcs, async (src) => {
    const base = basename(src);
    const dst = remotePath === undefined ? base : dstIsDir ? posix.join(remotePath, base) : remotePath;
    try {
      await putEntry(ctx, src, dst, true);
    } catch (e) {
      report(ctx, e);
    }
  });
}

async function putEntry(ctx: Ctx, src: string, dst: string, top: boolean): Promise<void> {
  const st = top || ctx.o.followSymlinks ? await stat(src) : await lstat(src);
  if (st.isSymbolicLink()) {
    await ctx.client.symlink(await readlink(src), dst);
    return;
  }
  const attrs: SFTPAttrs = { permissions: st.mode & 0o7777, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isDirectory()) {
    if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
    if (!(await ctx.client.isdir(dst))) await ctx.client.mkdir(dst);
    const names = (await readdir(src)).sort();
    await Promise.all(names.map(async (name) => {
      try {
        await putEntry(ctx, join(src, name), posix.join(dst, name), false);
      } catch (e) {
        report(ctx, e);
      }
    }));
    if (ctx.o.preserve) await ctx.client.setstat(dst, attrs);
    return;
  }
  if (!st.isFile()) throw new SFTPError(FxStatus.FAILURE, `${src} is not a regular file`);
  await withFileToken(ctx, () => putFile(ctx, src, dst, st.size, attrs));
}

async function putFile(ctx: Ctx, src: string, dst: string, size: number, attrs: SFTPAttrs): Promise<void> {
  const { source } = await localSource(src);
  try {
    let start = 0;
    if (ctx.o.resume) start = Math.min(size, (await ctx.client.stat(dst).catch(() => ({ size: 0 }))).size ?? 0);
    const flags = ctx.o.resume ? FxfFlag.WRITE | FxfFlag.CREAT : 'w';
    const file = await ctx.client.open(dst, flags, ctx.o.preserve ? { permissions: attrs.permissions } : {}, { blockSize: ctx.blockSize });
    try {
      const progress = ctx.o.progressHandler;
      await pump(source, remoteSink(file), {
        start, size, blockSize: ctx.blockSize, budget: ctx.budget,
        onProgress: progress && ((n) => progress(src, dst, n, size)),
      });
      if (ctx.o.preserve) await file.setstat(attrs);
    } finally {
      await file.close();
    }
  } finally {
    await source.close();
  }
}

// ---- copy (remote to remote on the same server) ----

export async function copy(client: SFTPClient, srcPaths: string | string[], dstPath: string | undefined, o: TransferOptions): Promise<void> {
  const ctx = context(client, o);
  const srcs = o.glob ? await client.glob(srcPaths) : asList(srcPaths);
  const dstIsDir = dstPath !== undefined && (await client.isdir(dstPath));
  if (srcs.length > 1 && dstPath !== undefined && !dstIsDir) throw new SFTPError(FxStatus.FAILURE, `${dstPath} must be a directory for several sources`);
  await forEachItem(srcs, async (src) => {
    const base = posix.basename(src);
    const dst = dstPath === undefined ? base : dstIsDir ? posix.join(dstPath, base) : dstPath;
    try {
      await copyEntry(ctx, src, dst, await client.stat(src));
    } catch (e) {
      report(ctx, e);
    }
  });
}

async function copyEntry(ctx: Ctx, src: string, dst: string, attrs: SFTPAttrs): Promise<void> {
  const c = ctx.client;
  if (isDirAttrs(attrs)) {
    if (!ctx.o.recurse) throw new SFTPError(FxStatus.FAILURE, `${src} is a directory`);
    if (!(await c.isdir(dst))) await c.mkdir(dst);
    for (const n of await c.readdir(src)) {
      if (n.filename === '.' || n.filename === '..') continue;
      const s = posix.join(src, n.filename);
      const d = posix.join(dst, n.filename);
      try {
        if (isSymlinkAttrs(n.attrs) && !ctx.o.followSymlinks) await c.symlink(await c.readlink(s), d);
        else await copyEntry(ctx, s, d, isSymlinkAttrs(n.attrs) ? await c.stat(s) : n.attrs);
      } catch (e) {
        report(ctx, e);
      }
    }
  } else {
    const from = await c.open(src, 'r', {}, { blockSize: ctx.blockSize });
    try {
      const to = await c.open(dst, 'w', {}, { blockSize: ctx.blockSize });
      try {
        if (c.extensions.has(SftpExt.COPY_DATA)) {
          await c.session.extendedStatus({ name: SftpExt.COPY_DATA, readHandle: from.handle, readOffset: 0, length: 0, writeHandle: to.handle, writeOffset: 0 });
        } else {
          const size = attrs.size ?? 0;
          await pump(remoteSource(from), remoteSink(to), { start: 0, size, blockSize: ctx.blockSize, budget: ctx.budget });
        }
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
  }
  if (ctx.o.preserve) await c.setstat(dst, { permissions: attrs.permissions, atime: attrs.atime, mtime: attrs.mtime });
}
