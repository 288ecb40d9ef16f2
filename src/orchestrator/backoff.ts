/**
 * Exponential backoff with jitter, and a small seeded random source so runs
 * (and tests) can be reproduced.
 */

export interface BackoffOptions {
  /** Delay before the 2nd attempt, ms (default 200). */
  baseMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Cap, ms (default 10 000). */
  maxMs?: number;
  /** 'full': uniform in [0, d]; 'equal': d/2 + uniform in [0, d/2]; 'none'. Default 'equal'. */
  jitter?: 'full' | 'equal' | 'none';
  /** Uniform [0, 1) source; default a seeded generator. */
  random?: () => number;
}

/** mulberry32: a tiny seeded PRNG, uniform on [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns delay(next) for attempt numbers 2, 3, ... */
export function exponentialBackoff(options: BackoffOptions = {}): (next: number) => number {
  const base = options.baseMs ?? 200;
  const factor = options.factor ?? 2;
  const max = options.maxMs ?? 10_000;
  const jitter = options.jitter ?? 'equal';
  const random = options.random ?? seededRandom(0x5eed);
  if (!(base >= 0)) throw new RangeError('baseMs must be >= 0');
  if (!(factor >= 1)) throw new RangeError('factor must be >= 1');
  return (next) => {
    const d = Math.min(max, base * Math.pow(factor, Math.max(0, next - 2)));
    if (jitter === 'none') return Math.round(d);
    if (jitter === 'full') return Math.round(random() * d);
    return Math.round(d / 2 + random() * (d / 2));
  };
}
