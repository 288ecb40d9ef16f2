/**
 * AsyncSSH's process redirection: a process's stdin, stdout and stderr joined
 * to a local file, a Node stream, another process, or nothing, instead of
 * being read and written by hand. Used by SSHClientProcess.redirect and the
 * stdin/stdout/stderr options of createProcess/run, and by SSHServerProcess.
 *
 * Plain Node pipes: backpressure runs through the channel window as for any
 * other reader or writer of the process's streams.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Stream, Writable } from 'node:stream';

/** Keep the stream for the caller to read or write (the default). */
export const PIPE: unique symbol = Symbol('fleetssh.PIPE');
/** stdin: send EOF at once; stdout/stderr: discard the output. */
export const DEVNULL: unique symbol = Symbol('fleetssh.DEVNULL');
/** stderr only: deliver stderr data on stdout, in arrival order. */
export const STDOUT: unique symbol = Symbol('fleetssh.STDOUT');

/** Anything with a process's stream pair (SSHClientProcess, SSHServerProcess, a child_process). */
export interface ProcessLike {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
}

/** Where data comes from: a file path, a Readable, another process's output, PIPE or DEVNULL. */
export type RedirectSource = typeof PIPE | typeof DEVNULL | string | Readable | ProcessLike;
/** Where data goes: a file path (created or truncated), a Writable, another process's input, PIPE or DEVNULL (STDOUT for stderr). */
export type RedirectTarget = typeof PIPE | typeof DEVNULL | typeof STDOUT | string | Writable | ProcessLike;

export interface RedirectOptions {
  /** End the process's input when the source ends (default true). */
  sendEof?: boolean;
  /** End the target when the process's output ends (default true; never for process.stdout/stderr). */
  recvEof?: boolean;
}

function isProcessLike(v: unknown): v is ProcessLike {
  return typeof v === 'object' && v !== null && !(v instanceof Stream) && 'stdin' in v && 'stdout' in v;
}

function describe(v: unknown): string {
  return typeof v === 'symbol' ? String(v.description) : typeof v;
}

export function checkSource(name: string, v: unknown): void {
  if (v === undefined || v === PIPE || v === DEVNULL || (typeof v === 'string' && v !== '') || v instanceof Readable) return;
  if (isProcessLike(v) && v.stdout instanceof Readable) return;
  throw new TypeError(`${name}: expected a file path, a Readable, a process, PIPE or DEVNULL (got ${describe(v)})`);
}

export function checkTarget(name: string, v: unknown, allowStdout: boolean): void {
  if (v === undefined || v === PIPE || v === DEVNULL || (typeof v === 'string' && v !== '') || v instanceof Writable) return;
  if (v === STDOUT && allowStdout) return;
  if (isProcessLike(v) && v.stdin instanceof Writable) return;
  throw new TypeError(`${name}: expected a file path, a Writable, a process, PIPE or DEVNULL${allowStdout ? ' or STDOUT' : ''} (got ${describe(v)})`);
}

function opened(s: Readable | Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('open', () => {
      s.off('error', reject);
      resolve();
    });
    s.once('error', reject);
  });
}

/** A stream this module opened (a file): closed when the process's side goes away. */
export interface Attached {
  /** Resolves when all data went to the target (rejects with the target's error). */
  done: Promise<void>;
  /** Stops the flow (the process's channel closed). */
  detach(): void;
}

const NOTHING: Attached = { done: Promise.resolve(), detach: () => undefined };

/**
 * Feeds `into` (a process's input) from `source`. Resolves once the source is
 * open; a file that cannot be opened rejects here, before any data moves.
 */
export async function attachSource(source: RedirectSource | undefined, into: Writable, options: RedirectOptions = {}): Promise<Attached> {
  const sendEof = options.sendEof !== false;
  if (source === undefined || source === PIPE) return NOTHING;
  if (source === DEVNULL) {
    if (sendEof) into.end();
    return NOTHING;
  }
  let from: Readable;
  let owned = false;
  if (typeof source === 'string') {
    from = createReadStream(source);
    await opened(from);
    owned = true;
  } else if (source instanceof Readable) from = source;
  else from = source.stdout!;
  const done = new Promise<void>((resolve, reject) => {
    from.once('end', () => resolve());
    from.once('error', reject);
    into.once('close', () => resolve());
  });
  done.catch(() => undefined); // awaited later, if at all: never an unhandled rejection
  from.pipe(into, { end: sendEof });
  return {
    done,
    detach: () => {
      from.unpipe(into);
      if (owned) from.destroy();
    },
  };
}

/**
 * Sends `from` (a process's output) to `target`. Resolves once the target is
 * open; `done` settles when the output ended and, if the target is ended
 * too, when it has flushed.
 */
export async function attachTarget(target: RedirectTarget | undefined, from: Readable, options: RedirectOptions = {}): Promise<Attached> {
  if (target === undefined || target === PIPE || target === STDOUT) return NOTHING;
  if (target === DEVNULL) {
    const done = new Promise<void>((resolve) => {
      from.once('end', resolve);
      from.once('close', resolve);
    });
    from.resume();
    return { done, detach: () => undefined };
  }
  let to: Writable;
  let owned = false;
  if (typeof target === 'string') {
    to = createWriteStream(target);
    await opened(to);
    owned = true;
  } else if (target instanceof Writable) to = target;
  else to = target.stdin!;
  // The host's own stdout/stderr stay open for whatever the program prints next.
  const end = options.recvEof !== false && to !== process.stdout && to !== process.stderr;
  const done = new Promise<void>((resolve, reject) => {
    to.once('error', (err: Error) => {
      // The target failed: keep draining the output so the channel does not stall.
      from.unpipe(to);
      from.resume();
      reject(err);
    });
    if (end) {
      to.once('finish', () => resolve());
      to.once('close', () => resolve());
    } else {
      from.once('end', () => resolve());
      from.once('close', () => resolve());
    }
  });
  done.catch(() => undefined); // awaited by wait(); never an unhandled rejection meanwhile
  from.pipe(to, { end });
  // A file we opened is closed once the output is gone, even when it was not to be ended
  // ('close' comes after the last buffered chunk went through the pipe, so nothing is cut off).
  if (owned) from.once('close', () => !to.writableEnded && to.end());
  return { done, detach: () => undefined };
}
