/**
 * Runs handshake crypto (runHandshake) inline or in a piscina pool. In 'auto'
 * mode an op runs inline while fewer than `inlineLimit` ops are in flight and
 * goes to the pool when they overlap, so a burst of handshakes uses every core
 * while a lone handshake pays no thread round trip. The pool is created on
 * first use, its idle threads are unref'd by piscina and exit after
 * `idleTimeout`, and close() destroys it.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
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
  }

  get stats(): HandshakeExecutorStats {
    return { inline: this.#inline, pooled: this.#pooled, failed: this.#failed, inFlight: this.#inFlight, poolThreads: this.#pool?.threads.length ?? 0 };
  }

  async run(req: HandshakeRequest): Promise<HandshakeResult> {
    if (this.#closed) throw new Error('HandshakeExecutor is closed');
    const usePool = this.mode === 'pool' || (this.mode === 'auto' && this.#inFlight >= this.#inlineLimit - 1 && this.threads > 0);
    this.#inFlight++;
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
