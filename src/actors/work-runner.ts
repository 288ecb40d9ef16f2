/**
 * The process-wide runner for handshake work. Until the worker-pool executor
 * (src/workers/handshake-executor.ts) is wired in, work runs inline, one
 * request per microtask, never synchronously inside the core's own call.
 * Connections acquire() it while open and release() it on close, so a pool
 * behind it can be shut down when the last connection is gone and nothing of
 * it keeps the process alive.
 */
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import { runHandshake } from '../crypto/handshake.js';
import type { WorkRunner } from './actor-types.js';

class InlineRunner implements WorkRunner {
  run(request: HandshakeRequest): Promise<HandshakeResult> {
    return Promise.resolve().then(() => runHandshake(request));
  }
}

let shared: WorkRunner | null = null;
let users = 0;

/** The shared runner; pair every acquire() with one release(). */
export function acquireWorkRunner(): WorkRunner {
  users++;
  shared ??= new InlineRunner();
  return shared;
}

export function releaseWorkRunner(): void {
  if (users > 0) users--;
}
