/** Session key derivation (RFC 4253 §7.2). */
import type { HashName } from './crypto-api.js';
import { concatBytes } from './wire.js';

export type HashFn = (name: HashName, data: Uint8Array) => Uint8Array;

/**
 * K1 = HASH(K || H || letter || session_id); Kn+1 = HASH(K || H || K1 || ... || Kn).
 * `sharedWire` is K as encoded on the wire (mpint or string).
 */
export function deriveKey(
  hash: HashFn,
  hashName: HashName,
  sharedWire: Uint8Array,
  exchangeHash: Uint8Array,
  letter: string,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  let out = hash(hashName, concatBytes(sharedWire, exchangeHash, new Uint8Array([letter.charCodeAt(0)]), sessionId));
  while (out.length < length) {
    out = concatBytes(out, hash(hashName, concatBytes(sharedWire, exchangeHash, out)));
  }
  return out.subarray(0, length);
}
