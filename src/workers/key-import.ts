/**
 * Worker-backed private key import: the file is parsed on the calling
 * thread (cheap), and only a slow KDF (bcrypt_pbkdf for encrypted OpenSSH
 * keys, Argon2 for encrypted PPK v3) runs in a small piscina pool, so
 * decrypting a key never blocks the event loop. Unencrypted keys and the
 * cheap KDFs (PEM's MD5, PKCS#8's PBKDF2, PPK v2's SHA-1) stay inline.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { KeyImportError } from '../protocol/errors.js';
import type { KdfRequest, PendingKeys } from '../crypto/keys/key-kdf.js';
import { decodePrivateKeyFile, type Passphrase } from '../crypto/keys/private-key-decode.js';
import { keyFromDecoded, type SSHKey } from '../crypto/keys/ssh-key.js';
import { workerFile } from './worker-file.js';
import { fromTaskFailure, isTaskFailure } from './task-errors.js';

let pool: Piscina | undefined;

function getPool(): Piscina {
  if (!pool) {
    const { filename, execArgv } = workerFile('key-kdf-worker');
    pool = new Piscina({ filename, execArgv, minThreads: 0, maxThreads: Math.max(1, Math.min(2, availableParallelism())), idleTimeout: 1000 });
  }
  return pool;
}

/** Runs one KDF request in the pool. */
export async function deriveKeyInPool(req: KdfRequest, signal?: AbortSignal): Promise<Uint8Array> {
  const out: unknown = await getPool().run(req, signal ? { signal } : {});
  if (isTaskFailure(out)) {
    const err = fromTaskFailure(out);
    throw err instanceof KeyImportError ? err : new KeyImportError(`key derivation failed: ${err.message}`);
  }
  if (!(out instanceof Uint8Array)) throw new KeyImportError('key derivation worker returned no key material');
  return out;
}

async function finish(p: PendingKeys, signal?: AbortSignal): Promise<SSHKey[]> {
  const derived = p.kdf ? await deriveKeyInPool(p.kdf, signal) : null;
  try {
    return p.finish(derived).map(keyFromDecoded);
  } finally {
    derived?.fill(0);
  }
}

export interface ImportAsyncOptions {
  readonly signal?: AbortSignal;
}

/** importPrivateKey with the passphrase KDF in a worker thread. */
export async function importPrivateKeyAsync(input: string | Uint8Array, passphrase?: Passphrase, options: ImportAsyncOptions = {}): Promise<SSHKey> {
  const pending = decodePrivateKeyFile(input, passphrase);
  return (await finish(pending[0]!, options.signal))[0]!;
}

/** importPrivateKeys with each section's KDF in a worker thread (sections in parallel). */
export async function importPrivateKeysAsync(input: string | Uint8Array, passphrase?: Passphrase, options: ImportAsyncOptions = {}): Promise<SSHKey[]> {
  const pending = decodePrivateKeyFile(input, passphrase);
  return (await Promise.all(pending.map((p) => finish(p, options.signal)))).flat();
}

/** Stops the KDF pool's threads (idle threads also exit by themselves). */
export async function closeKeyImportPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.destroy();
}
