/** Session key derivation (RFC 4253 §7.2). */
import type { CipherName, MacName } from './algorithms.js';
import type { HashName, PacketKeys, TransportCrypto } from './crypto-api.js';
import type { Negotiated } from './kexinit.js';
import { concatBytes } from './wire.js';

export type HashFn = (name: HashName, data: Uint8Array) => Uint8Array;

/**
 * K1 = HASH(K || H || letter || session_id); Kn+1 = HASH(K || H || K1 || ... || Kn).
 * `sharedWire` is K as encoded on the wire (mpint or string).
 */
export function deriveKey(
  hash: HashFn,
  hashName: HashName,
  sharedWire: Uint8Array,
  exchangeHash: Uint8Array,
  letter: string,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  let out = hash(hashName, concatBytes(sharedWire, exchangeHash, new Uint8Array([letter.charCodeAt(0)]), sessionId));
  while (out.length < length) {
    out = concatBytes(out, hash(hashName, concatBytes(sharedWire, exchangeHash, out)));
  }
  return out.subarray(0, length);
}

/**
 * The cipher, MAC and keys of one direction after a key exchange:
 * client-to-server uses letters A (IV), C (key), E (MAC key); server-to-client B, D, F.
 */
export function directionKeys(
  crypto: TransportCrypto,
  result: { hashName: HashName; sharedWire: Uint8Array; exchangeHash: Uint8Array },
  n: Negotiated,
  sessionId: Uint8Array,
  dir: 'cs' | 'sc',
): { cipher: CipherName; mac: MacName | null; keys: PacketKeys } {
  const cipher = (dir === 'cs' ? n.cipherCS : n.cipherSC) as CipherName;
  const mac = (dir === 'cs' ? n.macCS : n.macSC) as MacName | null;
  const ci = crypto.cipherInfo(cipher);
  const macLen = mac ? crypto.macInfo(mac).keyLength : 0;
  const d = (letter: string, len: number) =>
    deriveKey((h, data) => crypto.hash(h, data), result.hashName, result.sharedWire, result.exchangeHash, letter, sessionId, len);
  const [iv, key, mk] = dir === 'cs' ? ['A', 'C', 'E'] : ['B', 'D', 'F'];
  return { cipher, mac, keys: { iv: d(iv!, ci.ivLength), encKey: d(key!, ci.keyLength), macKey: d(mk!, macLen) } };
}
