/**
 * The process-wide runner for handshake work: one HandshakeExecutor (inline
 * while handshakes do not overlap, piscina pool when they do), shared by all
 * connections. Connections acquire() it while open and release() it on close;
 * a few seconds after the last one is gone the executor is closed (the timer
 * is unref'd: nothing of it keeps the process alive).
 */
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import { HandshakeExecutor, type HandshakeExecutorOptions } from '../workers/handshake-executor.js';
import type { WorkRunner } from './actor-types.js';
import { AgentSigningHandle } from './agent-client.js';

let shared: HandshakeExecutor | null = null;
let users = 0;
let executorOptions: HandshakeExecutorOptions = { mode: 'auto' };

/**
 * Options of the process-wide executor (mode, threads, inlineLimit, ...),
 * used from the next time it is created (a running one is kept until the
 * last connection releases it). For benchmarks and tuning.
 */
export function configureWorkRunner(options: HandshakeExecutorOptions): void {
  // Validates now, so a bad option is reported where it was given.
  void new HandshakeExecutor(options).close();
  executorOptions = { ...options };
}

const executor = (): HandshakeExecutor => (shared ??= new HandshakeExecutor(executorOptions));

const runner: WorkRunner = {
  run(request: HandshakeRequest): Promise<HandshakeResult> {
    // Keys held by an ssh-agent sign there, never in this process or the pool.
    if (request.op === 'sign' && request.key.handle instanceof AgentSigningHandle) {
      return request.key.handle.sign(request.algorithm, request.data);
    }
    return executor().run(request);
  },
  runNow(request: HandshakeRequest): HandshakeResult | undefined {
    // An agent signs asynchronously, always (run above).
    if (request.op === 'sign' && request.key.handle instanceof AgentSigningHandle) return undefined;
    return executor().runNow(request);
  },
};

/**
 * How long the executor outlives its last connection. Closing it at once made
 * every sequential connection start a new pool thread (~30 ms of CPU compiled,
 * ~300 ms under tsx) for its first expensive op; the pool never keeps the
 * process alive, so lingering costs nothing.
 */
const LINGER_MS = 5000;
let lingerTimer: NodeJS.Timeout | null = null;

/** The shared runner; pair every acquire() with one release(). */
export function acquireWorkRunner(): WorkRunner {
  users++;
  if (lingerTimer) {
    clearTimeout(lingerTimer);
    lingerTimer = null;
  }
  return runner;
}

export function releaseWorkRunner(): void {
  if (users > 0) users--;
  if (users === 0 && shared && !lingerTimer) {
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      if (users > 0 || !shared) return;
      const ex = shared;
      shared = null;
      void ex.close().catch(() => undefined);
    }, LINGER_MS);
    lingerTimer.unref();
  }
}
