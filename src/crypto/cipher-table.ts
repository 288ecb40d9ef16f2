/** Facts about each SSH cipher (key/IV sizes from RFC 4344, RFC 5647, OpenSSH PROTOCOL.chacha20poly1305). */
import type { CipherName } from '../protocol/algorithms.js';
import type { CipherInfo } from '../protocol/crypto-api.js';

export type CipherKind = 'gcm' | 'chacha20-poly1305' | 'ctr' | 'cbc';

export interface CipherEntry extends CipherInfo {
  readonly kind: CipherKind;
  /** The OpenSSL name for node:crypto (absent for chacha20-poly1305, which is built from parts). */
  readonly openssl: string;
}

function entry(name: CipherName, kind: CipherKind, keyLength: number, ivLength: number, blockSize: number, openssl: string): CipherEntry {
  return Object.freeze({ name, kind, keyLength, ivLength, blockSize, aead: kind === 'gcm' || kind === 'chacha20-poly1305', openssl });
}

const CIPHERS: Readonly<Record<CipherName, CipherEntry>> = {
  'aes128-gcm@openssh.com': entry('aes128-gcm@openssh.com', 'gcm', 16, 12, 16, 'aes-128-gcm'),
  'aes256-gcm@openssh.com': entry('aes256-gcm@openssh.com', 'gcm', 32, 12, 16, 'aes-256-gcm'),
  'chacha20-poly1305@openssh.com': entry('chacha20-poly1305@openssh.com', 'chacha20-poly1305', 64, 0, 8, 'chacha20'),
  'aes128-ctr': entry('aes128-ctr', 'ctr', 16, 16, 16, 'aes-128-ctr'),
  'aes192-ctr': entry('aes192-ctr', 'ctr', 24, 16, 16, 'aes-192-ctr'),
  'aes256-ctr': entry('aes256-ctr', 'ctr', 32, 16, 16, 'aes-256-ctr'),
  'aes128-cbc': entry('aes128-cbc', 'cbc', 16, 16, 16, 'aes-128-cbc'),
  'aes192-cbc': entry('aes192-cbc', 'cbc', 24, 16, 16, 'aes-192-cbc'),
  'aes256-cbc': entry('aes256-cbc', 'cbc', 32, 16, 16, 'aes-256-cbc'),
  '3des-cbc': entry('3des-cbc', 'cbc', 24, 8, 8, 'des-ede3-cbc'),
};

export function cipherEntry(name: CipherName): CipherEntry {
  if (!Object.hasOwn(CIPHERS, name)) throw new RangeError(`cipher: unknown cipher ${JSON.stringify(name)}`);
  return CIPHERS[name];
}

export function cipherInfo(name: CipherName): CipherInfo {
  const { kind: _kind, openssl: _openssl, ...info } = cipherEntry(name);
  return info;
}

/** Checks and trims derived keys: RFC 4253 7.2 derives at least as many bytes as needed. */
export function takeKey(e: CipherEntry, what: 'key' | 'iv', bytes: Uint8Array): Uint8Array {
  const need = what === 'key' ? e.keyLength : e.ivLength;
  if (bytes.length < need) throw new RangeError(`cipher: ${e.name} needs a ${need}-byte ${what}, got ${bytes.length}`);
  return bytes.subarray(0, need);
}
