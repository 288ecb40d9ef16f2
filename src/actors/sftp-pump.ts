/**
 * The block pump behind get/put/copy: many reads in flight from a source,
 * each written to the destination at its offset as it arrives. Requests
 * across all files of one transfer share one budget (`RequestBudget`), so
 * memory stays at about blockSize × maxRequests however many files move.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { SFTPFile } from './sftp-file.js';
import { joinParts, partsLength } from '../protocol/wire.js';

/** Bytes in one piece, or in the pieces a DATA reply arrived in (written with one writev, never joined). */
export type Bytes = Uint8Array | readonly Uint8Array[];

export function bytesLength(b: Bytes): number {
  return b instanceof Uint8Array ? b.length : partsLength(b);
}

export function joined(b: Bytes): Uint8Array {
  return b instanceof Uint8Array ? b : joinParts(b);
}

export interface BlockSource {
  /**
   * Up to `len` bytes at `offset`, in one request: a reply may be short (a
   * server's own limit, or end of file); empty means end of file.
   */
  readAt(offset: number, len: number): Promise<Bytes>;
  /** The bytes of a read were written to the sink (and acknowledged): their memory may be reused. */
  recycle?(data: Bytes): void;
  close(): Promise<void>;
}

export interface BlockSink {
  writeAt(offset: number, data: Bytes): Promise<void>;
  close(): Promise<void>;
}

/**
 * A counting semaphore for requests in flight, optionally also bounding the
 * bytes they carry. Tokens handed back reach the waiters `batch` at a time
 * (or all at once when every token is back): the requests they start are
 * sent in the same tick and so leave in one socket write. Measured on a
 * 256 MiB get: one READ per write cost a loopback write (and a wake-up of
 * sshd) per 255 KiB block, ~15 % of the client's time.
 *
 * `maxBytes` caps the bytes of the requests in flight (a request larger
 * than the cap goes alone). Used for writes: see WRITE_BYTES_IN_FLIGHT.
 */
export class RequestBudget {
  private free: number;
  private bytesFree: number;
  private readonly waiters: Array<{ bytes: number; go: () => void }> = [];
  readonly batch: number;
  constructor(readonly size: number, batch = 1, readonly maxBytes = Infinity) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxRequests: expected a positive integer, got ${size}`);
    if (!(maxBytes > 0)) throw new RangeError(`maxBytes: expected a positive number, got ${maxBytes}`);
    this.free = size;
    this.bytesFree = maxBytes;
    this.batch = Math.max(1, Math.min(size, Math.floor(batch)));
  }
  /** Waits for a token (and room for `bytes`, when the budget counts bytes). */
  async acquire(bytes = 0): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return;
    }
    await new Promise<void>((go) => this.waiters.push({ bytes, go }));
  }
  /** Hands back a token and the `bytes` it was acquired with. */
  release(bytes = 0): void {
    this.free++;
    this.bytesFree += bytes;
    if (this.free < this.batch && this.free < this.size) return;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.take(w.bytes);
      w.go();
    }
  }
  private fits(bytes: number): boolean {
    return this.free > 0 && (bytes <= this.bytesFree || this.bytesFree === this.maxBytes);
  }
  private take(bytes: number): void {
    this.free--;
    this.bytesFree -= bytes;
  }
}

/**
 * WRITE data in flight per transfer (the bytes of a put's requests not yet
 * answered). OpenSSH's sshd gives a session channel a 2 MiB window; a client
 * that keeps it full (as 16 x 255 KiB did, and `sftp`'s 64 x 32 KiB does)
 * leaves up to 2 MiB queued inside sshd on its way to sftp-server, and sshd
 * then spent 1.3-2.2 s of CPU per 256 MiB against 0.5-0.8 s with 1 MiB in
 * flight, while the client sat window-blocked (load-tests/README.md,
 * session 4). Half the window keeps sftp-server busy without that queue.
 */
export const WRITE_BYTES_IN_FLIGHT = 1 << 20;

export interface PumpOptions {
  start: number;
  /** Expected size (stat); reading continues past it while full blocks come back (the file grew). */
  size: number;
  blockSize: number;
  budget: RequestBudget;
  onProgress?: (bytesDone: number) => void;
}

/**
 * Copies source -> sink from `start` until end of file; returns the final
 * length. Every request asks for a whole block, the last one too: a short
 * reply that reaches the expected size is the end of the file, so a small
 * file costs one read, not a read and an end-of-file probe. A short reply
 * before the expected size is followed by a request for the rest of its
 * block (a server may answer less than asked); a full block at or past the
 * expected size means the file grew, and reading goes on one block at a
 * time until a short reply.
 */
export async function pump(src: BlockSource, dst: BlockSink, o: PumpOptions): Promise<number> {
  let next = o.start;
  let eofAt = Infinity;
  let done = o.start;
  let failure: unknown = null;
  const block = async (at: number): Promise<void> => {
    let got = 0;
    while (got < o.blockSize && at + got < eofAt) {
      const data = await src.readAt(at + got, o.blockSize - got);
      const n = bytesLength(data);
      if (n > 0) await dst.writeAt(at + got, data);
      src.recycle?.(data);
      got += n;
      done += n;
      if (n > 0) o.onProgress?.(done);
      if (n === 0 || (got < o.blockSize && at + got >= o.size)) {
        eofAt = Math.min(eofAt, at + got);
        return;
      }
    }
  };
  const slot = async (): Promise<void> => {
    while (failure === null && next < Math.max(o.size, o.start + 1) && next < eofAt) {
      const at = next;
      // The block's expected length (a byte-bounded budget counts it): all of it, or the rest of the file.
      const weight = Math.min(o.blockSize, Math.max(o.size - at, 1));
      next += o.blockSize;
      await o.budget.acquire(weight);
      try {
        if (failure === null) await block(at);
      } catch (e) {
        failure ??= e;
      } finally {
        o.budget.release(weight);
      }
    }
  };
  const slots = Math.max(1, Math.min(64, Math.ceil((o.size - o.start) / o.blockSize)));
  await Promise.all(Array.from({ length: slots }, slot));
  if (failure !== null) throw failure;
  // Every block up to the expected size came back full: the file grew; follow it.
  for (let at = next; eofAt === Infinity; at += o.blockSize) await block(at);
  return eofAt;
}

export function remoteSource(file: SFTPFile): BlockSource {
  return { readAt: async (offset, len) => (await file.readBlockParts(offset, len)) ?? EMPTY, close: () => file.close() };
}

const EMPTY = new Uint8Array(0);

export function remoteSink(file: SFTPFile): BlockSink {
  return {
    writeAt: async (offset, bytes) => {
      const data = joined(bytes);
      for (let o = 0; o < data.length; o += file.blockSize) await file.writeBlock(offset + o, data.subarray(o, o + file.blockSize));
    },
    close: () => file.close(),
  };
}

/** A local file to read blocks from, expected to hold `size` bytes (buffers are sized by it). */
export async function localSource(path: string, size: number): Promise<BlockSource> {
  return fileHandleSource(await open(path, constants.O_RDONLY), size);
}

/**
 * One pread per block (a regular file reads short only at its end), into a
 * buffer no larger than the expected rest of the file plus one byte, so a
 * small file does not cost a whole block; that byte shows when the file
 * grew, and the rest of the block is read then.
 */
function fileHandleSource(fh: FileHandle, size: number): BlockSource {
  // Whole-block buffers are reused once their WRITE was answered: a big put
  // otherwise allocates (and collects) a fresh 255 KiB buffer per block.
  const free: Buffer[] = [];
  const owned = new Set<ArrayBufferLike>();
  let blockLen = 0;
  const readInto = async (offset: number, len: number): Promise<Buffer> => {
    let buf = len === blockLen ? free.pop() : undefined;
    if (!buf) {
      buf = Buffer.allocUnsafeSlow(len);
      if (len >= 65536 && owned.size < 64) {
        if (blockLen !== len) {
          blockLen = len;
          owned.clear();
          free.length = 0;
        }
        owned.add(buf.buffer);
      }
    }
    const { bytesRead } = await fh.read(buf, 0, len, offset);
    return buf.subarray(0, bytesRead);
  };
  return {
    readAt: async (offset, len) => {
      const want = Math.min(len, Math.max(size - offset, 0) + 1);
      const first = await readInto(offset, want);
      if (first.length < want || want === len) return first;
      return Buffer.concat([first, await readInto(offset + want, len - want)]);
    },
    recycle: (data) => {
      if (data instanceof Uint8Array && owned.has(data.buffer)) free.push(Buffer.from(data.buffer, 0, blockLen));
    },
    close: () => fh.close(),
  };
}

/** A local file opened for writing without following a symlink at its last component; `exclusive`: only a new one. */
export async function localSink(path: string, options: { resume: boolean; mode?: number; exclusive?: boolean }): Promise<{ sink: BlockSink; size: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (options.resume ? 0 : constants.O_TRUNC) | (options.exclusive ? constants.O_EXCL : 0);
  const fh = await open(path, flags, options.mode ?? 0o666);
  const size = options.resume ? (await fh.stat()).size : 0;
  return {
    size,
    sink: {
      writeAt: async (offset, bytes) => {
        let data: Uint8Array;
        if (bytes instanceof Uint8Array) data = bytes;
        else {
          // A whole reply in one writev; a short write (rare for a regular file) finishes joined.
          const n = bytesLength(bytes);
          const { bytesWritten } = await fh.writev(bytes as Uint8Array[], offset);
          if (bytesWritten === n) return;
          data = joined(bytes).subarray(bytesWritten);
          offset += bytesWritten;
        }
        let put = 0;
        while (put < data.length) {
          const { bytesWritten } = await fh.write(data, put, data.length - put, offset + put);
          put += bytesWritten;
        }
      },
      close: () => fh.close(),
    },
  };
}
