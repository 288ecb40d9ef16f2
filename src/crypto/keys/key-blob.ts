/**
 * Public key blobs (RFC 4253 §6.6 ssh-rsa, RFC 5656 §3.1 ecdsa-sha2-*,
 * RFC 8709 §4 ssh-ed25519) to and from node:crypto KeyObjects, by way of JWK.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { KeyType } from '../../protocol/algorithms.js';
import { Reader, Writer, fromUtf8 } from '../../protocol/wire.js';
import { KeyImportError } from '../../protocol/errors.js';

export interface EcCurveInfo {
  /** Curve identifier inside the blob (RFC 5656 §6.1). */
  readonly sshCurve: 'nistp256' | 'nistp384' | 'nistp521';
  readonly jwkCurve: 'P-256' | 'P-384' | 'P-521';
  readonly nodeCurve: 'prime256v1' | 'secp384r1' | 'secp521r1';
  readonly fieldBytes: number;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

export const EC_CURVES: Record<'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521', EcCurveInfo> = {
  'ecdsa-sha2-nistp256': { sshCurve: 'nistp256', jwkCurve: 'P-256', nodeCurve: 'prime256v1', fieldBytes: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { sshCurve: 'nistp384', jwkCurve: 'P-384', nodeCurve: 'secp384r1', fieldBytes: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { sshCurve: 'nistp521', jwkCurve: 'P-521', nodeCurve: 'secp521r1', fieldBytes: 66, hash: 'sha512' },
};

export function ecCurve(keyType: KeyType): EcCurveInfo | undefined {
  return (EC_CURVES as Record<string, EcCurveInfo>)[keyType];
}

export function b64u(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

export function fromB64u(s: string | undefined, what: string): Uint8Array {
  if (s === undefined) throw new KeyImportError(`key is missing ${what}`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** Left-pads (or rejects) a big-endian magnitude to exactly `n` bytes. */
export function fixedLength(b: Uint8Array, n: number, what: string): Uint8Array {
  let i = 0;
  while (b.length - i > n && b[i] === 0) i++;
  const v = b.subarray(i);
  if (v.length > n) throw new KeyImportError(`${what} is longer than ${n} bytes`);
  const out = new Uint8Array(n);
  out.set(v, n - v.length);
  return out;
}

/** Key type of a node KeyObject, or a KeyImportError for kinds SSH does not use. */
export function keyTypeOf(key: KeyObject): KeyType {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ssh-ed25519';
    case 'rsa':
      return 'ssh-rsa';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      for (const [t, c] of Object.entries(EC_CURVES)) if (c.nodeCurve === curve) return t as KeyType;
      throw new KeyImportError(`unsupported EC curve ${String(curve)}`);
    }
    default:
      throw new KeyImportError(`unsupported key kind ${String(key.asymmetricKeyType)}`);
  }
}

/** The SSH public key blob of a (public or private) KeyObject. */
export function publicBlobOf(key: KeyObject): Uint8Array {
  const keyType = keyTypeOf(key);
  const jwk = key.export({ format: 'jwk' }) as JsonWebKey;
  const w = new Writer(600).string(keyType);
  if (keyType === 'ssh-ed25519') {
    w.string(fromB64u(jwk.x, 'x'));
  } else if (keyType === 'ssh-rsa') {
    w.mpintBytes(fromB64u(jwk.e, 'e')).mpintBytes(fromB64u(jwk.n, 'n'));
  } else {
    const c = ecCurve(keyType)!;
    const q = new Uint8Array(1 + 2 * c.fieldBytes);
    q[0] = 4;
    q.set(fixedLength(fromB64u(jwk.x, 'x'), c.fieldBytes, 'x'), 1);
    q.set(fixedLength(fromB64u(jwk.y, 'y'), c.fieldBytes, 'y'), 1 + c.fieldBytes);
    w.string(c.sshCurve).string(q);
  }
  return w.toBytes();
}

/** JWK public members of an EC point Q (uncompressed SEC1). */
export function ecPointJwk(keyType: KeyType, q: Uint8Array): JsonWebKey {
  const c = ecCurve(keyType)!;
  if (q.length !== 1 + 2 * c.fieldBytes || q[0] !== 4) throw new KeyImportError(`${keyType} point must be uncompressed (${1 + 2 * c.fieldBytes} bytes)`);
  return { kty: 'EC', crv: c.jwkCurve, x: b64u(q.subarray(1, 1 + c.fieldBytes)), y: b64u(q.subarray(1 + c.fieldBytes)) };
}

export interface ParsedPublic {
  readonly keyType: KeyType;
  readonly jwk: JsonWebKey;
}

/** Reads a key's public fields (after its type name) from `r`; shared by blobs and the private key format. */
export function readPublicFields(typeName: string, r: Reader): ParsedPublic {
  switch (typeName) {
    case 'ssh-ed25519': {
      const x = r.string('ed25519 public key', 32);
      if (x.length !== 32) throw new KeyImportError('ssh-ed25519 public key must be 32 bytes');
      return { keyType: 'ssh-ed25519', jwk: { kty: 'OKP', crv: 'Ed25519', x: b64u(x) } };
    }
    case 'ssh-rsa': {
      const e = r.mpintBytes('rsa e', 1024);
      const n = r.mpintBytes('rsa n', 2048);
      return { keyType: 'ssh-rsa', jwk: { kty: 'RSA', e: b64u(e), n: b64u(n) } };
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const c = EC_CURVES[typeName];
      const curve = fromUtf8(r.string('ecdsa curve', 64));
      if (curve !== c.sshCurve) throw new KeyImportError(`${typeName} key names curve ${JSON.stringify(curve)}`);
      return { keyType: typeName, jwk: ecPointJwk(typeName, r.string('ecdsa point', 200)) };
    }
    default:
      throw new KeyImportError(`unsupported key type ${JSON.stringify(typeName)}`);
  }
}

/** Parses a public key blob into its key type and a node KeyObject; KeyImportError when malformed. */
export function parsePublicBlob(blob: Uint8Array): { keyType: KeyType; key: KeyObject } {
  try {
    const r = new Reader(blob, 'public key blob');
    const typeName = fromUtf8(r.string('key type', 64));
    const parsed = readPublicFields(typeName, r);
    r.end();
    return { keyType: parsed.keyType, key: createPublicKey({ key: parsed.jwk, format: 'jwk' }) };
  } catch (err) {
    if (err instanceof KeyImportError) throw err;
    throw new KeyImportError(`malformed public key blob: ${err instanceof Error ? err.message : String(err)}`);
  }
}
