/**
 * The client side of one SFTP session over a byte stream: INIT/VERSION,
 * request ids, pipelined requests matched to replies by id in any order, and
 * typed expectations on the replies. Packets sent in the same tick go out in
 * one corked write (TickWriter). A malformed reply or the end of the stream fails every
 * outstanding request with SFTPConnectionLost and ends the session.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import type { SFTPAttrs } from '../protocol/sftp-attrs.js';
import { decodeVfsAttrs, type SFTPVFSAttrs } from '../protocol/sftp-attrs.js';
import { FxStatus, SFTP_DEFAULT_MAX_RW, SFTP_MAX_PACKET, SFTP_MIN_RW, SFTP_VERSION, SftpExt } from '../protocol/sftp-constants.js';
import { decodeLimits, encodeExtRequest, type SftpExtRequest, type SftpLimits } from '../protocol/sftp-extensions.js';
import { SftpDeframer } from '../protocol/sftp-framing.js';
import { decodeDataParts, decodeReply, type SFTPName, type SftpReply } from '../protocol/sftp-replies.js';
import { encodeRequest, type SftpRequest } from '../protocol/sftp-requests.js';
import { Reader } from '../protocol/wire.js';
import { joinParts } from '../protocol/wire.js';
import { SFTPConnectionLost, SFTPError, SFTPOpUnsupported } from './sftp-errors.js';
import { TickWriter } from './sftp-tick-writer.js';

/** A Duplex, or separate readable/writable halves (a child's stdout/stdin). */
export type SFTPByteStream = Duplex | { readable: Readable; writable: Writable };

/** A DATA reply kept in the pieces it arrived in (see `dataParts`). */
type DataParts = { kind: 'dataParts'; id: number; parts: Uint8Array[]; length: number };
type Reply = SftpReply | DataParts;
type Waiter = { resolve: (r: Reply) => void; reject: (e: Error) => void };
/** Builds the request for an id: the generic form, or framed bytes (hot paths). */
type Build = (id: number) => SftpRequest | Uint8Array | Uint8Array[];

function halves(stream: SFTPByteStream): { readable: Readable; writable: Writable } {
  if ('readable' in stream && 'writable' in stream && typeof stream.readable === 'object' && typeof stream.writable === 'object') {
    return { readable: stream.readable as Readable, writable: stream.writable as Writable };
  }
  const d = stream as Duplex;
  return { readable: d, writable: d };
}

export class SftpSession {
  readonly readable: Readable;
  readonly writable: Writable;
  version = 0;
  /** Extensions the server advertised: name -> version data. */
  readonly extensions = new Map<string, string>();
  limits: SftpLimits = { maxPacketLength: 34000, maxReadLength: SFTP_MIN_RW, maxWriteLength: SFTP_MIN_RW, maxOpenHandles: 0 };
  private readonly pending = new Map<number, Waiter>();
  private versionWaiter: Waiter | null = null;
  private nextId = 0;
  private readonly deframer = new SftpDeframer(SFTP_MAX_PACKET + 1024);
  private failure: Error | null = null;
  private readonly out: TickWriter;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(stream: SFTPByteStream) {
    const { readable, writable } = halves(stream);
    this.readable = readable;
    this.writable = writable;
    this.out = new TickWriter(writable);
    readable.on('data', (chunk: Uint8Array) => this.onData(chunk));
    readable.on('end', () => this.fail(new SFTPConnectionLost('SFTP stream ended')));
    readable.on('close', () => this.fail(new SFTPConnectionLost('SFTP stream closed')));
    readable.on('error', (e: Error) => this.fail(new SFTPConnectionLost(`SFTP stream error: ${e.message}`, { cause: e })));
    if ((writable as unknown) !== readable) writable.on('error', (e: Error) => this.fail(new SFTPConnectionLost(`SFTP stream error: ${e.message}`, { cause: e })));
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Sends INIT, waits for VERSION, then asks for the server's limits when it offers them. */
  async start(): Promise<void> {
    const version = await new Promise<Reply>((resolve, reject) => {
      this.versionWaiter = { resolve, reject };
      this.send(encodeRequest({ kind: 'init', version: SFTP_VERSION, extensions: [] }));
    });
    if (version.kind !== 'version') throw new SFTPError(FxStatus.BAD_MESSAGE, 'expected SSH_FXP_VERSION');
    this.version = version.version;
    if (this.version < 3) throw new SFTPError(FxStatus.OP_UNSUPPORTED, `SFTP version ${this.version} is not supported`);
    for (const [name, data] of version.extensions) this.extensions.set(name, new TextDecoder().decode(data));
    if (this.extensions.has(SftpExt.LIMITS)) {
      const l = decodeLimits(await this.extended({ name: SftpExt.LIMITS }));
      // 0 means "no specific limit": keep conservative defaults there.
      this.limits = {
        maxPacketLength: l.maxPacketLength || SFTP_MAX_PACKET,
        maxReadLength: Math.min(l.maxReadLength || SFTP_DEFAULT_MAX_RW, SFTP_DEFAULT_MAX_RW),
        maxWriteLength: Math.min(l.maxWriteLength || SFTP_DEFAULT_MAX_RW, SFTP_DEFAULT_MAX_RW),
        maxOpenHandles: l.maxOpenHandles,
      };
    }
  }

  has(ext: string): boolean {
    return this.extensions.has(ext);
  }

  /** Sends one request and resolves with its reply (any kind). */
  async request(build: Build): Promise<SftpReply> {
    const r = await this.send1(build);
    return r.kind === 'dataParts' ? { kind: 'data', id: r.id, data: joinParts(r.parts) } : r;
  }

  private send1(build: Build): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    const out = build(id);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (out instanceof Uint8Array) this.send(out);
      else if (Array.isArray(out)) for (const b of out) this.send(b);
      else this.send(encodeRequest(out));
    });
  }

  /** Resolves when the writable side has room again (for bounded pipelines). */
  drained(): Promise<void> {
    if (!this.writable.writableNeedDrain || this.failure) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.writable.off('drain', done);
        this.writable.off('close', done);
        resolve();
      };
      this.writable.on('drain', done);
      this.writable.on('close', done);
    });
  }

  async status(build: Build): Promise<void> {
    expectStatus(await this.request(build));
  }

  async handle(build: Build): Promise<Uint8Array> {
    const r = await this.send1(build);
    if (r.kind === 'handle') return r.handle;
    throw unexpected(r, 'HANDLE');
  }

  async attrs(build: Build): Promise<SFTPAttrs> {
    const r = await this.request(build);
    if (r.kind === 'attrs') return r.attrs;
    throw unexpected(r, 'ATTRS');
  }

  /** NAME entries, or null on EOF status (end of a directory listing). */
  async names(build: Build): Promise<SFTPName[] | null> {
    const r = await this.request(build);
    if (r.kind === 'name') return r.names;
    if (r.kind === 'status' && r.code === FxStatus.EOF) return null;
    throw unexpected(r, 'NAME');
  }

  /** DATA bytes, or null on EOF status. */
  async data(build: Build): Promise<Uint8Array | null> {
    const r = await this.request(build);
    if (r.kind === 'data') return r.data;
    if (r.kind === 'status' && r.code === FxStatus.EOF) return null;
    throw unexpected(r, 'DATA');
  }

  /**
   * DATA bytes as the pieces they arrived in (views of the channel's
   * chunks, not joined: a file sink writes them with one writev), or null
   * on EOF status.
   */
  async dataParts(build: Build): Promise<Uint8Array[] | null> {
    const r = await this.send1(build);
    if (r.kind === 'dataParts') return r.parts;
    if (r.kind === 'data') return [r.data];
    if (r.kind === 'status' && r.code === FxStatus.EOF) return null;
    throw unexpected(r, 'DATA');
  }

  /** An OpenSSH extension request answered by EXTENDED_REPLY; OP_UNSUPPORTED locally when not advertised. */
  async extended(req: SftpExtRequest): Promise<Uint8Array> {
    this.requireExt(req.name);
    const r = await this.request((id) => ({ kind: 'extended', id, name: req.name, data: encodeExtRequest(req) }));
    if (r.kind === 'extendedReply') return r.data;
    throw unexpected(r, 'EXTENDED_REPLY');
  }

  async extendedStatus(req: SftpExtRequest): Promise<void> {
    this.requireExt(req.name);
    await this.status((id) => ({ kind: 'extended', id, name: req.name, data: encodeExtRequest(req) }));
  }

  async extendedNames(req: SftpExtRequest): Promise<SFTPName[]> {
    this.requireExt(req.name);
    const n = await this.names((id) => ({ kind: 'extended', id, name: req.name, data: encodeExtRequest(req) }));
    if (!n) throw new SFTPError(FxStatus.EOF, 'End of file');
    return n;
  }

  async statvfs(req: SftpExtRequest): Promise<SFTPVFSAttrs> {
    const data = await this.extended(req);
    const r = new Reader(data, 'statvfs reply');
    const v = decodeVfsAttrs(r);
    r.end();
    return v;
  }

  requireExt(name: string): void {
    if (!this.extensions.has(name)) throw new SFTPOpUnsupported(`the server does not support ${name}`);
  }

  /** Ends the session: outstanding requests fail, the writable side is ended. */
  close(): void {
    this.fail(new SFTPConnectionLost('SFTP session closed'));
  }

  /** Resolves once the session has ended for any reason. */
  waitClosed(): Promise<void> {
    if (this.failure) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private send(b: Uint8Array): void {
    this.out.write(b);
  }

  private onData(chunk: Uint8Array): void {
    if (this.failure) return;
    this.deframer.push(chunk);
    try {
      for (let p = this.deframer.nextParts(); p; p = this.deframer.nextParts()) {
        if (p.length === 1) this.dispatch(decodeReply(p[0]!));
        else {
          const d = decodeDataParts(p);
          this.dispatch(d ? { kind: 'dataParts', ...d } : decodeReply(Buffer.concat(p)));
        }
      }
    } catch (e) {
      this.fail(new SFTPConnectionLost(`bad SFTP reply: ${(e as Error).message}`, { cause: e }));
    }
  }

  private dispatch(rep: Reply): void {
    if (rep.kind === 'version') {
      const w = this.versionWaiter;
      if (!w) throw new SFTPError(FxStatus.BAD_MESSAGE, 'unexpected SSH_FXP_VERSION');
      this.versionWaiter = null;
      w.resolve(rep);
      return;
    }
    const w = this.pending.get(rep.id);
    if (!w) throw new SFTPError(FxStatus.BAD_MESSAGE, `reply for unknown request id ${rep.id}`);
    this.pending.delete(rep.id);
    w.resolve(rep);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const waiters = [...this.pending.values()];
    this.pending.clear();
    if (this.versionWaiter) waiters.push(this.versionWaiter);
    this.versionWaiter = null;
    for (const w of waiters) w.reject(err);
    if (!this.writable.writableEnded) this.writable.end();
    for (const r of this.closeWaiters.splice(0)) r();
  }
}

export function expectStatus(r: SftpReply): void {
  if (r.kind === 'status' && r.code === FxStatus.OK) return;
  throw unexpected(r, 'STATUS');
}

function unexpected(r: Reply, wanted: string): SFTPError {
  if (r.kind === 'status') return new SFTPError(r.code, r.message || undefined, r.lang);
  return new SFTPError(FxStatus.BAD_MESSAGE, `expected ${wanted}, got ${r.kind === 'dataParts' ? 'data' : r.kind}`);
}
