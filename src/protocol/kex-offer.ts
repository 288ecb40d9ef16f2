/** What we offer in our KEXINIT: the algorithm lists for our role and keys. */
import { signatureAlgorithmsForKeyType, type SignatureName } from './algorithms.js';
import { certAlgorithmsForKeyType, certSignatureAlgorithm, isCertKeyType, DEFAULT_CERT_ALGORITHMS } from './certificate.js';
import type { SigningKeyRef, TransportCrypto } from './crypto-api.js';
import { KeyExchangeFailed } from './errors.js';
import type { KexInitMessage } from './kexinit.js';

export const STRICT_C = 'kex-strict-c-v00@openssh.com';
export const STRICT_S = 'kex-strict-s-v00@openssh.com';

export interface KexOfferOptions {
  role: 'client' | 'server';
  crypto: TransportCrypto;
  kexAlgs: readonly string[];
  cipherAlgs: readonly string[];
  macAlgs: readonly string[];
  compressionAlgs: readonly string[];
  signatureAlgs: readonly SignatureName[];
  hostKeys: readonly SigningKeyRef[];
}

/**
 * Our KEXINIT. The first one also carries the markers for ext-info (client)
 * and strict kex (both roles).
 */
export function localKexInit(o: KexOfferOptions, first: boolean): KexInitMessage {
  const kex = [...o.kexAlgs];
  if (first) {
    if (o.role === 'client') kex.push('ext-info-c', STRICT_C);
    else kex.push(STRICT_S);
  }
  let hostKey: string[];
  if (o.role === 'server') {
    hostKey = [];
    for (const key of o.hostKeys) {
      for (const alg of hostKeyAlgorithmsForKey(key.keyType, o.signatureAlgs)) if (!hostKey.includes(alg)) hostKey.push(alg);
    }
    if (hostKey.length === 0) throw new KeyExchangeFailed('no usable host key for the configured algorithms');
  } else {
    // As OpenSSH: certificate algorithms first, then the plain ones.
    hostKey = [...certAlgorithmsFor(o.signatureAlgs), ...o.signatureAlgs];
  }
  return {
    cookie: o.crypto.random.bytes(16),
    kex,
    hostKey,
    cipherCS: [...o.cipherAlgs],
    cipherSC: [...o.cipherAlgs],
    macCS: [...o.macAlgs],
    macSC: [...o.macAlgs],
    compressionCS: [...o.compressionAlgs],
    compressionSC: [...o.compressionAlgs],
    langCS: [],
    langSC: [],
    firstKexPacketFollows: false,
  };
}

/** Host key algorithms a server key (plain or certificate) can serve under the allowed signature algorithms. */
function hostKeyAlgorithmsForKey(keyType: string, allowed: readonly SignatureName[]): string[] {
  if (isCertKeyType(keyType)) return certAlgorithmsForKeyType(keyType).filter((a) => allowed.includes(certSignatureAlgorithm(a)!));
  return signatureAlgorithmsForKeyType(keyType).filter((a) => allowed.includes(a));
}

/** The certificate algorithms whose plain signature algorithm is allowed (ssh-rsa's only when ssh-rsa is). */
function certAlgorithmsFor(allowed: readonly SignatureName[]): string[] {
  const all = [...DEFAULT_CERT_ALGORITHMS, 'ssh-rsa-cert-v01@openssh.com'];
  return all.filter((a) => {
    const plain = certSignatureAlgorithm(a);
    return plain !== undefined && allowed.includes(plain);
  });
}
