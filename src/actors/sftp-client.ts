/**
 * SFTPClient: AsyncSSH's SFTP client API in camelCase over any byte stream
 * (an SSH session channel running the `sftp` subsystem, or a child
 * process's stdio). File and directory operations live here; bulk transfers
 * in sftp-transfer.ts, pattern matching in sftp-glob.ts.
 */
import { posix } from 'node:path';
import type { SFTPAttrs, SFTPVFSAttrs } from '../protocol/sftp-attrs.js';
import { isDirAttrs, isRegularAttrs, isSymlinkAttrs } from '../protocol/sftp-attrs.js';
import { FxfFlag, FxStatus, SftpExt } from '../protocol/sftp-constants.js';
import { decodeNamesReply, type SftpLimits } from '../protocol/sftp-extensions.js';
import type { SFTPName } from '../protocol/sftp-replies.js';
import { SFTPError } from './sftp-errors.js';
import { SFTPFile, type SFTPFileOptions } from './sftp-file.js';
import { globRemote } from './sftp-glob.js';
import { SftpSession, type SFTPByteStream } from './sftp-session.js';
import * as transfer from './sftp-transfer.js';

export type { SFTPAttrs, SFTPVFSAttrs, SFTPName, SFTPByteStream };
export { SFTPFile, SFTPError };

/** AsyncSSH/Python open modes; 'b' is accepted and ignored. */
const MODES: Record<string, number> = {
  r: FxfFlag.READ,
  'r+': FxfFlag.READ | FxfFlag.WRITE,
  w: FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.TRUNC,
  'w+': FxfFlag.READ | FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.TRUNC,
  a: FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.APPEND,
  'a+': FxfFlag.READ | FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.APPEND,
  x: FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.EXCL,
  'x+': FxfFlag.READ | FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.EXCL,
};

export function openFlags(mode: string | number): number {
  if (typeof mode === 'number') return mode;
  const m = MODES[mode.replace('b', '')];
  if (m === undefined) throw new TypeError(`open: unknown mode ${JSON.stringify(mode)}`);
  return m;
}

const notFound = (e: unknown): boolean => e instanceof SFTPError && e.status === FxStatus.NO_SUCH_FILE;

export class SFTPClient {
  readonly session: SftpSession;
  private cwd: string | null = null;

  /** Wraps a stream; call `start()` (or use `SFTPClient.start`) before any request. */
  constructor(stream: SFTPByteStream) {
    this.session = new SftpSession(stream);
  }

  static async start(stream: SFTPByteStream): Promise<SFTPClient> {
    const c = new SFTPClient(stream);
    try {
      await c.start();
    } catch (e) {
      c.exit();
      throw e;
    }
    return c;
  }

  start(): Promise<void> {
    return this.session.start();
  }

  get version(): number {
    return this.session.version;
  }

  get extensions(): ReadonlyMap<string, string> {
    return this.session.extensions;
  }

  get limits(): SftpLimits {
    return this.session.limits;
  }

  /** Joins a relative path to the directory set by chdir. */
  compose(path: string): string {
    if (typeof path !== 'string') throw new TypeError('path: expected a string');
    if (this.cwd === null || path.startsWith('/')) return path;
    return path === '' || path === '.' ? this.cwd : posix.join(this.cwd, path);
  }

  async open(path: string, mode: string | number = 'r', attrs: SFTPAttrs = {}, options: SFTPFileOptions = {}): Promise<SFTPFile> {
    const pflags = openFlags(mode);
    const filename = this.compose(path);
    const handle = await this.session.handle((id) => ({ kind: 'open', id, filename, pflags, attrs }));
    return new SFTPFile(this.session, handle, { ...options, append: (pflags & FxfFlag.APPEND) !== 0 });
  }

  stat(path: string, options: { followSymlinks?: boolean } = {}): Promise<SFTPAttrs> {
    const p = this.compose(path);
    const kind = options.followSymlinks === false ? 'lstat' : 'stat';
    return this.session.attrs((id) => ({ kind, id, path: p }));
  }

  lstat(path: string): Promise<SFTPAttrs> {
    return this.stat(path, { followSymlinks: false });
  }

  async setstat(path: string, attrs: SFTPAttrs, options: { followSymlinks?: boolean } = {}): Promise<void> {
    const p = this.compose(path);
    if (options.followSymlinks === false) return this.session.extendedStatus({ name: SftpExt.LSETSTAT, path: p, attrs });
    await this.session.status((id) => ({ kind: 'setstat', id, path: p, attrs }));
  }

  chmod(path: string, mode: number, options: { followSymlinks?: boolean } = {}): Promise<void> {
    return this.setstat(path, { permissions: mode }, options);
  }

  chown(path: string, uid: number, gid: number, options: { followSymlinks?: boolean } = {}): Promise<void> {
    return this.setstat(path, { uid, gid }, options);
  }

  /** Sets [atime, mtime] in seconds (default: now). */
  utime(path: string, times?: [number, number], options: { followSymlinks?: boolean } = {}): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const [atime, mtime] = times ?? [now, now];
    return this.setstat(path, { atime, mtime }, options);
  }

  truncate(path: string, size: number): Promise<void> {
    return this.setstat(path, { size });
  }

  /** SSH_FXP_RENAME: fails if `newpath` exists (draft semantics). */
  async rename(oldpath: string, newpath: string): Promise<void> {
    const o = this.compose(oldpath);
    const n = this.compose(newpath);
    await this.session.status((id) => ({ kind: 'rename', id, oldpath: o, newpath: n }));
  }

  /** posix-rename@openssh.com: replaces `newpath` atomically. */
  posixRename(oldpath: string, newpath: string): Promise<void> {
    return this.session.extendedStatus({ name: SftpExt.POSIX_RENAME, oldpath: this.compose(oldpath), newpath: this.compose(newpath) });
  }

  async remove(path: string): Promise<void> {
    const p = this.compose(path);
    await this.session.status((id) => ({ kind: 'remove', id, path: p }));
  }

  unlink(path: string): Promise<void> {
    return this.remove(path);
  }

  async mkdir(path: string, attrs: SFTPAttrs = {}): Promise<void> {
    const p = this.compose(path);
    await this.session.status((id) => ({ kind: 'mkdir', id, path: p, attrs }));
  }

  /** Creates `path` and any missing parents; an existing directory is fine when existOk. */
  async makedirs(path: string, options: { attrs?: SFTPAttrs; existOk?: boolean } = {}): Promise<void> {
    const full = this.compose(path);
    const parts = full.split('/').filter((c) => c !== '');
    let cur = full.startsWith('/') ? '/' : '';
    let created = false;
    for (const part of parts) {
      cur = cur === '' ? part : posix.join(cur, part);
      const st = await this.stat(cur).catch((e: unknown) => {
        if (notFound(e)) return null;
        throw e;
      });
      if (st && !isDirAttrs(st)) throw new SFTPError(FxStatus.FAILURE, `${cur} exists and is not a directory`);
      if (!st) {
        await this.mkdir(cur, options.attrs ?? {});
        created = true;
      }
    }
    if (!created && !options.existOk) throw new SFTPError(FxStatus.FAILURE, `${full} already exists`);
  }

  async rmdir(path: string): Promise<void> {
    const p = this.compose(path);
    await this.session.status((id) => ({ kind: 'rmdir', id, path: p }));
  }

  /** Removes a directory tree; symlinks are removed, never followed. */
  async rmtree(path: string, options: { ignoreErrors?: boolean; onError?: (op: string, path: string, err: Error) => void } = {}): Promise<void> {
    const onError = (op: string, p: string, e: unknown): void => {
      if (options.ignoreErrors) return;
      if (options.onError) options.onError(op, p, e as Error);
      else throw e;
    };
    const walk = async (dir: string): Promise<void> => {
      let entries: SFTPName[] = [];
      try {
        entries = await this.readdir(dir);
      } catch (e) {
        onError('readdir', dir, e);
        return;
      }
      await Promise.all(entries.filter((n) => n.filename !== '.' && n.filename !== '..').map(async (n) => {
        const p = posix.join(dir, n.filename);
        if (isDirAttrs(n.attrs)) return walk(p);
        try {
          await this.remove(p);
        } catch (e) {
          onError('remove', p, e);
        }
      }));
      try {
        await this.rmdir(dir);
      } catch (e) {
        onError('rmdir', dir, e);
      }
    };
    const st = await this.lstat(path).catch((e: unknown) => {
      onError('lstat', path, e);
      return null;
    });
    if (!st) return;
    if (isSymlinkAttrs(st)) return onError('rmtree', path, new SFTPError(FxStatus.FAILURE, 'cannot call rmtree on a symbolic link'));
    await walk(this.compose(path));
  }

  /** Every entry of a directory, '.' and '..' included as the server sends them. */
  async readdir(path = '.'): Promise<SFTPName[]> {
    const out: SFTPName[] = [];
    for await (const n of this.scandir(path)) out.push(n);
    return out;
  }

  /** Entry names without '.' and '..'. */
  async listdir(path = '.'): Promise<string[]> {
    return (await this.readdir(path)).map((n) => n.filename).filter((f) => f !== '.' && f !== '..').sort();
  }

  async *scandir(path = '.'): AsyncGenerator<SFTPName> {
    const p = this.compose(path);
    const handle = await this.session.handle((id) => ({ kind: 'opendir', id, path: p }));
    try {
      for (;;) {
        const names = await this.session.names((id) => ({ kind: 'readdir', id, handle }));
        if (!names) return;
        yield* names;
      }
    } finally {
      if (!this.session.closed) await this.session.status((id) => ({ kind: 'close', id, handle })).catch(() => undefined);
    }
  }

  /** Remote paths matching shell patterns (`*`, `?`, `[...]`, `**` for any depth). */
  glob(patterns: string | string[]): Promise<string[]> {
    return globRemote(this, patterns);
  }

  async realpath(path: string): Promise<string> {
    const p = this.compose(path);
    const names = await this.session.names((id) => ({ kind: 'realpath', id, path: p }));
    if (!names || names.length !== 1) throw new SFTPError(FxStatus.BAD_MESSAGE, 'REALPATH: expected exactly one name');
    return names[0]!.filename;
  }

  /** expand-path@openssh.com: `~` and `~user` expansion, then canonicalised. */
  async expandPath(path: string): Promise<string> {
    const names = await this.session.extendedNames({ name: SftpExt.EXPAND_PATH, path });
    return names[0]!.filename;
  }

  /** The home directory of `username` ('' = the session's user), by the home-directory extension. */
  async homeDirectory(username = ''): Promise<string> {
    const names = await this.session.extendedNames({ name: SftpExt.HOME_DIRECTORY, username });
    return names[0]!.filename;
  }

  async usersGroupsById(uids: number[], gids: number[]): Promise<{ users: string[]; groups: string[] }> {
    return decodeNamesReply(await this.session.extended({ name: SftpExt.USERS_GROUPS_BY_ID, uids, gids }));
  }

  async readlink(path: string): Promise<string> {
    const p = this.compose(path);
    const names = await this.session.names((id) => ({ kind: 'readlink', id, path: p }));
    if (!names || names.length !== 1) throw new SFTPError(FxStatus.BAD_MESSAGE, 'READLINK: expected exactly one name');
    return names[0]!.filename;
  }

  /** Creates `newpath` as a symbolic link pointing at `oldpath` (AsyncSSH order). */
  async symlink(oldpath: string, newpath: string): Promise<void> {
    const linkpath = this.compose(newpath);
    await this.session.status((id) => ({ kind: 'symlink', id, linkpath, targetpath: oldpath }));
  }

  /** hardlink@openssh.com. */
  link(oldpath: string, newpath: string): Promise<void> {
    return this.session.extendedStatus({ name: SftpExt.HARDLINK, oldpath: this.compose(oldpath), newpath: this.compose(newpath) });
  }

  statvfs(path: string): Promise<SFTPVFSAttrs> {
    return this.session.statvfs({ name: SftpExt.STATVFS, path: this.compose(path) });
  }

  private async probe(path: string, follow = true): Promise<SFTPAttrs | null> {
    try {
      return await this.stat(path, { followSymlinks: follow });
    } catch (e) {
      if (notFound(e) || (e instanceof SFTPError && e.status === FxStatus.PERMISSION_DENIED)) return null;
      throw e;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.probe(path)) !== null;
  }

  async lexists(path: string): Promise<boolean> {
    return (await this.probe(path, false)) !== null;
  }

  async isdir(path: string): Promise<boolean> {
    const a = await this.probe(path);
    return a !== null && isDirAttrs(a);
  }

  async isfile(path: string): Promise<boolean> {
    const a = await this.probe(path);
    return a !== null && isRegularAttrs(a);
  }

  async islink(path: string): Promise<boolean> {
    const a = await this.probe(path, false);
    return a !== null && isSymlinkAttrs(a);
  }

  async getsize(path: string): Promise<number> {
    return (await this.stat(path)).size ?? 0;
  }

  async getatime(path: string): Promise<number | undefined> {
    return (await this.stat(path)).atime;
  }

  async getmtime(path: string): Promise<number | undefined> {
    return (await this.stat(path)).mtime;
  }

  /** Changes the directory relative paths are resolved against (checked with realpath). */
  async chdir(path: string): Promise<void> {
    const p = await this.realpath(path);
    if (!(await this.isdir(p))) throw new SFTPError(FxStatus.NO_SUCH_FILE, `${p} is not a directory`);
    this.cwd = p;
  }

  async getcwd(): Promise<string> {
    if (this.cwd === null) this.cwd = await this.realpath('.');
    return this.cwd;
  }

  get(remotePaths: string | string[], localPath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.get(this, remotePaths, localPath, options);
  }

  put(localPaths: string | string[], remotePath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.put(this, localPaths, remotePath, options);
  }

  copy(srcPaths: string | string[], dstPath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.copy(this, srcPaths, dstPath, options);
  }

  mget(remotePaths: string | string[], localPath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.get(this, remotePaths, localPath, { ...options, glob: true });
  }

  mput(localPaths: string | string[], remotePath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.put(this, localPaths, remotePath, { ...options, glob: true });
  }

  mcopy(srcPaths: string | string[], dstPath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.copy(this, srcPaths, dstPath, { ...options, glob: true });
  }

  /** Continues partial downloads: each local file keeps its bytes, the rest is fetched. */
  reget(remotePaths: string | string[], localPath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.get(this, remotePaths, localPath, { ...options, resume: true });
  }

  /** Continues partial uploads from the size of each remote file. */
  reput(localPaths: string | string[], remotePath?: string, options: transfer.TransferOptions = {}): Promise<void> {
    return transfer.put(this, localPaths, remotePath, { ...options, resume: true });
  }

  /** Ends the session (outstanding requests fail with SFTPConnectionLost). */
  exit(): void {
    this.session.close();
  }

  close(): void {
    this.exit();
  }

  waitClosed(): Promise<void> {
    return this.session.waitClosed();
  }

  [Symbol.dispose](): void {
    this.exit();
  }
}
