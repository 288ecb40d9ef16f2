/**
 * A peer server (sshd, dropbear) run in the foreground by a test: spawned
 * under `setpriv --pdeathsig` so it dies with the test process even on
 * SIGKILL, its stderr kept, and stopped together with every process it forked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { descendantPids, isAlive, signalAll } from './process-tree.js';
import { findBinary } from './ssh-client.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Daemon {
  readonly pid: number;
  /** How it exited, or null while it runs. */
  exitStatus(): ExitStatus | null;
  /** What it wrote to stderr so far (the first MiB). */
  stderrText(): string;
  /** SIGTERM to it and its descendants, SIGKILL to what is left after 3 s. Idempotent. */
  killTree(): Promise<void>;
  /** SIGKILL to it and its descendants at once, for process-exit cleanup. Idempotent. */
  killTreeSync(): void;
}

const STDERR_CAP = 1 << 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spawns `binary args` with stdin and stdout ignored; throws (naming `who`) when it cannot be spawned. */
export function spawnDaemon(who: string, binary: string, args: readonly string[]): Daemon {
  const setpriv = findBinary('setpriv');
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'SIGTERM', binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${who}: could not spawn ${binary}`);
  const text: string[] = [];
  let size = 0;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => {
    if (size < STDERR_CAP) (text.push(t), (size += t.length));
  });
  let exited: ExitStatus | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  let stopped = false;
  return {
    pid,
    exitStatus: () => exited,
    stderrText: () => text.join(''),
    killTreeSync(): void {
      if (stopped) return;
      stopped = true;
      signalAll([pid, ...descendantPids(pid)], 'SIGKILL');
    },
    async killTree(): Promise<void> {
      if (stopped) return;
      stopped = true;
      const all = [pid, ...descendantPids(pid)];
      signalAll(all, 'SIGTERM');
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && (exited === null || all.some(isAlive))) await sleep(25);
      const left = [pid, ...descendantPids(pid), ...all].filter(isAlive);
      if (left.length) signalAll(left, 'SIGKILL');
      if (exited === null) await Promise.race([exitPromise, sleep(2000)]);
    },
  };
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits until `logSaysListening()` and the loopback port accepts a
 * connection. Resolves null when ready, else why not (exited, or the timeout).
 */
export async function waitUntilListening(daemon: Daemon, port: number, logSaysListening: () => boolean, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && daemon.exitStatus() === null) {
    if (logSaysListening() && (await tryConnect(port))) return null;
    await sleep(20);
  }
  const status = daemon.exitStatus();
  return status !== null ? `exited (${JSON.stringify(status)})` : `did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`;
}
