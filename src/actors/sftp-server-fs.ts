/**
 * The file-system side of SFTPServer: the operations a server performs on
 * already-mapped local paths (`SFTPFileSystem`, every method overridable),
 * the default one on node:fs, and `PathMapper`, which turns client paths
 * into local ones. Under a chroot the mapper resolves every component
 * itself, expanding each symlink inside the virtual tree (an absolute target
 * starts again at the root, '..' stops at the root), so no path, link or
 * link chain — whether the client made it or it was already there — can
 * name anything outside; a sibling sharing the root's prefix is never
 * reachable because local paths are built by joining, not by prefix tests.
 */
import { constants, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import { posix, resolve as resolveLocal } from 'node:path';
import type { SFTPAttrs, SFTPVFSAttrs } from '../protocol/sftp-attrs.js';
import { longname } from '../protocol/sftp-attrs.js';
import { FxfFlag, FxStatus } from '../protocol/sftp-constants.js';
import type { SFTPName } from '../protocol/sftp-replies.js';
import { SFTPError } from './sftp-errors.js';

/** An open file as the file system sees it (opaque to the server core). */
export type SFTPOpenFile = unknown;

export interface SFTPFileSystem {
  open(path: string, pflags: number, attrs: SFTPAttrs): Promise<SFTPOpenFile>;
  /** Up to `len` bytes at `offset`; an empty result means end of file. */
  read(file: SFTPOpenFile, offset: number, len: number): Promise<Uint8Array>;
  write(file: SFTPOpenFile, offset: number, data: Uint8Array): Promise<void>;
  close(file: SFTPOpenFile): Promise<void>;
  fstat(file: SFTPOpenFile): Promise<SFTPAttrs>;
  fsetstat(file: SFTPOpenFile, attrs: SFTPAttrs): Promise<void>;
  fsync(file: SFTPOpenFile): Promise<void>;
  stat(path: string): Promise<SFTPAttrs>;
  lstat(path: string): Promise<SFTPAttrs>;
  setstat(path: string, attrs: SFTPAttrs): Promise<void>;
  lsetstat(path: string, attrs: SFTPAttrs): Promise<void>;
  /** Directory entries ('.' and '..' included) with their lstat attributes. */
  listdir(path: string): Promise<SFTPName[]>;
  remove(path: string): Promise<void>;
  mkdir(path: string, attrs: SFTPAttrs): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Fails when `newpath` exists (SSH_FXP_RENAME). */
  rename(oldpath: string, newpath: string): Promise<void>;
  posixRename(oldpath: string, newpath: string): Promise<void>;
  readlink(path: string): Promise<string>;
  /** Creates `linkpath` pointing at `target` (stored as given). */
  symlink(target: string, linkpath: string): Promise<void>;
  link(oldpath: string, newpath: string): Promise<void>;
  statvfs(path: string): Promise<SFTPVFSAttrs>;
}

export function statsToAttrs(st: Stats): SFTPAttrs {
  return {
    size: st.size, uid: st.uid, gid: st.gid, permissions: st.mode,
    atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000),
  };
}

export function openFlagsToNode(pflags: number): number {
  const rw = pflags & (FxfFlag.READ | FxfFlag.WRITE);
  let f = rw === (FxfFlag.READ | FxfFlag.WRITE) ? constants.O_RDWR : rw === FxfFlag.WRITE ? constants.O_WRONLY : constants.O_RDONLY;
  if (pflags & FxfFlag.APPEND) f |= constants.O_APPEND;
  if (pflags & FxfFlag.CREAT) f |= constants.O_CREAT;
  if (pflags & FxfFlag.TRUNC) f |= constants.O_TRUNC;
  if (pflags & FxfFlag.EXCL) f |= constants.O_EXCL;
  return f;
}

async function applyAttrs(a: SFTPAttrs, ops: {
  truncate(n: number): Promise<void>; chmod(m: number): Promise<void>; chown(u: number, g: number): Promise<void>; utimes(a: number, m: number): Promise<void>;
}): Promise<void> {
  if (a.size !== undefined) await ops.truncate(a.size);
  if (a.uid !== undefined && a.gid !== undefined) await ops.chown(a.uid, a.gid);
  if (a.permissions !== undefined) await ops.chmod(a.permissions & 0o7777);
  if (a.atime !== undefined && a.mtime !== undefined) await ops.utimes(a.atime, a.mtime);
}

const fh = (f: SFTPOpenFile): fsp.FileHandle => f as fsp.FileHandle;

/** The default file system: node:fs on local paths. */
export class LocalFileSystem implements SFTPFileSystem {
  async open(path: string, pflags: number, attrs: SFTPAttrs): Promise<SFTPOpenFile> {
    return fsp.open(path, openFlagsToNode(pflags), attrs.permissions !== undefined ? attrs.permissions & 0o7777 : 0o666);
  }
  async read(file: SFTPOpenFile, offset: number, len: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh(file).read(buf, 0, len, offset);
    return buf.subarray(0, bytesRead);
  }
  async write(file: SFTPOpenFile, offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) done += (await fh(file).write(data, done, data.length - done, offset + done)).bytesWritten;
  }
  close(file: SFTPOpenFile): Promise<void> {
    return fh(file).close();
  }
  async fstat(file: SFTPOpenFile): Promise<SFTPAttrs> {
    return statsToAttrs(await fh(file).stat());
  }
  fsetstat(file: SFTPOpenFile, a: SFTPAttrs): Promise<void> {
    const f = fh(file);
    return applyAttrs(a, { truncate: (n) => f.truncate(n), chmod: (m) => f.chmod(m), chown: (u, g) => f.chown(u, g), utimes: (x, y) => f.utimes(x, y) });
  }
  fsync(file: SFTPOpenFile): Promise<void> {
    return fh(file).sync();
  }
  async stat(path: string): Promise<SFTPAttrs> {
    return statsToAttrs(await fsp.stat(path));
  }
  async lstat(path: string): Promise<SFTPAttrs> {
    return statsToAttrs(await fsp.lstat(path));
  }
  setstat(path: string, a: SFTPAttrs): Promise<void> {
    return applyAttrs(a, { truncate: (n) => fsp.truncate(path, n), chmod: (m) => fsp.chmod(path, m), chown: (u, g) => fsp.chown(path, u, g), utimes: (x, y) => fsp.utimes(path, x, y) });
  }
  async lsetstat(path: string, a: SFTPAttrs): Promise<void> {
    const isLink = (await fsp.lstat(path)).isSymbolicLink();
    return applyAttrs(a, {
      truncate: (n) => (isLink ? Promise.reject(new SFTPError(FxStatus.FAILURE, 'cannot truncate a symbolic link')) : fsp.truncate(path, n)),
      // Linux has no lchmod: a link's own mode cannot be set.
      chmod: (m) => (isLink ? Promise.reject(new SFTPError(FxStatus.OP_UNSUPPORTED, 'cannot chmod a symbolic link')) : fsp.chmod(path, m)),
      chown: (u, g) => fsp.lchown(path, u, g),
      utimes: (x, y) => fsp.lutimes(path, x, y),
    });
  }
  async listdir(path: string): Promise<SFTPName[]> {
    const names = ['.', '..', ...(await fsp.readdir(path))];
    const out: SFTPName[] = [];
    for (const filename of names) {
      const attrs = await fsp.lstat(posix.join(path, filename)).then(statsToAttrs, () => ({}) as SFTPAttrs);
      out.push({ filename, longname: longname(filename, attrs), attrs });
    }
    return out;
  }
  remove(path: string): Promise<void> {
    return fsp.unlink(path);
  }
  async mkdir(path: string, a: SFTPAttrs): Promise<void> {
    await fsp.mkdir(path, a.permissions !== undefined ? a.permissions & 0o7777 : 0o777);
  }
  rmdir(path: string): Promise<void> {
    return fsp.rmdir(path);
  }
  async rename(oldpath: string, newpath: string): Promise<void> {
    if (await fsp.lstat(newpath).then(() => true, () => false)) throw new SFTPError(FxStatus.FAILURE, 'Failure (target exists)');
    await fsp.rename(oldpath, newpath);
  }
  posixRename(oldpath: string, newpath: string): Promise<void> {
    return fsp.rename(oldpath, newpath);
  }
  readlink(path: string): Promise<string> {
    return fsp.readlink(path);
  }
  symlink(target: string, linkpath: string): Promise<void> {
    return fsp.symlink(target, linkpath);
  }
  link(oldpath: string, newpath: string): Promise<void> {
    return fsp.link(oldpath, newpath);
  }
  async statvfs(path: string): Promise<SFTPVFSAttrs> {
    const s = await fsp.statfs(path);
    const b = (n: number): bigint => BigInt(Math.max(0, Math.floor(n)));
    return {
      bsize: b(s.bsize), frsize: b(s.bsize), blocks: b(s.blocks), bfree: b(s.bfree), bavail: b(s.bavail),
      files: b(s.files), ffree: b(s.ffree), favail: b(s.ffree), fsid: 0n, flag: 0n, namemax: 255n,
    };
  }
}

/** Resolves client paths to local ones, optionally confined to a chroot directory. */
export class PathMapper {
  readonly root: string | null;
  /** The session user's home as the client sees it ('~', home-directory). */
  readonly home: string;
  /** The directory relative client paths start from: home under a chroot or when given, else the process's cwd (as sftp-server). */
  readonly cwd: string;

  constructor(options: { chroot?: string; home?: string }) {
    this.root = options.chroot !== undefined ? resolveLocal(options.chroot) : null;
    this.home = options.home ?? (this.root !== null ? '/' : homedir());
    this.cwd = options.home ?? (this.root !== null ? '/' : process.cwd());
    if (!this.home.startsWith('/')) throw new TypeError('home: expected an absolute path');
  }

  /** The local path for a client path; `followLast` also expands a symlink at the last component. */
  async local(path: string, followLast: boolean): Promise<string> {
    if (this.root === null) return posix.resolve(this.cwd, path);
    return this.toLocal(await this.virtual(path, followLast));
  }

  toLocal(virtualPath: string): string {
    if (this.root === null) return virtualPath;
    return virtualPath === '/' ? this.root : this.root + virtualPath;
  }

  /** The canonical path as the client sees it (SSH_FXP_REALPATH): symlinks expanded, a missing last component allowed. */
  async realpath(path: string): Promise<string> {
    if (this.root !== null) return this.virtual(path, true);
    const abs = posix.resolve(this.cwd, path);
    try {
      return await fsp.realpath(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return posix.join(await fsp.realpath(posix.dirname(abs)), posix.basename(abs));
    }
  }

  /** Walks the path component by component inside the root, expanding symlinks virtually. */
  async virtual(path: string, followLast: boolean): Promise<string> {
    if (path.includes('\0')) throw new SFTPError(FxStatus.NO_SUCH_FILE, 'No such file');
    const queue = posix.isAbsolute(path) ? path.split('/') : [...this.cwd.split('/'), ...path.split('/')];
    const resolved: string[] = [];
    let links = 0;
    while (queue.length) {
      const comp = queue.shift()!;
      if (comp === '' || comp === '.') continue;
      if (comp === '..') {
        resolved.pop();
        continue;
      }
      const isLast = queue.every((c) => c === '' || c === '.');
      const candidate = '/' + [...resolved, comp].join('/');
      if (!isLast || followLast) {
        const st = await fsp.lstat(this.toLocal(candidate)).catch(() => null);
        if (st?.isSymbolicLink()) {
          if (++links > 40) throw new SFTPError(FxStatus.NO_SUCH_FILE, 'Too many levels of symbolic links');
          const target = await fsp.readlink(this.toLocal(candidate));
          if (target.startsWith('/')) resolved.length = 0;
          queue.unshift(...target.split('/'));
          continue;
        }
      }
      resolved.push(comp);
    }
    return '/' + resolved.join('/');
  }

  /** Expands `~`, `~/...` and `~user/...` (expand-path@openssh.com). */
  async expandTilde(path: string): Promise<string> {
    if (!path.startsWith('~')) return path;
    const slash = path.indexOf('/');
    const user = path.slice(1, slash < 0 ? undefined : slash);
    const rest = slash < 0 ? '' : path.slice(slash + 1);
    return posix.join(await this.homeOf(user), rest);
  }

  /** The home directory of `username` ('' = this session). Other users are unknown under a chroot. */
  async homeOf(username: string): Promise<string> {
    if (username === '') return this.home;
    if (this.root !== null) throw new SFTPError(FxStatus.NO_SUCH_FILE, `no home directory for ${username}`);
    const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
    for (const line of passwd.split('\n')) {
      const f = line.split(':');
      if (f[0] === username && f[5]) return f[5];
    }
    throw new SFTPError(FxStatus.NO_SUCH_FILE, `no such user ${username}`);
  }
}

/** Names for uids/gids from /etc/passwd and /etc/group ('' when unknown). */
export async function namesById(uids: number[], gids: number[]): Promise<{ users: string[]; groups: string[] }> {
  const table = async (file: string): Promise<Map<number, string>> => {
    const m = new Map<number, string>();
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]!);
    }
    return m;
  };
  const users = await table('/etc/passwd');
  const groups = await table('/etc/group');
  return { users: uids.map((u) => users.get(u) ?? ''), groups: gids.map((g) => groups.get(g) ?? '') };
}

