/**
 * Algorithm names, one string-literal union per family, with the default and
 * opt-in (legacy) preference lists. This is the only table of names; crypto
 * implementations register against these names in src/crypto.
 */

export const KEX_ALGORITHMS = [
  'mlkem768x25519-sha256',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
  // legacy, opt-in only
  'diffie-hellman-group14-sha1',
  'diffie-hellman-group1-sha1',
  'diffie-hellman-group-exchange-sha1',
] as const;
export type KexName = (typeof KEX_ALGORITHMS)[number];

export const DEFAULT_KEX: readonly KexName[] = [
  'mlkem768x25519-sha256',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];

export const CIPHER_ALGORITHMS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  // legacy, opt-in only
  'aes128-cbc',
  'aes192-cbc',
  'aes256-cbc',
  '3des-cbc',
] as const;
export type CipherName = (typeof CIPHER_ALGORITHMS)[number];

export const DEFAULT_CIPHERS: readonly CipherName[] = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export const MAC_ALGORITHMS = [
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-sha1',
] as const;
export type MacName = (typeof MAC_ALGORITHMS)[number];

export const DEFAULT_MACS: readonly MacName[] = [...MAC_ALGORITHMS];

export const COMPRESSION_ALGORITHMS = ['none', 'zlib@openssh.com', 'zlib'] as const;
export type CompressionName = (typeof COMPRESSION_ALGORITHMS)[number];
export const DEFAULT_COMPRESSION: readonly CompressionName[] = ['none'];

export const SIGNATURE_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  // legacy, opt-in only
  'ssh-rsa',
] as const;
export type SignatureName = (typeof SIGNATURE_ALGORITHMS)[number];

export const DEFAULT_SIGNATURES: readonly SignatureName[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

/** Key types (the name inside a public key blob). */
export const KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** The signature algorithms a key type can produce. */
export function signatureAlgorithmsForKeyType(keyType: string): SignatureName[] {
  switch (keyType) {
    case 'ssh-ed25519':
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return [keyType];
    case 'ssh-rsa':
      return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    default:
      return [];
  }
}

/** The key type that produces a signature algorithm. */
export function keyTypeForSignature(alg: string): KeyType | undefined {
  if (alg === 'rsa-sha2-256' || alg === 'rsa-sha2-512' || alg === 'ssh-rsa') return 'ssh-rsa';
  return (KEY_TYPES as readonly string[]).includes(alg) ? (alg as KeyType) : undefined;
}

/**
 * Resolves a user's algorithm list against the known names. Accepts OpenSSH's
 * "+alg" (append), "-alg" (remove) and "^alg" (prepend) forms relative to the
 * defaults. Unknown names are a RangeError naming the option.
 */
export function resolveAlgorithmList<T extends string>(
  option: string,
  value: readonly string[] | string | undefined,
  all: readonly T[],
  defaults: readonly T[],
): T[] {
  if (value === undefined) return [...defaults];
  const raw = typeof value === 'string' ? value : value.join(',');
  const check = (names: string[]): T[] => {
    for (const n of names) {
      if (!(all as readonly string[]).includes(n)) throw new RangeError(`${option}: unknown algorithm ${JSON.stringify(n)}`);
    }
    return names as T[];
  };
  if (raw.startsWith('+')) {
    const extra = check(raw.slice(1).split(',').filter(Boolean));
    return [...defaults, ...extra.filter((n) => !defaults.includes(n))];
  }
  if (raw.startsWith('-')) {
    const drop = check(raw.slice(1).split(',').filter(Boolean));
    return defaults.filter((n) => !drop.includes(n));
  }
  if (raw.startsWith('^')) {
    const first = check(raw.slice(1).split(',').filter(Boolean));
    return [...first, ...defaults.filter((n) => !first.includes(n))];
  }
  const list = check(raw.split(',').filter(Boolean));
  if (list.length === 0) throw new RangeError(`${option}: empty algorithm list`);
  return list;
}
