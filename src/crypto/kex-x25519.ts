/**
 * X25519 (RFC 7748) for curve25519-sha256 (RFC 8731): node:crypto is the fast
 * path, @noble/curves the portable one; both pass RFC 7748 vectors in tests.
 * K is the 32-byte X25519 output read as an unsigned big-endian integer and
 * sent as an mpint (RFC 8731 §3.1); an all-zero output is rejected.
 */
import { createPrivateKey, createPublicKey, diffieHellman, randomFillSync, type KeyObject } from 'node:crypto';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { concatBytes, encodeMpint, encodeString } from '../protocol/wire.js';
import { KeyExchangeFailed } from '../protocol/errors.js';
import { asKexFailure, isAllZero, unwrapString, type KexPrimitive } from './kex-primitive.js';
import { okpPrivateKey } from './keys/keygen.js';
import { b64u } from './keys/key-blob.js';

// DER headers of a PKCS#8 private key for OID 1.3.101.110 (X25519), RFC 8410: the slow import path, kept as a fallback.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

export interface X25519Impl {
  keyPair(): { privateKey: Uint8Array; publicKey: Uint8Array };
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** Raw X25519(k, u); throws KeyExchangeFailed on an all-zero result or bad lengths. */
  shared(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
}

function checkLengths(priv: Uint8Array, pub: Uint8Array): void {
  if (priv.length !== 32) throw new KeyExchangeFailed(`X25519 private key must be 32 bytes, got ${priv.length}`);
  if (pub.length !== 32) throw new KeyExchangeFailed(`X25519 public key must be 32 bytes, got ${pub.length}`);
}

const fromB64u = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

/**
 * Private KeyObjects of the key pairs this thread made, by their raw bytes'
 * identity: when the same thread finishes the exchange (inline), agree()
 * reuses the KeyObject instead of importing the bytes again. Weak, so a
 * dropped secret takes its KeyObject with it.
 */
const madeHere = new WeakMap<Uint8Array, KeyObject>();

/**
 * Raw bytes to a KeyObject through JWK (see okpPrivateKey); DER, whose
 * decoder lookup made the old shared() cost ~430 µs, is the fallback should a
 * runtime insist on it.
 */
function privateKeyObject(priv: Uint8Array): KeyObject {
  const made = madeHere.get(priv);
  if (made) return made;
  try {
    return okpPrivateKey('X25519', priv);
  } catch {
    return createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, priv)), format: 'der', type: 'pkcs8' });
  }
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(pub) }, format: 'jwk' });
}

export const nodeX25519: X25519Impl = {
  keyPair() {
    // Random bytes imported, not generateKeyPairSync: exporting a key that a
    // generation job shares can deadlock the thread (see keys/keygen.ts). Cost
    // per pair is about the same (37-53 against 34-61 µs, measured).
    const priv = randomFillSync(new Uint8Array(32));
    madeHere.set(priv, okpPrivateKey('X25519', priv));
    return { privateKey: priv, publicKey: nodeX25519.publicKey(priv) };
  },
  publicKey(priv) {
    return fromB64u(createPublicKey(privateKeyObject(priv)).export({ format: 'jwk' }).x);
  },
  shared(priv, pub) {
    checkLengths(priv, pub);
    const out = asKexFailure('X25519 public key', () => diffieHellman({ privateKey: privateKeyObject(priv), publicKey: publicKeyObject(pub) }));
    if (isAllZero(out)) throw new KeyExchangeFailed('X25519 shared secret is all zero');
    return new Uint8Array(out);
  },
};

export const nobleX25519Impl: X25519Impl = {
  keyPair() {
    const { secretKey, publicKey } = nobleX25519.keygen();
    return { privateKey: secretKey, publicKey };
  },
  publicKey(priv) {
    return nobleX25519.getPublicKey(priv);
  },
  shared(priv, pub) {
    checkLengths(priv, pub);
    const out = asKexFailure('X25519 public key', () => nobleX25519.getSharedSecret(priv, pub));
    if (isAllZero(out)) throw new KeyExchangeFailed('X25519 shared secret is all zero');
    return out;
  },
};

/** curve25519-sha256 and curve25519-sha256@libssh.org. */
export function curve25519Kex(impl: X25519Impl = nodeX25519): KexPrimitive {
  return {
    generate() {
      const kp = impl.keyPair();
      return { publicWire: encodeString(kp.publicKey), secret: kp.privateKey };
    },
    agree(secret, peerPublicWire) {
      const peer = unwrapString(peerPublicWire, 'server X25519 public key');
      return encodeMpint(impl.shared(secret, peer));
    },
    respond(peerPublicWire) {
      const peer = unwrapString(peerPublicWire, 'client X25519 public key');
      const kp = impl.keyPair();
      const k = impl.shared(kp.privateKey, peer);
      kp.privateKey.fill(0);
      return { publicWire: encodeString(kp.publicKey), sharedWire: encodeMpint(k) };
    },
  };
}
