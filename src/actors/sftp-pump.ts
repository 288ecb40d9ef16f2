/**
 * The block pump behind get/put/copy: many reads in flight from a source,
 * each written to the destination at its offset as it arrives. Requests
 * across all files of one transfer share one budget (`RequestBudget`), so
 * memory stays at about blockSize × maxRequests however many files move.
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { SFTPFile } from './sftp-file.js';

export interface BlockSource {
  /** Up to `len` bytes at `offset`; fewer only at end of file. */
  readAt(offset: number, len: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface BlockSink {
  writeAt(offset: number, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A counting semaphore for requests in flight. */
export class RequestBudget {
  private free: number;
  private readonly waiters: Array<() => void> = [];
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxRequests: expected a positive integer, got ${size}`);
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

export interface PumpOptions {
  start: number;
  /** Expected size (stat); reading continues past it until EOF in case the file grew. */
  size: number;
  blockSize: number;
  budget: RequestBudget;
  onProgress?: (bytesDone: number) => void;
}

/** Copies source -> sink from `start` until EOF; returns the final length. */
export async function pump(src: BlockSource, dst: BlockSink, o: PumpOptions): Promise<number> {
  let next = o.start;
  let eofAt = Infinity;
  let done = o.start;
  let failure: unknown = null;
  const slot = async (): Promise<void> => {
    while (failure === null && next < o.size && next < eofAt) {
      await o.budget.acquire();
      const at = next;
      const len = Math.min(o.blockSize, o.size - at);
      next += len;
      try {
        const data = await src.readAt(at, len);
        if (data.length < len) eofAt = Math.min(eofAt, at + data.length);
        if (data.length > 0) await dst.writeAt(at, data);
        done += data.length;
        o.onProgress?.(done);
      } catch (e) {
        failure ??= e;
      } finally {
        o.budget.release();
      }
    }
  };
  const slots = Math.max(1, Math.min(64, Math.ceil((o.size - o.start) / o.blockSize)));
  await Promise.all(Array.from({ length: slots }, slot));
  if (failure !== null) throw failure;
  if (eofAt !== Infinity) return eofAt;
  // Reached the stat size: follow a file that grew, one block at a time, until EOF.
  let at = Math.max(o.size, o.start);
  for (;;) {
    const data = await src.readAt(at, o.blockSize);
    if (data.length > 0) await dst.writeAt(at, data);
    at += data.length;
    if (data.length > 0) o.onProgress?.(at);
    if (data.length < o.blockSize) return at;
  }
}

export function remoteSource(file: SFTPFile): BlockSource {
  return { readAt: (offset, len) => file.readAt(offset, len), close: () => file.close() };
}

export function remoteSink(file: SFTPFile): BlockSink {
  return {
    writeAt: async (offset, data) => {
      for (let o = 0; o < data.length; o += file.blockSize) await file.writeBlock(offset + o, data.subarray(o, o + file.blockSize));
    },
    close: () => file.close(),
  };
}

export async function localSource(path: string): Promise<{ source: BlockSource; stats: Stats }> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    const stats = await fh.stat();
    return { source: fileHandleSource(fh), stats };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function fileHandleSource(fh: FileHandle): BlockSource {
  return {
    readAt: async (offset, len) => {
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
}

/** A local file opened for writing without following a symlink at its last component. */
export async function localSink(path: string, options: { resume: boolean; mode?: number }): Promise<{ sink: BlockSink; size: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (options.resume ? 0 : constants.O_TRUNC);
  const fh = await open(path, flags, options.mode ?? 0o666);
  const size = options.resume ? (await fh.stat()).size : 0;
  return {
    size,
    sink: {
      writeAt: async (offset, data) => {
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
