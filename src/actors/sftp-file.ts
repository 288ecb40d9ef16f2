/**
 * SFTPFile: an open remote file (AsyncSSH's SFTPClientFile). Reads and
 * writes larger than one block are split into many outstanding requests;
 * `createReadStream`/`createWriteStream` adapt it to Node streams with a
 * bounded number of requests in flight.
 */
import { Readable, Writable } from 'node:stream';
import type { SFTPAttrs, SFTPVFSAttrs } from '../protocol/sftp-attrs.js';
import { FxStatus, SftpExt } from '../protocol/sftp-constants.js';
import { encodeReadRequest, encodeWriteHeader } from '../protocol/sftp-requests.js';
import { SFTPError } from './sftp-errors.js';
import type { SftpSession } from './sftp-session.js';

export interface SFTPFileOptions {
  blockSize?: number;
  maxRequests?: number;
  append?: boolean;
}

const textDecoder = new TextDecoder();

export class SFTPFile {
  private position = 0;
  private closed = false;
  readonly blockSize: number;
  readonly maxRequests: number;
  private readonly append: boolean;

  constructor(private readonly session: SftpSession, readonly handle: Uint8Array, options: SFTPFileOptions = {}) {
    this.blockSize = options.blockSize ?? Math.min(session.limits.maxReadLength, session.limits.maxWriteLength);
    this.maxRequests = options.maxRequests ?? 64;
    this.append = options.append ?? false;
  }

  /** One READ request: up to `len` bytes at `offset`, or null at end of file. */
  readBlock(offset: number, len: number): Promise<Uint8Array | null> {
    this.check();
    return this.session.data((id) => encodeReadRequest(id, this.handle, offset, len));
  }

  /** As readBlock, the bytes as the pieces they arrived in (not joined). */
  readBlockParts(offset: number, len: number): Promise<Uint8Array[] | null> {
    this.check();
    return this.session.dataParts((id) => encodeReadRequest(id, this.handle, offset, len));
  }

  /** One WRITE request; `data` must fit in the server's write limit. */
  writeBlock(offset: number, data: Uint8Array): Promise<void> {
    this.check();
    return this.session.status((id) => [encodeWriteHeader(id, this.handle, offset, data.length), data]);
  }

  /**
   * The last WRITE of a file, sent in the same tick as an FSETSTAT (when
   * `attrs` is given) and the CLOSE, so they leave in one packet and cost
   * one round trip, not three. The server runs requests on one handle in
   * order (OpenSSH's sftp-server serially; SFTPServer by handle), so only
   * the caller must ensure no other request on this file is still to be
   * sent. The file is closed afterwards whatever the outcome; the first
   * failure in request order is thrown (a failed WRITE, not the CLOSE).
   */
  async writeFinal(offset: number, data: Uint8Array, attrs?: SFTPAttrs): Promise<void> {
    this.check();
    this.closed = true;
    const sent = data.length > 0 ? [this.session.status((id) => [encodeWriteHeader(id, this.handle, offset, data.length), data])] : [];
    if (attrs) sent.push(this.session.status((id) => ({ kind: 'fsetstat', id, handle: this.handle, attrs })));
    sent.push(this.session.status((id) => ({ kind: 'close', id, handle: this.handle })));
    for (const r of await Promise.allSettled(sent)) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * Reads `size` bytes (-1: to end of file) from `offset` (default: the
   * current position, which then advances). Fewer bytes only at end of file.
   */
  async read(size = -1, offset?: number): Promise<Uint8Array> {
    const start = offset ?? this.position;
    let want = size;
    if (want < 0) want = Math.max(0, ((await this.stat()).size ?? 0) - start);
    const blocks: Array<Uint8Array | null> = [];
    let eof = false;
    let next = start;
    const end = start + want;
    const worker = async (): Promise<void> => {
      while (!eof && next < end) {
        const at = next;
        const len = Math.min(this.blockSize, end - at);
        next += len;
        const idx = Math.floor((at - start) / this.blockSize);
        const chunk = await this.readAt(at, len);
        blocks[idx] = chunk;
        if (chunk.length < len) eof = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxRequests, Math.ceil(want / this.blockSize) || 1) }, worker));
    // Stop at the first short block: bytes past a hole at EOF are not returned.
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const b of blocks) {
      if (!b) break;
      parts.push(b);
      total += b.length;
      if (b.length < this.blockSize) break;
    }
    const out = Buffer.concat(parts, total);
    if (offset === undefined) this.position = start + out.length;
    // Size -1 reads to the EOF seen now: continue if the file grew meanwhile.
    if (size < 0 && out.length === want && want > 0) {
      const more = await this.read(-1, start + out.length);
      if (more.length) {
        if (offset === undefined) this.position += more.length;
        return Buffer.concat([out, more]);
      }
    }
    return out;
  }

  /** Reads `len` bytes at `offset`, following short replies, stopping early only at EOF. */
  async readAt(offset: number, len: number): Promise<Uint8Array> {
    const first = await this.readBlock(offset, len);
    if (!first) return new Uint8Array(0);
    if (first.length >= len) return first;
    const parts = [first];
    let got = first.length;
    while (got < len) {
      const more = await this.readBlock(offset + got, len - got);
      if (!more || more.length === 0) break;
      parts.push(more);
      got += more.length;
    }
    return Buffer.concat(parts, got);
  }

  async readText(size = -1, offset?: number): Promise<string> {
    return textDecoder.decode(await this.read(size, offset));
  }

  /** Writes all of `data` at `offset` (default: the current position), with many requests in flight. */
  async write(data: Uint8Array | string, offset?: number): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const start = offset ?? this.position;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bytes.length) {
        const at = next;
        const len = Math.min(this.blockSize, bytes.length - at);
        next += len;
        await this.writeBlock(start + at, bytes.subarray(at, at + len));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxRequests, Math.ceil(bytes.length / this.blockSize) || 1) }, worker));
    if (offset === undefined) this.position = this.append ? this.position : start + bytes.length;
    return bytes.length;
  }

  /** Moves the position: from 0 = start, 1 = current, 2 = end (stat). Returns the new position. */
  async seek(offset: number, from: 0 | 1 | 2 = 0): Promise<number> {
    let base = 0;
    if (from === 1) base = this.position;
    else if (from === 2) base = (await this.stat()).size ?? 0;
    const pos = base + offset;
    if (!Number.isSafeInteger(pos) || pos < 0) throw new RangeError(`seek: invalid resulting position ${pos}`);
    this.position = pos;
    return pos;
  }

  tell(): number {
    return this.position;
  }

  stat(): Promise<SFTPAttrs> {
    this.check();
    return this.session.attrs((id) => ({ kind: 'fstat', id, handle: this.handle }));
  }

  async setstat(attrs: SFTPAttrs): Promise<void> {
    this.check();
    await this.session.status((id) => ({ kind: 'fsetstat', id, handle: this.handle, attrs }));
  }

  truncate(size?: number): Promise<void> {
    return this.setstat({ size: size ?? this.position });
  }

  chmod(mode: number): Promise<void> {
    return this.setstat({ permissions: mode });
  }

  chown(uid: number, gid: number): Promise<void> {
    return this.setstat({ uid, gid });
  }

  utime(times?: [number, number]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const [atime, mtime] = times ?? [now, now];
    return this.setstat({ atime, mtime });
  }

  statvfs(): Promise<SFTPVFSAttrs> {
    this.check();
    return this.session.statvfs({ name: SftpExt.FSTATVFS, handle: this.handle });
  }

  async fsync(): Promise<void> {
    this.check();
    await this.session.extendedStatus({ name: SftpExt.FSYNC, handle: this.handle });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.session.closed) return;
    await this.session.status((id) => ({ kind: 'close', id, handle: this.handle }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A Readable of the file from `start` (default 0) to `end` (exclusive, default EOF), `maxRequests` blocks ahead. */
  createReadStream(options: { start?: number; end?: number; autoClose?: boolean } = {}): Readable {
    let next = options.start ?? 0;
    const end = options.end ?? Infinity;
    const ahead: Array<{ len: number; data: Promise<Uint8Array> }> = [];
    let eof = false;
    const fill = (): void => {
      while (!eof && ahead.length < this.maxRequests && next < end) {
        const len = Math.min(this.blockSize, end - next);
        const data = this.readAt(next, len);
        data.catch(() => undefined);
        ahead.push({ len, data });
        next += len;
      }
    };
    const finish = async (): Promise<void> => {
      if (options.autoClose ?? true) await this.close();
    };
    const stream: Readable = new Readable({
      highWaterMark: this.blockSize,
      read: (): void => {
        fill();
        const head = ahead.shift();
        if (!head) {
          finish().then(() => stream.push(null), (e: Error) => stream.destroy(e));
          return;
        }
        head.data.then((chunk) => {
          if (chunk.length < head.len) {
            // Short only at end of file: drop the requests beyond it.
            eof = true;
            ahead.length = 0;
          }
          if (chunk.length > 0) stream.push(chunk);
          else finish().then(() => stream.push(null), (e: Error) => stream.destroy(e));
        }, (e: Error) => stream.destroy(e));
      },
      destroy: (err, cb): void => {
        eof = true;
        ahead.length = 0;
        finish().then(() => cb(err), () => cb(err));
      },
    });
    return stream;
  }

  /** A Writable appending to the file from `start` (default 0); each chunk is one or more WRITE requests in flight. */
  createWriteStream(options: { start?: number; autoClose?: boolean } = {}): Writable {
    let at = options.start ?? 0;
    const inflight = new Set<Promise<void>>();
    let failure: Error | null = null;
    const send = async (chunk: Uint8Array): Promise<void> => {
      for (let o = 0; o < chunk.length; o += this.blockSize) {
        const part = chunk.subarray(o, o + this.blockSize);
        const p = this.writeBlock(at, part);
        at += part.length;
        inflight.add(p);
        p.then(() => inflight.delete(p), (e: Error) => {
          inflight.delete(p);
          failure ??= e;
        });
        while (inflight.size >= this.maxRequests) await Promise.race(inflight).catch(() => undefined);
        if (failure) throw failure;
      }
    };
    return new Writable({
      highWaterMark: this.blockSize,
      write: (chunk: Buffer, _enc, cb): void => {
        send(chunk).then(() => cb(), (e: Error) => cb(e));
      },
      final: (cb): void => {
        Promise.allSettled(inflight).then(async () => {
          if (failure) throw failure;
          if (options.autoClose ?? true) await this.close();
        }).then(() => cb(), (e: Error) => cb(e));
      },
    });
  }

  private check(): void {
    if (this.closed) throw new SFTPError(FxStatus.FAILURE, 'I/O operation on a closed SFTP file');
  }
}
