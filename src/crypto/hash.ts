/** One-shot hashes for the exchange hash, key derivation and fingerprints. */
import { createHash } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { HashName } from '../protocol/crypto-api.js';

export const HASH_LENGTHS: Readonly<Record<HashName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export type HashFn = (name: HashName, data: Uint8Array) => Uint8Array;

function checkName(name: string): asserts name is HashName {
  if (!Object.hasOwn(HASH_LENGTHS, name)) throw new RangeError(`hash: unknown hash name ${JSON.stringify(name)}`);
}

export const nodeHash: HashFn = (name, data) => {
  checkName(name);
  const d = createHash(name).update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
};

const nobleHashes = { sha1, sha256, sha384, sha512 } as const;

export const nobleHash: HashFn = (name, data) => {
  checkName(name);
  return nobleHashes[name](data);
};
