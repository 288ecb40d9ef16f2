/**
 * Byte-level I/O for the SCP protocol over a session's streams: a pull
 * reader (one byte, one control line, exactly N bytes) that pauses the
 * stream while it holds more than a bound, and a writer that waits for
 * 'drain'. Both ends of scp (source, sink, relay) are written against these.
 */
import type { Readable, Writable } from 'node:stream';
import { ProtocolError } from '../protocol/errors.js';
import { SCP_MAX_LINE } from '../protocol/scp-codec.js';
import { ScpError } from './scp-errors.js';

const HIGH_WATER = 1 << 20;

export class ScpReader {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: Readable) {
    if (stream.readableEncoding) throw new ScpError('scp: the session stream has a text encoding; binary streams are needed');
    stream.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.queued += c.length;
      if (this.queued > HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.once('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.once('close', () => {
      this.ended = true;
      this.notify();
    });
    stream.once('error', (e: Error) => {
      this.failure = e;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Waits until data is queued; false at end of stream. */
  private async fill(): Promise<boolean> {
    while (this.chunks.length === 0) {
      if (this.failure) throw this.failure;
      if (this.ended) return false;
      if (this.stream.isPaused()) this.stream.resume();
      await new Promise<void>((r) => (this.wake = r));
    }
    return true;
  }

  private take(n: number): Buffer {
    const head = this.chunks[0]!;
    if (head.length <= n) {
      this.chunks.shift();
      this.queued -= head.length;
      if (this.queued <= HIGH_WATER / 2 && this.stream.isPaused() && !this.ended) this.stream.resume();
      return head;
    }
    this.chunks[0] = head.subarray(n);
    this.queued -= n;
    return head.subarray(0, n);
  }

  /** One byte, or null at end of stream. */
  async readByte(): Promise<number | null> {
    if (!(await this.fill())) return null;
    return this.take(1)[0]!;
  }

  /** The rest of a line up to '\n' (not included); throws at EOF or when longer than SCP_MAX_LINE. */
  async readLineRest(): Promise<string> {
    const parts: Buffer[] = [];
    let len = 0;
    for (;;) {
      if (!(await this.fill())) throw new ScpError('scp: connection closed in the middle of a control line');
      const head = this.chunks[0]!;
      const nl = head.indexOf(10);
      const piece = this.take(nl < 0 ? head.length : nl + 1);
      len += piece.length;
      if (len > SCP_MAX_LINE + 1) throw new ProtocolError('scp: control line too long');
      if (nl >= 0) {
        parts.push(piece.subarray(0, piece.length - 1));
        return Buffer.concat(parts).toString('utf8');
      }
      parts.push(piece);
    }
  }

  /** Exactly `n` bytes handed to `onChunk` as they arrive. */
  async readExact(n: number, onChunk: (b: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw new ScpError(`scp: connection closed with ${left} bytes of file data missing`);
      const piece = this.take(Math.min(left, this.chunks[0]!.length));
      left -= piece.length;
      await onChunk(piece);
    }
  }
}

/** Writes with backpressure; rejects when the stream closes or fails before draining. */
export function writeAll(stream: Writable, data: Uint8Array | string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new ScpError('scp: connection closed'));
  if (stream.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', ok);
      stream.off('close', closed);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    const closed = (): void => done(new ScpError('scp: connection closed'));
    stream.on('drain', ok);
    stream.on('close', closed);
    stream.on('error', done);
  });
}
