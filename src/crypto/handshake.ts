/**
 * runHandshake: the synchronous implementation of every HandshakeRequest op in
 * protocol/crypto-api.ts, run inline or in a pool worker. Exchange hash:
 *   client: H = HASH(hashPrefix || K)          (prefix = V_C .. Q_S)
 *   server: H = HASH(hashPrefix || Q_S || K)   (prefix = V_C .. Q_C)
 * where Q_S and K are the wire encodings the kex method uses.
 */
import { createHash } from 'node:crypto';
import type { HandshakeRequest, HandshakeResult, KexClientFinishResult, KexClientStartResult, KexServerResult } from '../protocol/crypto-api.js';
import type { KexName } from '../protocol/algorithms.js';
import { kexInfo } from '../protocol/kex-methods.js';
import { kexPrimitive } from './kex-registry.js';
import { signWithRef, verifySignature } from './keys/signature.js';

export { chooseGexGroup, dhGroupFor } from './dh-groups.js';

function exchangeHash(method: KexName, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(kexInfo(method).hash);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function runHandshake(req: HandshakeRequest): HandshakeResult {
  switch (req.op) {
    case 'kexClientStart': {
      const kp = kexPrimitive(req.method).generate(req.group);
      return { publicWire: kp.publicWire, secret: kp.secret } satisfies KexClientStartResult;
    }
    case 'kexClientFinish': {
      const sharedWire = kexPrimitive(req.method).agree(req.secret, req.serverPublicWire, req.group);
      const exchangeHashValue = exchangeHash(req.method, req.hashPrefix, sharedWire);
      const signatureValid = verifySignature(req.hostKeyBlob, req.signatureAlgorithm, req.signature, exchangeHashValue);
      return { sharedWire, exchangeHash: exchangeHashValue, signatureValid } satisfies KexClientFinishResult;
    }
    case 'kexServer': {
      const { publicWire, sharedWire } = kexPrimitive(req.method).respond(req.clientPublicWire, req.group);
      const h = exchangeHash(req.method, req.hashPrefix, publicWire, sharedWire);
      const signature = signWithRef(req.hostKey, req.signatureAlgorithm, h);
      return { publicWire, sharedWire, exchangeHash: h, signature } satisfies KexServerResult;
    }
    case 'sign':
      return signWithRef(req.key, req.algorithm, req.data);
    case 'verify':
      return verifySignature(req.publicKeyBlob, req.algorithm, req.signature, req.data);
    default: {
      const never: never = req;
      throw new TypeError(`op: unknown handshake op ${JSON.stringify((never as { op: unknown }).op)}`);
    }
  }
}
