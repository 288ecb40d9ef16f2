/**
 * New private keys as KeyObjects that no key generation job shares.
 *
 * Why not `generateKeyPairSync(...).privateKey`: in Node 20 that KeyObject
 * shares one mutex with the job that made it, and the job's destructor takes
 * the mutex when the garbage collector frees the job. `export()` (and other
 * calls) hold the key's mutex while allocating on the JS heap; an allocation
 * there can run the collector, which frees the job, whose destructor waits for
 * the mutex the same thread holds. The thread then waits forever. Generating an
 * X25519 key pair and exporting it as JWK in a loop hangs this way within a
 * few thousand to a few hundred thousand iterations (gdb: `~KeyGenJob` in
 * `uv_mutex_lock`, under `ExportJWKEdKey`). Every curve25519 handshake did
 * this once; it is what hung test files in fresh-clone CI runs here.
 *
 * So: Ed25519 and X25519 keys are imported from random bytes (no job at all),
 * and RSA/ECDSA keys leave the job already encoded (PKCS#8 DER) and are
 * imported again, so the job's key is never reachable from JS.
 */
import { createPrivateKey, generateKeyPairSync, randomFillSync, type KeyObject } from 'node:crypto';
import { b64u } from './key-blob.js';

/**
 * A private OKP key from its raw 32 bytes. Node reads only `d` of a private
 * OKP JWK (`x` may be empty), and JWK import goes straight to
 * EVP_PKEY_new_raw_private_key (~15-30 µs; DER costs ~200 µs).
 */
export function okpPrivateKey(crv: 'X25519' | 'Ed25519', d: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv, x: '', d: b64u(d) }, format: 'jwk' });
}

/** A new private key; random bytes come from OpenSSL's CSPRNG. */
export function generateKeyObject(type: 'ed25519' | 'rsa' | 'ec', options: { modulusLength?: number; namedCurve?: string } = {}): KeyObject {
  if (type === 'ed25519') {
    const d = randomFillSync(new Uint8Array(32));
    try {
      return okpPrivateKey('Ed25519', d);
    } finally {
      d.fill(0);
    }
  }
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'der' } as const;
  const privateKey: Buffer =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 3072, publicExponent: 65537, publicKeyEncoding, privateKeyEncoding }).privateKey
      : generateKeyPairSync('ec', { namedCurve: options.namedCurve ?? 'prime256v1', publicKeyEncoding, privateKeyEncoding }).privateKey;
  try {
    return createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  } finally {
    privateKey.fill(0);
  }
}
