/**
 * mlkem768x25519-sha256 (OpenSSH PROTOCOL / draft-ietf-sshm-mlkem-hybrid-kex):
 * the client sends string(C_PK2 || C_PK1), an ML-KEM-768 encapsulation key
 * (1184 bytes) then an X25519 public key (32); the server answers
 * string(S_CT2 || S_PK1), the ML-KEM ciphertext (1088) then its X25519 public
 * key. K = SHA-256(K_PQ || K_CL), sent as an SSH string (not an mpint).
 * ML-KEM is @noble/post-quantum (Node 20 has none); X25519 is node:crypto.
 */
import { createHash } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concatBytes, encodeString } from '../protocol/wire.js';
import { KeyExchangeFailed } from '../protocol/errors.js';
import { asKexFailure, unwrapString, type KexPrimitive } from './kex-primitive.js';
import { nodeX25519, type X25519Impl } from './kex-x25519.js';

export const MLKEM768_PUBLIC_BYTES = 1184;
export const MLKEM768_SECRET_BYTES = 2400;
export const MLKEM768_CIPHERTEXT_BYTES = 1088;
const X25519_BYTES = 32;

function combine(kPq: Uint8Array, kCl: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(kPq).update(kCl).digest();
  return encodeString(new Uint8Array(digest));
}

export function mlkem768x25519Kex(x: X25519Impl = nodeX25519): KexPrimitive {
  return {
    generate() {
      const kem = ml_kem768.keygen();
      const cl = x.keyPair();
      // secret = ML-KEM decapsulation key || X25519 private key
      return {
        publicWire: encodeString(concatBytes(kem.publicKey, cl.publicKey)),
        secret: concatBytes(kem.secretKey, cl.privateKey),
      };
    },
    agree(secret, peerPublicWire) {
      if (secret.length !== MLKEM768_SECRET_BYTES + X25519_BYTES) throw new KeyExchangeFailed('mlkem768x25519 secret has the wrong length');
      const reply = unwrapString(peerPublicWire, 'server mlkem768x25519 reply');
      if (reply.length !== MLKEM768_CIPHERTEXT_BYTES + X25519_BYTES) {
        throw new KeyExchangeFailed(`server mlkem768x25519 reply must be ${MLKEM768_CIPHERTEXT_BYTES + X25519_BYTES} bytes, got ${reply.length}`);
      }
      const ct = reply.subarray(0, MLKEM768_CIPHERTEXT_BYTES);
      const kPq = asKexFailure('ML-KEM ciphertext', () => ml_kem768.decapsulate(ct, secret.slice(0, MLKEM768_SECRET_BYTES)));
      const kCl = x.shared(secret.subarray(MLKEM768_SECRET_BYTES), reply.subarray(MLKEM768_CIPHERTEXT_BYTES));
      return combine(kPq, kCl);
    },
    respond(peerPublicWire) {
      const init = unwrapString(peerPublicWire, 'client mlkem768x25519 public key');
      if (init.length !== MLKEM768_PUBLIC_BYTES + X25519_BYTES) {
        throw new KeyExchangeFailed(`client mlkem768x25519 public key must be ${MLKEM768_PUBLIC_BYTES + X25519_BYTES} bytes, got ${init.length}`);
      }
      const ek = init.slice(0, MLKEM768_PUBLIC_BYTES);
      // encapsulate() checks the encapsulation key (FIPS 203 §7.2 modulus check) and throws on a bad one.
      const { cipherText, sharedSecret } = asKexFailure('ML-KEM encapsulation key', () => ml_kem768.encapsulate(ek));
      const cl = x.keyPair();
      const kCl = x.shared(cl.privateKey, init.subarray(MLKEM768_PUBLIC_BYTES));
      cl.privateKey.fill(0);
      return { publicWire: encodeString(concatBytes(cipherText, cl.publicKey)), sharedWire: combine(sharedSecret, kCl) };
    },
  };
}
