/**
 * Piscina worker entry for key-file KDFs (bcrypt_pbkdf, Argon2): takes a
 * KdfRequest, returns the derived bytes (moved, not copied) or a TaskFailure.
 */
import { Piscina } from 'piscina';
import { deriveKey, type KdfRequest } from '../crypto/keys/key-kdf.js';
import { toTaskFailure } from './task-errors.js';

export default function keyKdfTask(req: KdfRequest): unknown {
  let out: Uint8Array;
  try {
    out = deriveKey(req);
  } catch (err) {
    return toTaskFailure(err);
  }
  const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
  return Piscina.move(owned as unknown as Parameters<typeof Piscina.move>[0]);
}
