/**
 * OpenSSH's ProxyCommand: a local command whose stdin/stdout carry the SSH
 * byte stream (`nc`, `ssh -W`, a corporate connector, `socat` to a serial
 * line...). The command is started per connection and sent SIGHUP when the
 * connection ends, as ssh does; what it writes to stderr is kept (the last
 * few KiB) and named in the error when it exits before the connection ends.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { expandTokens } from '../protocol/ssh-config-tokens.js';
import { ConnectionLost } from '../protocol/errors.js';

/** What a proxy command's `%` tokens stand for. */
export interface ProxyCommandTarget {
  host: string;
  port: number;
  username: string;
  /** The name the caller asked for before ssh_config's HostName (%n). */
  originalHost: string;
}

const STDERR_KEEP = 4096;
/** How long a failed command's stderr may lag behind its exit before the error is raised without the rest. */
const STDERR_GRACE_MS = 500;

/** The command line after token expansion: `%h %p %r %n %%`; an unknown token is a TypeError naming the option. */
export function expandProxyCommand(command: string | readonly string[], t: ProxyCommandTarget): string | string[] {
  const tokens = { h: t.host, p: String(t.port), r: t.username, n: t.originalHost };
  const one = (s: string): string => {
    const e = expandTokens(s, tokens, 'hprn');
    if (typeof e !== 'string') throw new TypeError(`proxyCommand: ${e.error}`);
    return e;
  };
  return typeof command === 'string' ? one(command) : command.map(one);
}

/** Checks the option's shape (a non-empty string, or a non-empty argv list of strings). */
export function validateProxyCommand(v: unknown): void {
  const ok =
    (typeof v === 'string' && v.trim() !== '') ||
    (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string') && (v[0] as string) !== '');
  if (!ok) throw new TypeError('proxyCommand: expected a command line string or a non-empty list of arguments');
}

/**
 * Starts the command (a string runs under /bin/sh as ssh runs it with
 * `exec`; a list runs without a shell) and returns its stdio as one duplex.
 */
export function openProxyCommand(command: string | string[]): Duplex {
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', `exec ${command}`]] : [command[0]!, command.slice(1)];
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new ProxyCommandStream(child, typeof command === 'string' ? command : command.join(' '));
}

class ProxyCommandStream extends Duplex {
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | null = null;
  #stdoutEnded = false;
  /** stderr read to its end, or given up on (a grandchild may hold it open). */
  #stderrDone = false;
  #stderrGrace: NodeJS.Timeout | undefined;
  #hungUp = false;

  constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly label: string,
  ) {
    super({ allowHalfOpen: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.on('end', () => {
      this.#stdoutEnded = true;
      this.#settle();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_KEEP);
    });
    child.stderr.on('end', () => {
      this.#stderrDone = true;
      this.#settle();
    });
    // EPIPE after the command died: its exit status says more, and arrives on 'exit'.
    child.stdin.on('error', () => undefined);
    child.stdout.on('error', () => undefined);
    child.on('error', (error) => {
      this.#exit = { code: null, signal: null, error };
      this.#settle();
    });
    child.on('exit', (code, signal) => {
      this.#exit ??= { code, signal };
      this.#settle();
    });
  }

  /** Ends the readable side once both stdout ended and the command exited: then the exit status is known. */
  #settle(): void {
    const exit = this.#exit;
    if (exit === null || this.destroyed) return;
    if (exit.error) {
      this.destroy(new ConnectionLost(`proxyCommand "${this.label}" could not be started: ${exit.error.message}`));
      return;
    }
    if (!this.#stdoutEnded) return;
    if (this.#hungUp || exit.code === 0) {
      this.push(null);
      return;
    }
    // 'exit' can come before the last of stderr is read: the error names its tail.
    if (!this.#stderrDone) {
      this.#stderrGrace ??= setTimeout(() => {
        this.#stderrDone = true;
        this.#settle();
      }, STDERR_GRACE_MS).unref();
      return;
    }
    const status = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
    const tail = this.#stderr.trim();
    this.destroy(new ConnectionLost(`proxyCommand "${this.label}" ${status}${tail ? `: ${tail}` : ''}`));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#exit === null) {
      this.#hungUp = true;
      this.child.kill('SIGHUP');
    }
    // A command that ignores SIGHUP must not keep this process alive.
    this.child.unref();
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    cb(err);
  }
}
