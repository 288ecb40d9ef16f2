/**
 * SFTPServer: serves SFTP v3 with the OpenSSH extensions over any byte
 * stream. Requests run concurrently and are answered in completion order
 * (replies on one handle keep request order, as OpenSSH's client needs);
 * every request gets a reply with the status its failure maps to (a bad
 * request gets BAD_MESSAGE, an unknown one OP_UNSUPPORTED); only a framing
 * error or a second INIT ends the session. File-system work goes through an
 * `SFTPFileSystem` (node:fs by default) whose methods an object can override,
 * on local paths produced by `PathMapper` (chroot confinement).
 */
import type { Readable, Writable } from 'node:stream';
import { SftpExt, SFTP_DEFAULT_MAX_RW, SFTP_MAX_PACKET, SFTP_VERSION, FxStatus, FxfFlag } from '../protocol/sftp-constants.js';
import { encodeVfsAttrs, type SFTPAttrs } from '../protocol/sftp-attrs.js';
import { decodeExtRequest, encodeLimits, encodeNamesReply, SUPPORTED_EXTENSIONS, type SftpExtRequest } from '../protocol/sftp-extensions.js';
import { SftpDeframer } from '../protocol/sftp-framing.js';
import { encodeDataHeader, encodeReply, statusReply, type SFTPName } from '../protocol/sftp-replies.js';
import { decodeRequest, peekRequestId, UnknownRequestError, type SftpRequest } from '../protocol/sftp-requests.js';
import { Writer } from '../protocol/wire.js';
import { SFTPError, statusOf } from './sftp-errors.js';
import { LocalFileSystem, namesById, PathMapper, type SFTPFileSystem, type SFTPOpenFile } from './sftp-server-fs.js';
import type { SFTPByteStream } from './sftp-session.js';
import { TickWriter } from './sftp-tick-writer.js';

export interface SFTPServerOptions {
  /** Confine every path to this local directory. */
  chroot?: string;
  /** Where relative paths start (as the client sees it). Default: '/' under chroot, else the process's cwd. */
  home?: string;
  /** Overrides for any file-system operation (AsyncSSH's SFTPServer methods). */
  fs?: Partial<SFTPFileSystem>;
  /** Open file and directory handles per session (default 512). */
  maxHandles?: number;
  /** Largest READ answered, larger requests are clamped (default 261120, as OpenSSH). */
  maxReadLength?: number;
}

/** `append`: opened with APPEND, so each write lands at the end whatever its offset (see onPacket). */
type Handle = { kind: 'file'; file: SFTPOpenFile; append: boolean } | { kind: 'dir'; names: SFTPName[] | null; path: string; pos: number };

const OPS: ReadonlyArray<keyof SFTPFileSystem> = [
  'open', 'read', 'write', 'close', 'fstat', 'fsetstat', 'fsync', 'stat', 'lstat', 'setstat', 'lsetstat', 'listdir',
  'remove', 'mkdir', 'rmdir', 'rename', 'posixRename', 'readlink', 'symlink', 'link', 'statvfs',
];

/** The default file system with any operation replaced by `overrides` (shared with the SCP server). */
export function mergeFs(overrides: Partial<SFTPFileSystem> | undefined): SFTPFileSystem {
  const base = new LocalFileSystem();
  if (!overrides) return base;
  const out = {} as Record<string, unknown>;
  for (const op of OPS) {
    const o = overrides[op];
    out[op] = typeof o === 'function' ? o.bind(overrides) : base[op].bind(base);
  }
  return out as unknown as SFTPFileSystem;
}

const NAMES_PER_READDIR = 100;

export class SFTPServer {
  private readonly fs: SFTPFileSystem;
  private readonly maxHandles: number;
  private readonly maxRead: number;

  constructor(private readonly options: SFTPServerOptions = {}) {
    this.fs = mergeFs(options.fs);
    this.maxHandles = options.maxHandles ?? 512;
    this.maxRead = Math.min(options.maxReadLength ?? SFTP_DEFAULT_MAX_RW, SFTP_DEFAULT_MAX_RW);
  }

  /** Serves one session until the stream ends; resolves then, after closing every handle. */
  serve(stream: SFTPByteStream): Promise<void> {
    const halves = 'readable' in stream && typeof stream.readable === 'object'
      ? (stream as { readable: Readable; writable: Writable })
      : { readable: stream as Readable, writable: stream as unknown as Writable };
    return new SftpServerSession(this.fs, new PathMapper(this.options), this.maxHandles, this.maxRead, halves.readable, halves.writable).run();
  }
}

class SftpServerSession {
  private readonly deframer = new SftpDeframer(SFTP_MAX_PACKET);
  private readonly handles = new Map<string, Handle>();
  /** Per handle: resolves once the replies to every request so far on it were sent. */
  private readonly handleOrder = new Map<string, Promise<void>>();
  private nextHandle = 1;
  private initialised = false;
  private ended = false;
  private readonly out: TickWriter;
  private inflight = 0;
  private finish: () => void = () => undefined;

  constructor(
    private readonly fs: SFTPFileSystem,
    private readonly paths: PathMapper,
    private readonly maxHandles: number,
    private readonly maxRead: number,
    private readonly readable: Readable,
    private readonly writable: Writable,
  ) {
    this.out = new TickWriter(writable);
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finish = resolve;
      this.readable.on('data', (chunk: Uint8Array) => this.onData(chunk));
      this.readable.on('end', () => this.end());
      this.readable.on('close', () => this.end());
      this.readable.on('error', () => this.end());
      this.writable.on('error', () => this.end());
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.readable.pause();
    const closing = [...this.handles.values()].map((h) => (h.kind === 'file' ? this.fs.close(h.file).catch(() => undefined) : undefined));
    this.handles.clear();
    Promise.all(closing).then(() => {
      if (!this.writable.writableEnded) this.writable.end();
      this.finish();
    });
  }

  private send(...parts: Uint8Array[]): void {
    if (!this.ended) this.out.write(...parts);
  }

  private onData(chunk: Uint8Array): void {
    if (this.ended) return;
    this.deframer.push(chunk);
    let packet: Uint8Array | null;
    for (;;) {
      try {
        packet = this.deframer.next();
      } catch {
        return this.end(); // A length we cannot trust: the stream is out of step.
      }
      if (!packet) break;
      this.onPacket(packet);
    }
    // Bound memory: stop reading while many requests are still being worked on.
    if (this.inflight > 256) this.readable.pause();
  }

  private onPacket(packet: Uint8Array): void {
    let req: SftpRequest;
    try {
      req = decodeRequest(packet);
    } catch (e) {
      const id = e instanceof UnknownRequestError ? e.id : peekRequestId(packet);
      if (id === null || !this.initialised) return this.end();
      return this.send(statusReply(id, e instanceof UnknownRequestError ? FxStatus.OP_UNSUPPORTED : FxStatus.BAD_MESSAGE));
    }
    if (req.kind === 'init') {
      if (this.initialised) return this.end();
      this.initialised = true;
      return this.send(encodeReply({
        kind: 'version', version: SFTP_VERSION,
        extensions: SUPPORTED_EXTENSIONS.map(([n, v]) => [n, new TextEncoder().encode(v)]),
      }));
    }
    if (!this.initialised) return this.end();
    const id = req.id;
    this.inflight++;
    // Requests on one handle are answered in the order they came, as OpenSSH's
    // sftp-server does: its client takes an EOF status as the end of the file
    // even when the data of an earlier read is still to come (found with scp
    // in SFTP mode: downloads cut at a block boundary). Reads and writes still
    // run concurrently; only their replies wait for the earlier ones. A CLOSE
    // (or anything that is not a read or write) starts only after the earlier
    // requests on its handle are done. So does a write to a file opened with
    // APPEND: it lands at the end whatever its offset, so writes must run in
    // the order they came (OpenSSH's `reput` pipelines them; run at once they
    // landed scrambled on a loaded machine).
    const key = 'handle' in req && req.handle instanceof Uint8Array ? new TextDecoder().decode(req.handle) : null;
    const prev = key === null ? null : (this.handleOrder.get(key) ?? null);
    const target = key === null ? undefined : this.handles.get(key);
    const concurrent = req.kind === 'read' || (req.kind === 'write' && !(target?.kind === 'file' && target.append));
    const work = prev && !concurrent ? prev.then(() => this.handle(req)) : this.handle(req);
    const reply = work.then(
      (r) => () => {
        if (r) this.send(...r);
      },
      (e: unknown) => () => {
        const s = statusOf(e);
        this.send(statusReply(id, s.code, s.message));
      },
    );
    const sent = (prev ? prev.then(() => reply) : reply).then((send) => send());
    if (key !== null) {
      this.handleOrder.set(key, sent);
      void sent.then(() => {
        if (this.handleOrder.get(key) === sent) this.handleOrder.delete(key);
      });
    }
    void sent.finally(() => {
      this.inflight--;
      if (this.inflight <= 64 && !this.ended && this.readable.isPaused()) this.readable.resume();
    });
  }

  private ok(id: number): Uint8Array[] {
    return [statusReply(id, FxStatus.OK)];
  }

  private addHandle(h: Handle): Uint8Array {
    if (this.handles.size >= this.maxHandles) throw new SFTPError(FxStatus.FAILURE, 'too many open handles');
    const key = String(this.nextHandle++);
    this.handles.set(key, h);
    return new TextEncoder().encode(key);
  }

  private getHandle(handle: Uint8Array, kind: Handle['kind']): Handle {
    const h = this.handles.get(new TextDecoder().decode(handle));
    if (!h || h.kind !== kind) throw new SFTPError(FxStatus.FAILURE, 'invalid handle');
    return h;
  }

  private file(handle: Uint8Array): SFTPOpenFile {
    return (this.getHandle(handle, 'file') as { file: SFTPOpenFile }).file;
  }

  private attrsReply(id: number, attrs: SFTPAttrs): Uint8Array[] {
    return [encodeReply({ kind: 'attrs', id, attrs })];
  }

  private nameReply(id: number, filename: string, attrs: SFTPAttrs = {}): Uint8Array[] {
    return [encodeReply({ kind: 'name', id, names: [{ filename, longname: filename, attrs }] })];
  }

  private async handle(req: Exclude<SftpRequest, { kind: 'init' }>): Promise<Uint8Array[] | null> {
    const fs = this.fs;
    const p = this.paths;
    const id = req.id;
    switch (req.kind) {
      case 'open': {
        const file = await fs.open(await p.local(req.filename, true), req.pflags, req.attrs);
        try {
          return [encodeReply({ kind: 'handle', id, handle: this.addHandle({ kind: 'file', file, append: (req.pflags & FxfFlag.APPEND) !== 0 }) })];
        } catch (e) {
          await fs.close(file).catch(() => undefined);
          throw e;
        }
      }
      case 'close': {
        const key = new TextDecoder().decode(req.handle);
        const h = this.handles.get(key);
        if (!h) throw new SFTPError(FxStatus.FAILURE, 'invalid handle');
        this.handles.delete(key);
        if (h.kind === 'file') await fs.close(h.file);
        return this.ok(id);
      }
      case 'read': {
        const data = await fs.read(this.file(req.handle), req.offset, Math.min(req.len, this.maxRead));
        if (data.length === 0) return [statusReply(id, FxStatus.EOF)];
        return [encodeDataHeader(id, data.length), data];
      }
      case 'write':
        await fs.write(this.file(req.handle), req.offset, req.data);
        return this.ok(id);
      case 'fstat':
        return this.attrsReply(id, await fs.fstat(this.file(req.handle)));
      case 'fsetstat':
        await fs.fsetstat(this.file(req.handle), req.attrs);
        return this.ok(id);
      case 'stat':
        return this.attrsReply(id, await fs.stat(await p.local(req.path, true)));
      case 'lstat':
        return this.attrsReply(id, await fs.lstat(await p.local(req.path, false)));
      case 'setstat':
        await fs.setstat(await p.local(req.path, true), req.attrs);
        return this.ok(id);
      case 'opendir': {
        const path = await p.local(req.path, true);
        const st = await fs.stat(path);
        if (st.permissions !== undefined && (st.permissions & 0o170000) !== 0o040000) throw new SFTPError(FxStatus.NO_SUCH_FILE, 'Not a directory');
        return [encodeReply({ kind: 'handle', id, handle: this.addHandle({ kind: 'dir', names: null, path, pos: 0 }) })];
      }
      case 'readdir': {
        const h = this.getHandle(req.handle, 'dir') as Extract<Handle, { kind: 'dir' }>;
        h.names ??= await fs.listdir(h.path);
        if (h.pos >= h.names.length) return [statusReply(id, FxStatus.EOF)];
        const names = h.names.slice(h.pos, h.pos + NAMES_PER_READDIR);
        h.pos += names.length;
        return [encodeReply({ kind: 'name', id, names })];
      }
      case 'remove':
        await fs.remove(await p.local(req.path, false));
        return this.ok(id);
      case 'mkdir':
        await fs.mkdir(await p.local(req.path, false), req.attrs);
        return this.ok(id);
      case 'rmdir':
        await fs.rmdir(await p.local(req.path, false));
        return this.ok(id);
      case 'realpath':
        return this.nameReply(id, await p.realpath(req.path));
      case 'rename':
        await fs.rename(await p.local(req.oldpath, false), await p.local(req.newpath, false));
        return this.ok(id);
      case 'readlink':
        return this.nameReply(id, await fs.readlink(await p.local(req.path, false)));
      case 'symlink':
        await fs.symlink(req.targetpath, await p.local(req.linkpath, false));
        return this.ok(id);
      case 'extended': {
        let ext: SftpExtRequest | null;
        try {
          ext = decodeExtRequest(req.name, req.data);
        } catch {
          return [statusReply(id, FxStatus.BAD_MESSAGE)];
        }
        if (!ext) return [statusReply(id, FxStatus.OP_UNSUPPORTED, `unsupported extension ${req.name}`)];
        return this.extended(id, ext);
      }
    }
  }

  private async extended(id: number, ext: SftpExtRequest): Promise<Uint8Array[]> {
    const fs = this.fs;
    const p = this.paths;
    const reply = (data: Uint8Array): Uint8Array[] => [encodeReply({ kind: 'extendedReply', id, data })];
    switch (ext.name) {
      case SftpExt.POSIX_RENAME:
        await fs.posixRename(await p.local(ext.oldpath, false), await p.local(ext.newpath, false));
        return this.ok(id);
      case SftpExt.HARDLINK:
        await fs.link(await p.local(ext.oldpath, false), await p.local(ext.newpath, false));
        return this.ok(id);
      case SftpExt.STATVFS:
        return reply(encodeVfsAttrs(new Writer(96), await fs.statvfs(await p.local(ext.path, true))).toBytes());
      case SftpExt.FSTATVFS: {
        this.file(ext.handle);
        return reply(encodeVfsAttrs(new Writer(96), await fs.statvfs(p.toLocal(p.root !== null ? '/' : p.home))).toBytes());
      }
      case SftpExt.FSYNC:
        await fs.fsync(this.file(ext.handle));
        return this.ok(id);
      case SftpExt.LSETSTAT:
        await fs.lsetstat(await p.local(ext.path, false), ext.attrs);
        return this.ok(id);
      case SftpExt.LIMITS:
        return reply(encodeLimits({ maxPacketLength: SFTP_MAX_PACKET, maxReadLength: this.maxRead, maxWriteLength: SFTP_DEFAULT_MAX_RW, maxOpenHandles: this.maxHandles }));
      case SftpExt.EXPAND_PATH:
        return this.nameReply(id, await p.realpath(await p.expandTilde(ext.path)));
      case SftpExt.HOME_DIRECTORY:
        return this.nameReply(id, await p.homeOf(ext.username));
      case SftpExt.USERS_GROUPS_BY_ID: {
        const n = await namesById(ext.uids, ext.gids);
        return reply(encodeNamesReply(n.users, n.groups));
      }
      case SftpExt.COPY_DATA: {
        const from = this.file(ext.readHandle);
        const to = this.file(ext.writeHandle);
        if (from === to) throw new SFTPError(FxStatus.FAILURE, 'copy-data: read and write handles are the same');
        let done = 0;
        while (ext.length === 0 || done < ext.length) {
          const want = ext.length === 0 ? this.maxRead : Math.min(this.maxRead, ext.length - done);
          const data = await fs.read(from, ext.readOffset + done, want);
          if (data.length === 0) break;
          await fs.write(to, ext.writeOffset + done, data);
          done += data.length;
        }
        return this.ok(id);
      }
    }
  }
}
