/**
 * The slow, passphrase-based key derivations key files use, as plain data
 * requests so they can run inline or in a worker thread: bcrypt_pbkdf
 * (OpenSSH "bcrypt" KDF) and Argon2 (PuTTY PPK v3).
 */
import { argon2d, argon2i, argon2id } from '@noble/hashes/argon2.js';
import type { KeyObject } from 'node:crypto';
import { bcryptPbkdf } from '../bcrypt-pbkdf.js';

export interface BcryptKdfRequest {
  readonly kind: 'bcrypt-pbkdf';
  readonly passphrase: Uint8Array;
  readonly salt: Uint8Array;
  readonly rounds: number;
  readonly length: number;
}

export interface Argon2KdfRequest {
  readonly kind: 'argon2';
  readonly flavour: 'Argon2id' | 'Argon2i' | 'Argon2d';
  readonly passphrase: Uint8Array;
  readonly salt: Uint8Array;
  /** KiB */
  readonly memory: number;
  readonly passes: number;
  readonly parallelism: number;
  readonly length: number;
}

export type KdfRequest = BcryptKdfRequest | Argon2KdfRequest;

/** Caps on what a key file may ask of Argon2 (a hostile file must not exhaust memory). */
export const ARGON2_MAX_MEMORY_KIB = 256 * 1024;
export const ARGON2_MAX_PASSES = 1000;

export function deriveKey(req: KdfRequest): Uint8Array {
  if (req.kind === 'bcrypt-pbkdf') return bcryptPbkdf(req.passphrase, req.salt, req.length, req.rounds);
  if (req.kind === 'argon2') {
    if (!Number.isInteger(req.memory) || req.memory < 8 * req.parallelism || req.memory > ARGON2_MAX_MEMORY_KIB) throw new RangeError(`memory: Argon2 memory ${req.memory} KiB is outside 8*p..${ARGON2_MAX_MEMORY_KIB}`);
    if (!Number.isInteger(req.passes) || req.passes < 1 || req.passes > ARGON2_MAX_PASSES) throw new RangeError(`passes: Argon2 passes ${req.passes} outside 1..${ARGON2_MAX_PASSES}`);
    if (!Number.isInteger(req.parallelism) || req.parallelism < 1 || req.parallelism > 255) throw new RangeError(`parallelism: Argon2 parallelism ${req.parallelism} outside 1..255`);
    const fn = req.flavour === 'Argon2id' ? argon2id : req.flavour === 'Argon2i' ? argon2i : argon2d;
    return fn(req.passphrase, req.salt, { t: req.passes, m: req.memory, p: req.parallelism, dkLen: req.length });
  }
  throw new TypeError(`req: unknown KDF ${JSON.stringify((req as { kind: unknown }).kind)}`);
}

/** A private key as a file format yields it. */
export interface DecodedKey {
  readonly key: KeyObject;
  readonly comment: string;
}

/**
 * One parsed key file section whose decryption may wait on a KDF: run
 * `kdf` (inline or in a worker), then `finish(derived)`. Unencrypted or
 * cheaply-encrypted sections have `kdf: null` and `finish(null)`.
 */
export interface PendingKeys {
  readonly kdf: KdfRequest | null;
  finish(derived: Uint8Array | null): DecodedKey[];
}

export function ready(keys: DecodedKey[]): PendingKeys {
  return { kdf: null, finish: () => keys };
}
