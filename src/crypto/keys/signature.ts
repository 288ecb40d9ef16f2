/**
 * SSH signature blobs: string(algorithm) || string(signature), where the inner
 * signature is the raw 64 bytes for ssh-ed25519 (RFC 8709 §6), string-wrapped
 * mpint r || mpint s for ecdsa-sha2-* (RFC 5656 §3.1.2), and PKCS#1 v1.5 for
 * rsa-sha2-256/512 (RFC 8332) and ssh-rsa (SHA-1, RFC 4253 §6.6).
 */
import { createPrivateKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import type { KeyType, SignatureName } from '../../protocol/algorithms.js';
import { keyTypeForSignature } from '../../protocol/algorithms.js';
import type { SigningKeyRef } from '../../protocol/crypto-api.js';
import { Reader, Writer, fromUtf8 } from '../../protocol/wire.js';
import { ecCurve, fixedLength, keyTypeOf, parsePublicBlob } from './key-blob.js';

function digestFor(algorithm: SignatureName): string | null {
  switch (algorithm) {
    case 'ssh-ed25519':
      return null;
    case 'rsa-sha2-512':
      return 'sha512';
    case 'rsa-sha2-256':
      return 'sha256';
    case 'ssh-rsa':
      return 'sha1';
    default:
      return ecCurve(algorithm)!.hash;
  }
}

/** Signs `data` with a private KeyObject; the key must be of the algorithm's key type (TypeError otherwise). */
export function signWithKey(key: KeyObject, algorithm: SignatureName, data: Uint8Array): Uint8Array {
  const keyType = keyTypeOf(key);
  if (keyTypeForSignature(algorithm) !== keyType) {
    throw new TypeError(`algorithm: ${algorithm} cannot be made with a ${keyType} key`);
  }
  const c = ecCurve(keyType);
  const w = new Writer(600).string(algorithm);
  if (c) {
    const rs = nodeSign(c.hash, data, { key, dsaEncoding: 'ieee-p1363' });
    const inner = new Writer(150)
      .mpintBytes(rs.subarray(0, c.fieldBytes))
      .mpintBytes(rs.subarray(c.fieldBytes))
      .toBytes();
    w.string(inner);
  } else {
    w.string(nodeSign(digestFor(algorithm), data, key));
  }
  return w.toBytes();
}

/** The private KeyObject behind a SigningKeyRef made by SSHKey.toSigningKeyRef (or a {pkcs8} handle). */
export function keyFromRef(ref: SigningKeyRef): KeyObject {
  const h = ref.handle;
  if (isKeyObject(h) && h.type === 'private') return h;
  if (typeof h === 'object' && h !== null && 'pkcs8' in h && (h as { pkcs8: unknown }).pkcs8 instanceof Uint8Array) {
    return createPrivateKey({ key: Buffer.from((h as { pkcs8: Uint8Array }).pkcs8), format: 'der', type: 'pkcs8' });
  }
  throw new TypeError(`key: SigningKeyRef for ${ref.keyType} has no usable private key handle`);
}

function isKeyObject(v: unknown): v is KeyObject {
  return typeof v === 'object' && v !== null && typeof (v as KeyObject).asymmetricKeyType === 'string' && typeof (v as KeyObject).export === 'function';
}

export function signWithRef(ref: SigningKeyRef, algorithm: SignatureName, data: Uint8Array): Uint8Array {
  return signWithKey(keyFromRef(ref), algorithm, data);
}

/** Verifies against an already-parsed public key; false on any mismatch or malformed input. */
export function verifyWithKey(keyType: KeyType, key: KeyObject, algorithm: string, signatureBlob: Uint8Array, data: Uint8Array): boolean {
  try {
    if (keyTypeForSignature(algorithm) !== keyType) return false;
    const r = new Reader(signatureBlob, 'signature');
    const name = fromUtf8(r.string('signature algorithm', 64));
    if (name !== algorithm) return false;
    const sig = r.string('signature', 2048);
    r.end();
    const c = ecCurve(keyType);
    if (c) {
      const sr = new Reader(sig, 'ecdsa signature');
      const rr = sr.mpintBytes('r', c.fieldBytes + 1);
      const ss = sr.mpintBytes('s', c.fieldBytes + 1);
      sr.end();
      const p1363 = new Uint8Array(2 * c.fieldBytes);
      p1363.set(fixedLength(rr, c.fieldBytes, 'r'), 0);
      p1363.set(fixedLength(ss, c.fieldBytes, 's'), c.fieldBytes);
      return nodeVerify(c.hash, data, { key, dsaEncoding: 'ieee-p1363' }, p1363);
    }
    if (keyType === 'ssh-ed25519' && sig.length !== 64) return false;
    return nodeVerify(digestFor(algorithm as SignatureName), data, key, sig);
  } catch {
    return false;
  }
}

/**
 * Verifies an SSH signature blob over `data` with a public key blob. A key of
 * the wrong type for the algorithm, a blob naming another algorithm, or any
 * malformed input gives false; it never throws.
 */
export function verifySignature(publicBlob: Uint8Array, algorithm: string, signatureBlob: Uint8Array, data: Uint8Array): boolean {
  try {
    const { keyType, key } = parsePublicBlob(publicBlob);
    return verifyWithKey(keyType, key, algorithm, signatureBlob, data);
  } catch {
    return false;
  }
}
