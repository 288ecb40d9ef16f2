/**
 * Recognises a private key file's format and decodes it into pending keys
 * (see key-kdf.ts): OpenSSH, PEM (PKCS#1, SEC1, PKCS#8, encrypted forms),
 * DER, and PuTTY PPK. A file may hold several PEM/OpenSSH blocks; other
 * blocks (certificates, public keys) are skipped.
 */
import { KeyImportError } from '../../protocol/errors.js';
import { fromUtf8, utf8 } from '../../protocol/wire.js';
import { deriveKey, ready, type DecodedKey, type PendingKeys } from './key-kdf.js';
import { decodeOpensshPrivateKey } from './openssh-private-format.js';
import { PEM_PRIVATE_LABELS, decodeDerPrivateKey, decodePemPrivateKey, pemBlocks } from './pem-private-format.js';
import { decodePpk, isPpk } from './ppk-format.js';

export type Passphrase = string | Uint8Array;

export function passphraseBytes(passphrase: Passphrase | undefined): Uint8Array | undefined {
  if (passphrase === undefined || passphrase === null) return undefined;
  if (typeof passphrase === 'string') return utf8(passphrase);
  if (passphrase instanceof Uint8Array) return passphrase;
  throw new TypeError('passphrase: expected a string or Uint8Array');
}

function keyText(input: string | Uint8Array): string {
  if (typeof input === 'string') return input;
  try {
    return fromUtf8(input);
  } catch {
    throw new KeyImportError('key file is neither DER nor UTF-8 text');
  }
}

/** Decodes every private key section of `input` without running any KDF yet. */
export function decodePrivateKeyFile(input: string | Uint8Array, passphrase?: Passphrase): PendingKeys[] {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('input: expected key file text or bytes');
  const pass = passphraseBytes(passphrase);
  if (input instanceof Uint8Array && input[0] === 0x30) return [wrap(() => ready([decodeDerPrivateKey(input, pass)]))];
  const text = keyText(input);
  if (text.trim() === '') throw new KeyImportError('key file is empty');
  if (isPpk(text)) return [decodePpk(text, pass)];
  if (!text.includes('-----BEGIN ')) throw new KeyImportError('not a private key: no PEM armor or PuTTY header found');
  const out: PendingKeys[] = [];
  for (const block of pemBlocks(text)) {
    if (block.label === 'OPENSSH PRIVATE KEY') {
      const armored = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(block.body).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      out.push(decodeOpensshPrivateKey(armored, pass));
    } else if (PEM_PRIVATE_LABELS.includes(block.label)) {
      out.push(wrap(() => ready([decodePemPrivateKey(block, pass)])));
    } else if (/PRIVATE KEY/.test(block.label)) {
      throw new KeyImportError(`unsupported private key type: PEM ${JSON.stringify(block.label)}`);
    }
  }
  if (out.length === 0) throw new KeyImportError('no private key found in PEM input');
  return out;
}

function wrap(fn: () => PendingKeys): PendingKeys {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyImportError || err instanceof TypeError) throw err;
    throw new KeyImportError(`malformed private key: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Runs a pending section's KDF inline (on this thread) and finishes it. */
export function finishInline(p: PendingKeys): DecodedKey[] {
  let derived: Uint8Array | null = null;
  if (p.kdf) {
    try {
      derived = deriveKey(p.kdf);
    } catch (err) {
      throw new KeyImportError(`key derivation failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    return p.finish(derived);
  } finally {
    derived?.fill(0);
  }
}
