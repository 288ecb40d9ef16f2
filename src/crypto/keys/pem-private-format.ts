/**
 * PEM and DER private keys: PKCS#1 "RSA PRIVATE KEY" (RFC 8017 A.1.2), SEC1
 * "EC PRIVATE KEY" (RFC 5915), PKCS#8 "PRIVATE KEY" and "ENCRYPTED PRIVATE
 * KEY" (RFC 5958, PBES2 of RFC 8018). The ASN.1 is node:crypto's; this file
 * does the armor and the legacy OpenSSL PEM encryption (RFC 1421 headers
 * "Proc-Type: 4,ENCRYPTED" and "DEK-Info: <cipher>,<hex IV>", key from
 * EVP_BytesToKey with MD5, one iteration, salt = first 8 bytes of the IV).
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { KeyImportError } from '../../protocol/errors.js';
import type { DecodedKey } from './key-kdf.js';
import { keyTypeOf } from './key-blob.js';

export interface PemBlock {
  readonly label: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** Every "-----BEGIN <label>-----" ... "-----END <label>-----" block in `text`, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const headers = new Map<string, string>();
    const lines = m[2]!.split(/\r?\n/);
    let i = 0;
    if (lines.some((l) => /^[A-Za-z-]+:/.test(l))) {
      for (; i < lines.length && lines[i]!.trim() !== ''; i++) {
        const h = /^([A-Za-z-]+):\s*(.*)$/.exec(lines[i]!);
        if (!h) throw new KeyImportError(`PEM ${m[1]} block has a malformed header line`);
        headers.set(h[1]!.toLowerCase(), h[2]!.trim());
      }
    }
    const b64 = lines.slice(i).join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw new KeyImportError(`PEM ${m[1]} block body is not base64`);
    out.push({ label: m[1]!, headers, body: new Uint8Array(Buffer.from(b64, 'base64')) });
  }
  if (out.length === 0 && text.includes('-----BEGIN ')) throw new KeyImportError('PEM armor is incomplete (no matching END line: truncated?)');
  return out;
}

export function armorPem(label: string, der: Uint8Array, headers: ReadonlyArray<[string, string]> = []): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  const head = headers.length ? headers.map(([k, v]) => `${k}: ${v}\n`).join('') + '\n' : '';
  return `-----BEGIN ${label}-----\n${head}${lines.join('\n')}\n-----END ${label}-----\n`;
}

interface LegacyCipher {
  readonly node: string;
  readonly keyLen: number;
  readonly ivLen: number;
}

const LEGACY_CIPHERS: Record<string, LegacyCipher> = {
  'AES-128-CBC': { node: 'aes-128-cbc', keyLen: 16, ivLen: 16 },
  'AES-192-CBC': { node: 'aes-192-cbc', keyLen: 24, ivLen: 16 },
  'AES-256-CBC': { node: 'aes-256-cbc', keyLen: 32, ivLen: 16 },
  'DES-EDE3-CBC': { node: 'des-ede3-cbc', keyLen: 24, ivLen: 8 },
};

/** OpenSSL's EVP_BytesToKey with MD5 and one iteration: D_i = MD5(D_{i-1} || pass || salt). */
export function evpBytesToKeyMd5(passphrase: Uint8Array, salt: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let prev: Uint8Array = new Uint8Array(0);
  for (let filled = 0; filled < length; ) {
    prev = new Uint8Array(createHash('md5').update(prev).update(passphrase).update(salt).digest());
    const n = Math.min(prev.length, length - filled);
    out.set(prev.subarray(0, n), filled);
    filled += n;
  }
  return out;
}

const DER_TYPES: Record<string, 'pkcs1' | 'sec1' | 'pkcs8'> = { 'RSA PRIVATE KEY': 'pkcs1', 'EC PRIVATE KEY': 'sec1', 'PRIVATE KEY': 'pkcs8' };

export const PEM_PRIVATE_LABELS = [...Object.keys(DER_TYPES), 'ENCRYPTED PRIVATE KEY'];

function derKey(der: Uint8Array, type: 'pkcs1' | 'sec1' | 'pkcs8', what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type });
  } catch (err) {
    throw new KeyImportError(`${what} is malformed: ${err instanceof Error ? err.message : String(err)}`);
  }
  keyTypeOf(key);
  return key;
}

function decryptLegacy(block: PemBlock, passphrase: Uint8Array | undefined): Uint8Array {
  const dek = block.headers.get('dek-info');
  if (!dek) throw new KeyImportError(`PEM ${block.label} is encrypted but has no DEK-Info header`);
  const [cipherName, ivHex] = dek.split(',').map((s) => s.trim());
  const c = LEGACY_CIPHERS[cipherName!.toUpperCase()];
  if (!c) throw new KeyImportError(`PEM encryption cipher ${JSON.stringify(cipherName)} is not supported`);
  if (!ivHex || !/^[0-9a-fA-F]+$/.test(ivHex) || ivHex.length !== 2 * c.ivLen) throw new KeyImportError(`PEM DEK-Info IV must be ${c.ivLen} hex bytes`);
  if (passphrase === undefined) throw new KeyImportError(`PEM ${block.label} is encrypted: a passphrase is required`);
  if (block.body.length === 0 || block.body.length % c.ivLen !== 0) throw new KeyImportError(`PEM ${block.label} ciphertext is not a whole number of blocks (truncated?)`);
  const iv = Buffer.from(ivHex, 'hex');
  const key = evpBytesToKeyMd5(passphrase, iv.subarray(0, 8), c.keyLen);
  try {
    const d = createDecipheriv(c.node, key, iv);
    return new Uint8Array(Buffer.concat([d.update(block.body), d.final()]));
  } catch {
    throw new KeyImportError(`PEM ${block.label}: wrong passphrase (bad padding after decryption)`);
  } finally {
    key.fill(0);
  }
}

/** One PEM private key block; `passphrase` for legacy-encrypted PKCS#1/SEC1 and for PKCS#8 PBES2. */
export function decodePemPrivateKey(block: PemBlock, passphrase: Uint8Array | undefined): DecodedKey {
  if (block.label === 'ENCRYPTED PRIVATE KEY') return { key: decryptPkcs8(block.body, passphrase), comment: '' };
  const type = DER_TYPES[block.label];
  if (!type) throw new KeyImportError(`PEM ${JSON.stringify(block.label)} is not a supported private key type`);
  const proc = block.headers.get('proc-type');
  if (proc !== undefined) {
    if (!/^4,\s*ENCRYPTED$/i.test(proc)) throw new KeyImportError(`PEM Proc-Type ${JSON.stringify(proc)} is not supported`);
    const der = decryptLegacy(block, passphrase);
    try {
      return { key: derKey(der, type, `PEM ${block.label}`), comment: '' };
    } catch (err) {
      throw new KeyImportError(`PEM ${block.label}: wrong passphrase or corrupt key (${(err as Error).message})`);
    } finally {
      der.fill(0);
    }
  }
  return { key: derKey(block.body, type, `PEM ${block.label}`), comment: '' };
}

function decryptPkcs8(der: Uint8Array, passphrase: Uint8Array | undefined): KeyObject {
  if (passphrase === undefined) throw new KeyImportError('PKCS#8 private key is encrypted: a passphrase is required');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8', passphrase: Buffer.from(passphrase) });
  } catch (err) {
    throw new KeyImportError(`encrypted PKCS#8 private key: wrong passphrase or corrupt key (${err instanceof Error ? err.message : String(err)})`);
  }
  keyTypeOf(key);
  return key;
}

/**
 * A DER private key: PKCS#8 (plain, or encrypted when a passphrase is given),
 * PKCS#1 RSA or SEC1 EC; the first structure that parses wins.
 */
export function decodeDerPrivateKey(der: Uint8Array, passphrase: Uint8Array | undefined): DecodedKey {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return { key: derKey(der, type, 'DER private key'), comment: '' };
    } catch {
      // try the next structure
    }
  }
  if (passphrase !== undefined) return { key: decryptPkcs8(der, passphrase), comment: '' };
  throw new KeyImportError('DER input is not a PKCS#8, PKCS#1 or SEC1 private key (or it is encrypted and needs a passphrase)');
}

export type PemPrivateFormat = 'pkcs1-pem' | 'sec1-pem' | 'pkcs8-pem';

/**
 * PEM text of a private key. With a passphrase: PKCS#1/SEC1 use legacy PEM
 * encryption with `cipher` (default AES-128-CBC, as ssh-keygen -m PEM writes),
 * PKCS#8 uses PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC).
 */
export function formatPemPrivateKey(key: KeyObject, format: PemPrivateFormat, passphrase?: Uint8Array, cipher = 'AES-128-CBC'): string {
  const keyType = keyTypeOf(key);
  if (format === 'pkcs8-pem') {
    if (passphrase === undefined) return key.export({ format: 'pem', type: 'pkcs8' }).toString();
    return key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: Buffer.from(passphrase) }).toString();
  }
  if (format === 'pkcs1-pem' && keyType !== 'ssh-rsa') throw new RangeError(`format: pkcs1-pem holds RSA keys only, not ${keyType}`);
  if (format === 'sec1-pem' && !keyType.startsWith('ecdsa-')) throw new RangeError(`format: sec1-pem holds ECDSA keys only, not ${keyType}`);
  const type = format === 'pkcs1-pem' ? 'pkcs1' : 'sec1';
  const label = format === 'pkcs1-pem' ? 'RSA PRIVATE KEY' : 'EC PRIVATE KEY';
  const der = new Uint8Array(key.export({ format: 'der', type }));
  if (passphrase === undefined) return armorPem(label, der);
  const c = LEGACY_CIPHERS[cipher.toUpperCase()];
  if (!c) throw new RangeError(`cipher: unsupported PEM cipher ${JSON.stringify(cipher)}`);
  const iv = randomBytes(c.ivLen);
  const k = evpBytesToKeyMd5(passphrase, iv.subarray(0, 8), c.keyLen);
  const e = createCipheriv(c.node, k, iv);
  const body = new Uint8Array(Buffer.concat([e.update(der), e.final()]));
  k.fill(0);
  der.fill(0);
  return armorPem(label, body, [['Proc-Type', '4,ENCRYPTED'], ['DEK-Info', `${cipher.toUpperCase()},${iv.toString('hex').toUpperCase()}`]]);
}
