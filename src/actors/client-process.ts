/**
 * A remote process on a session channel, as AsyncSSH's SSHClientProcess:
 * stdin/stdout/stderr Node streams, readline and line iteration, exit status
 * and signal, wait(), and run() that collects the whole output.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ProcessError, TimeoutError } from '../protocol/errors.js';
import { readExactly, readUntil, type Separator } from './stream-reads.js';
import type { SSHClientChannel } from './client-session.js';
import type { ExitSignal } from './session-wire.js';
import { attachSource, attachTarget, checkSource, checkTarget, STDOUT, type Attached, type RedirectOptions, type RedirectSource, type RedirectTarget } from './process-redirect.js';

export interface CompletedProcess {
  command: string | null;
  /** The environment variables the process was started with (AsyncSSH's env), or null. */
  env: Readonly<Record<string, string>> | null;
  /** The subsystem started instead of a command, or null. */
  subsystem: string | null;
  exitStatus: number | null;
  exitSignal: ExitSignal | null;
  /** exitStatus, or -signal number style: null when neither arrived. */
  returncode: number | null;
  stdout: string | Buffer;
  stderr: string | Buffer;
}

export interface WaitOptions {
  /** Throw ProcessError when the process did not exit with status 0. */
  check?: boolean;
  /** Milliseconds; on expiry the channel is closed and TimeoutError thrown. */
  timeout?: number;
  signal?: AbortSignal;
}

const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ILL: 4, ABRT: 6, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15 };

/** Collects a readable's remaining output as a string or Buffer. */
/** A stream's output until it ends; `sofar()` is what came before that (for a timeout's partial output). */
function collect(stream: Readable, encoding: BufferEncoding | null): { done: Promise<string | Buffer>; sofar(): string | Buffer } {
  const parts: (string | Buffer)[] = [];
  const join = (): string | Buffer => (encoding === null ? Buffer.concat(parts as Buffer[]) : (parts as string[]).join(''));
  const done = new Promise<string | Buffer>((resolve) => {
    stream.on('data', (c: string | Buffer) => parts.push(c));
    stream.resume(); // a stream paused by readUntil/readExactly does not resume on a 'data' listener alone
    let finished = false;
    const finish = (): void => {
      if (finished) return; // 'end' and then 'close': join the parts once
      finished = true;
      resolve(join());
    };
    stream.once('end', finish);
    stream.once('close', finish);
    // Already ended (read to the end by readUntil/readExactly): those events will not come again.
    if (stream.readableEnded || stream.closed) finish();
  });
  return { done, sofar: join };
}

export class SSHClientProcess {
  private lines: Interface | null = null;
  private lineIterator: AsyncIterator<string> | null = null;
  /** The connection the process runs on (set by createProcess). */
  connection: { getExtraInfo(name: string, fallback?: unknown): unknown } | null = null;
  /** Redirected output still flowing to its target; wait() settles after them. */
  private readonly redirected: Promise<void>[] = [];

  /** The environment variables the process was started with, or null. */
  readonly env: Readonly<Record<string, string>> | null;
  /** The subsystem started instead of a command, or null. */
  readonly subsystem: string | null;

  constructor(
    readonly channel: SSHClientChannel,
    readonly command: string | null,
    private readonly encoding: BufferEncoding | null,
    started: { env?: Record<string, string>; subsystem?: string | null } = {},
  ) {
    this.env = started.env === undefined ? null : Object.freeze({ ...started.env });
    this.subsystem = started.subsystem ?? null;
  }

  /** Writable: data to the process's standard input; end() sends EOF. */
  get stdin(): Writable {
    return this.channel.stdin;
  }

  /** Readable: the process's standard output. */
  get stdout(): Readable {
    return this.channel.stdout;
  }

  get stderr(): Readable {
    return this.channel.stderr;
  }

  get exitStatus(): number | null {
    return this.channel.exitStatus;
  }

  get exitSignal(): ExitSignal | null {
    return this.channel.exitSignal;
  }

  /** The exit status, or the negated signal number when killed by a signal. */
  get returncode(): number | null {
    if (this.channel.exitStatus !== null) return this.channel.exitStatus;
    const s = this.channel.exitSignal;
    if (s) return -(SIGNAL_NUMBERS[s.signal] ?? 0) || null;
    return null;
  }

  /** The next line of stdout without its line ending, or null at end of output. */
  /**
   * Exactly `n` bytes (characters with an encoding) of stdout, or of stderr
   * (AsyncSSH's readexactly). IncompleteReadError when it ends first. Do not
   * mix with 'data' listeners or readline on the same stream.
   */
  readExactly(n: number, from: 'stdout' | 'stderr' = 'stdout'): Promise<string | Buffer> {
    this.readByHelper.add(this[from]);
    return readExactly(this[from], n);
  }

  /** Output up to and including `separator`: a string, one of several, or a RegExp (AsyncSSH's readuntil). */
  readUntil(separator: Separator, from: 'stdout' | 'stderr' = 'stdout'): Promise<string | Buffer> {
    this.readByHelper.add(this[from]);
    return readUntil(this[from], separator);
  }

  /** Streams read by readExactly/readUntil: paused, yet wait() still collects what they have left. */
  private readonly readByHelper = new Set<Readable>();

  async readline(): Promise<string | null> {
    const it = this.iterator();
    const r = await it.next();
    return r.done ? null : r.value;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return this.iterator();
  }

  private iterator(): AsyncIterator<string> {
    if (!this.lineIterator) {
      this.lines = createInterface({ input: this.stdout, crlfDelay: Infinity });
      this.lineIterator = this.lines[Symbol.asyncIterator]();
    }
    return this.lineIterator;
  }

  /**
   * Joins the process's streams to files, Node streams, other processes or
   * nothing (AsyncSSH's redirect). Undefined leaves a stream as it is. A file
   * that cannot be opened rejects before anything is joined.
   */
  async redirect(stdin?: RedirectSource, stdout?: RedirectTarget, stderr?: RedirectTarget, options: RedirectOptions = {}): Promise<void> {
    checkSource('stdin', stdin);
    checkTarget('stdout', stdout, false);
    checkTarget('stderr', stderr, true);
    const attached: Attached[] = [];
    try {
      attached.push(await attachSource(stdin, this.stdin, options));
      attached.push(await attachTarget(stdout, this.stdout, options));
      attached.push(await attachTarget(stderr, this.stderr, options));
    } catch (err) {
      for (const a of attached) a.detach();
      throw err;
    }
    if (stderr === STDOUT) this.channel.mergeStderr = true;
    this.redirected.push(attached[1]!.done, attached[2]!.done);
    void this.channel.waitClosed().then(() => {
      for (const a of attached) a.detach();
    });
  }

  redirectStdin(source: RedirectSource, options?: RedirectOptions): Promise<void> {
    return this.redirect(source, undefined, undefined, options);
  }

  redirectStdout(target: RedirectTarget, options?: RedirectOptions): Promise<void> {
    return this.redirect(undefined, target, undefined, options);
  }

  redirectStderr(target: RedirectTarget, options?: RedirectOptions): Promise<void> {
    return this.redirect(undefined, undefined, target, options);
  }

  /** The connection's getExtraInfo (AsyncSSH's process.get_extra_info). */
  getExtraInfo(name: string, fallback?: unknown): unknown {
    return this.connection ? this.connection.getExtraInfo(name, fallback) : fallback;
  }

  changeTerminalSize(cols: number, rows: number, widthPx = 0, heightPx = 0): void {
    this.channel.changeTerminalSize(cols, rows, widthPx, heightPx);
  }

  sendSignal(signal: string): void {
    this.channel.sendSignal(signal);
  }

  sendBreak(ms: number): Promise<boolean> {
    return this.channel.sendBreak(ms);
  }

  terminate(): void {
    this.sendSignal('TERM');
  }

  kill(): void {
    this.sendSignal('KILL');
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  /**
   * Waits for the process to exit and its channel to close. Output nobody is
   * reading yet is collected and returned; streams already consumed by the
   * caller come back empty.
   */
  async wait(options: WaitOptions = {}): Promise<CompletedProcess> {
    const { check = false, timeout, signal } = options;
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw new RangeError('timeout: expected a positive number of milliseconds');
    const empty = (): string | Buffer => (this.encoding === null ? Buffer.alloc(0) : '');
    const untouched = (s: Readable): boolean => (s.readableFlowing === null || this.readByHelper.has(s)) && s.listenerCount('data') === 0 && s.listenerCount('readable') === 0 && !this.lines;
    const none = { done: Promise.resolve(empty()), sofar: empty };
    const out = untouched(this.stdout) ? collect(this.stdout, this.encoding) : none;
    const err = untouched(this.stderr) ? collect(this.stderr, this.encoding) : none;
    const stdoutP = out.done;
    const stderrP = err.done;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          void this.close();
          // With the output written so far, as AsyncSSH's TimeoutError carries it.
          reject(new TimeoutError(`command ${JSON.stringify(this.command)} timed out after ${timeout} ms`, { command: this.command, stdout: out.sofar(), stderr: err.sofar() }));
        }, timeout);
      }
      if (signal) {
        onAbort = () => {
          void this.close();
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      const [stdout, stderr] = await Promise.race([Promise.all([stdoutP, stderrP, this.channel.waitClosed()]), stop]);
      // Redirected output is complete once its target has it (a file flushed).
      if (this.redirected.length > 0) await Promise.race([Promise.all(this.redirected), stop]);
      if (this.channel.closeError && this.exitStatus === null && this.exitSignal === null) throw this.channel.closeError;
      const result: CompletedProcess = {
        command: this.command,
        env: this.env,
        subsystem: this.subsystem,
        exitStatus: this.exitStatus,
        exitSignal: this.exitSignal,
        returncode: this.returncode,
        stdout,
        stderr,
      };
      if (check && (result.exitStatus !== 0 || result.exitSignal !== null)) {
        throw new ProcessError(this.command, result.exitStatus, result.exitSignal?.signal ?? null, stdout, stderr, result.returncode, { env: this.env, subsystem: this.subsystem });
      }
      return result;
    } finally {
      if (timer) clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}
