/**
 * Runs handshake crypto (runHandshake) inline or in a piscina pool. In 'auto'
 * mode cheap ops (curve25519 and nistp256 key agreement, Ed25519/ECDSA-P256
 * signing, every verify: 20-180 us each, measured) always run inline: a pool
 * round trip plus cloning costs as much as the op, and at a fan-out of 2,000
 * the pool made the client slower (208 vs 294 conn/s) and 88 MB bigger.
 * Expensive ops (RSA signing, DH groups, ML-KEM, nistp384/521: 0.5-5 ms) run
 * inline when alone and go to the pool when they overlap another expensive
 * op (in flight, or finished within `overlapWindowMs`), so a burst of them
 * uses every core while a lone handshake pays no thread round trip. The pool
 * is created on first use, its idle threads are unref'd by piscina and exit
 * after `idleTimeout`, and close() destroys it.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import type { KexName } from '../protocol/algorithms.js';
import { runHandshake } from '../crypto/handshake.js';
import { workerFile } from './worker-file.js';
import { fromTaskFailure, isTaskFailure } from './task-errors.js';

export type ExecutorMode = 'auto' | 'inline' | 'pool';

export interface HandshakeExecutorOptions {
  /** Pool threads; default os.availableParallelism(). */
  threads?: number;
  mode?: ExecutorMode;
  /** 'auto': ops in flight below which work stays inline (default 2). */
  inlineLimit?: number;
  /** Idle pool threads exit after this many ms (default 2000). */
  idleTimeout?: number;
  /** 'auto': an expensive op this soon (ms) after another one counts as overlapping it (default 5). */
  overlapWindowMs?: number;
}

/** Key agreement that costs under ~200 us per op with node:crypto (see the class comment). */
const CHEAP_KEX = new Set<KexName>(['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256']);
const CHEAP_SIGNING_KEYS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com']);

/** Whether an op is cheap enough that running it anywhere but inline costs more than it saves. */
export function isCheapOp(req: HandshakeRequest): boolean {
  switch (req.op) {
    case 'verify':
      return true;
    case 'sign':
      return CHEAP_SIGNING_KEYS.has(req.key.keyType);
    case 'kexServer':
      return CHEAP_KEX.has(req.method) && CHEAP_SIGNING_KEYS.has(req.hostKey.keyType);
    default:
      return CHEAP_KEX.has(req.method);
  }
}

export interface HandshakeExecutorStats {
  readonly inline: number;
  readonly pooled: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly poolThreads: number;
}

export class HandshakeExecutor {
  readonly mode: ExecutorMode;
  readonly threads: number;
  readonly #inlineLimit: number;
  readonly #idleTimeout: number;
  readonly #overlapWindowMs: number;
  #expensiveInFlight = 0;
  #lastExpensiveEnd = -Infinity;
  #pool: Piscina | undefined;
  #closed = false;
  #inFlight = 0;
  #inline = 0;
  #pooled = 0;
  #failed = 0;

  constructor(opts: HandshakeExecutorOptions = {}) {
    this.mode = opts.mode ?? 'auto';
    if (!['auto', 'inline', 'pool'].includes(this.mode)) throw new RangeError(`mode: expected 'auto', 'inline' or 'pool', got ${JSON.stringify(opts.mode)}`);
    this.threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new RangeError(`threads: expected a positive integer, got ${opts.threads}`);
    this.#inlineLimit = opts.inlineLimit ?? 2;
    this.#idleTimeout = opts.idleTimeout ?? 2000;
    this.#overlapWindowMs = opts.overlapWindowMs ?? 5;
  }

  #choosePool(req: HandshakeRequest): boolean {
    if (this.mode !== 'auto') return this.mode === 'pool';
    if (isCheapOp(req)) return false;
    const overlapping = this.#inFlight >= this.#inlineLimit - 1 || this.#expensiveInFlight > 0 || performance.now() - this.#lastExpensiveEnd < this.#overlapWindowMs;
    return overlapping;
  }

  get stats(): HandshakeExecutorStats {
    return { inline: this.#inline, pooled: this.#pooled, failed: this.#failed, inFlight: this.#inFlight, poolThreads: this.#pool?.threads.length ?? 0 };
  }

  /**
   * The op's result now, on this thread, when this executor would run it
   * inline anyway ('inline' mode, or a cheap op in 'auto'); undefined when it
   * belongs to run(). Lets the caller answer in the same turn: a signature
   * then leaves in the same write as what asked for it.
   */
  runNow(req: HandshakeRequest): HandshakeResult | undefined {
    if (this.#closed) throw new Error('HandshakeExecutor is closed');
    if (this.mode === 'pool' || (this.mode === 'auto' && !isCheapOp(req))) return undefined;
    this.#inline++;
    try {
      return runHandshake(req);
    } catch (err) {
      this.#failed++;
      throw err;
    }
  }

  async run(req: HandshakeRequest): Promise<HandshakeResult> {
    if (this.#closed) throw new Error('HandshakeExecutor is closed');
    const usePool = this.#choosePool(req);
    const expensive = this.mode === 'auto' && !isCheapOp(req);
    this.#inFlight++;
    if (expensive) this.#expensiveInFlight++;
    try {
      if (!usePool) {
        this.#inline++;
        // Yield once so ops started in the same tick are counted as overlapping.
        await Promise.resolve();
        return runHandshake(req);
      }
      this.#pooled++;
      const out: unknown = await this.#getPool().run(req);
      if (isTaskFailure(out)) throw fromTaskFailure(out);
      return out as HandshakeResult;
    } catch (err) {
      this.#failed++;
      throw err;
    } finally {
      this.#inFlight--;
      if (expensive) {
        this.#expensiveInFlight--;
        this.#lastExpensiveEnd = performance.now();
      }
    }
  }

  #getPool(): Piscina {
    if (!this.#pool) {
      const { filename, execArgv } = workerFile('handshake-worker');
      this.#pool = new Piscina({
        filename,
        execArgv,
        minThreads: 0,
        maxThreads: this.threads,
        idleTimeout: this.#idleTimeout,
      });
    }
    return this.#pool;
  }

  /** Waits for nothing: pending pool tasks are rejected; threads are terminated. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.destroy();
  }
}
