/** Random sources for the sans-I/O core. */
import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../protocol/crypto-api.js';

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random: n must be a non-negative integer, got ${n}`);
}

/** OpenSSL's CSPRNG through node:crypto. */
export const nodeRandom: RandomSource = {
  bytes(n: number): Uint8Array {
    checkCount(n);
    return randomFillSync(new Uint8Array(n));
  },
};

/** WebCrypto's getRandomValues (any runtime), in slices of its 65536-byte limit. */
export const webRandom: RandomSource = {
  bytes(n: number): Uint8Array {
    checkCount(n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    return out;
  },
};
