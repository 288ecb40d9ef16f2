/**
 * AsyncSSH's SSHReader.readexactly / readuntil over a Node Readable: reads
 * in paused mode and puts back (unshift) whatever follows what was asked
 * for, so later reads, readline or wait() still see it. For expect-style
 * automation (a device CLI's prompt, a fixed-size header).
 */
import type { Readable } from 'node:stream';
import { IncompleteReadError } from '../protocol/errors.js';

export type Separator = string | readonly string[] | RegExp;

type Chunk = string | Buffer;

/** Reads chunks until `cut(buffered)` returns how much to take; the rest goes back to the stream. */
async function readUntilCut(stream: Readable, cut: (buffered: Chunk) => number, expected: number | string): Promise<Chunk> {
  let acc: Chunk | null = null;
  for (;;) {
    let c: Chunk | null;
    while ((c = stream.read() as Chunk | null) !== null) {
      acc = acc === null ? c : typeof acc === 'string' ? acc + String(c) : Buffer.concat([acc, c as Buffer]);
      const n = cut(acc);
      if (n >= 0) {
        const rest = acc.slice(n);
        if (rest.length > 0) stream.unshift(rest);
        return acc.slice(0, n);
      }
    }
    if (stream.readableEnded || stream.destroyed) {
      throw new IncompleteReadError(acc ?? (stream.readableEncoding ? '' : Buffer.alloc(0)), expected);
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('readable', done);
      stream.once('end', done);
      stream.once('close', done);
    });
  }
}

/** Exactly `n` bytes (characters for a text stream); IncompleteReadError (with what came) when the stream ends first. */
export function readExactly(stream: Readable, n: number): Promise<Chunk> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('n: expected a non-negative integer');
  if (n === 0) return Promise.resolve(stream.readableEncoding ? '' : Buffer.alloc(0));
  return readUntilCut(stream, (b) => (b.length >= n ? n : -1), n);
}

/**
 * Everything up to and including the first match of `separator` (a string,
 * any of several strings, or a RegExp, tried on the text read so far).
 * IncompleteReadError when the stream ends first.
 */
export function readUntil(stream: Readable, separator: Separator): Promise<Chunk> {
  const seps = typeof separator === 'string' ? [separator] : separator instanceof RegExp ? null : [...separator];
  if (seps !== null && (seps.length === 0 || seps.some((s) => typeof s !== 'string' || s === ''))) {
    throw new TypeError('separator: expected a non-empty string, a list of them, or a RegExp');
  }
  const re = separator instanceof RegExp ? new RegExp(separator.source, separator.flags.replace(/[gy]/g, '')) : null;
  const cut = (b: Chunk): number => {
    if (re) {
      const text = typeof b === 'string' ? b : b.toString('latin1');
      const m = re.exec(text);
      return m ? m.index + m[0].length : -1;
    }
    let best = -1;
    for (const s of seps!) {
      const i = typeof b === 'string' ? b.indexOf(s) : b.indexOf(Buffer.from(s));
      const end = i < 0 ? -1 : i + (typeof b === 'string' ? s.length : Buffer.byteLength(s));
      if (i >= 0 && (best < 0 || end < best)) best = end;
    }
    return best;
  };
  return readUntilCut(stream, cut, String(separator));
}
