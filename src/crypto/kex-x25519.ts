/**
 * X25519 (RFC 7748) for curve25519-sha256 (RFC 8731): node:crypto is the fast
 * path, @noble/curves the portable one; both pass RFC 7748 vectors in tests.
 * K is the 32-byte X25519 output read as an unsigned big-endian integer and
 * sent as an mpint (RFC 8731 §3.1); an all-zero output is rejected.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { concatBytes, encodeMpint, encodeString } from '../protocol/wire.js';
import { KeyExchangeFailed } from '../protocol/errors.js';
import { asKexFailure, isAllZero, unwrapString, type KexPrimitive } from './kex-primitive.js';

// DER headers of a PKCS#8 private key and SPKI public key for OID 1.3.101.110 (X25519), RFC 8410.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

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

export const nodeX25519: X25519Impl = {
  keyPair() {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return {
      privateKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length)),
      publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
    };
  },
  publicKey(priv) {
    const key = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, priv)), format: 'der', type: 'pkcs8' });
    return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
  },
  shared(priv, pub) {
    checkLengths(priv, pub);
    const out = asKexFailure('X25519 public key', () =>
      diffieHellman({
        privateKey: createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, priv)), format: 'der', type: 'pkcs8' }),
        publicKey: createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, pub)), format: 'der', type: 'spki' }),
      }),
    );
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
