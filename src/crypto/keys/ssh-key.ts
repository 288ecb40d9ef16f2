/**
 * SSHKey: one public or private key of a type SSH uses, held as a node:crypto
 * KeyObject (fast path, and cloneable to worker threads), with its SSH public
 * blob, fingerprints, signing, and the OpenSSH text formats.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { KeyType, SignatureName } from '../../protocol/algorithms.js';
import type { SigningKeyRef } from '../../protocol/crypto-api.js';
import { fromUtf8 } from '../../protocol/wire.js';
import { KeyImportError } from '../../protocol/errors.js';
import { EC_CURVES, keyTypeOf, parsePublicBlob, publicBlobOf } from './key-blob.js';
import { signWithKey, verifyWithKey } from './signature.js';
import { formatOpensshPrivateKey, isOpensshPrivateKey, parseOpensshPrivateKey } from './openssh-private-format.js';

export type GeneratableKeyType = KeyType;

export class SSHKey {
  readonly keyType: KeyType;
  readonly publicBlob: Uint8Array;
  readonly publicKey: KeyObject;
  comment: string;
  readonly #privateKey: KeyObject | undefined;

  /** From a node KeyObject (private or public). Use the import/generate functions in normal code. */
  constructor(key: KeyObject, comment = '') {
    this.keyType = keyTypeOf(key);
    this.#privateKey = key.type === 'private' ? key : undefined;
    this.publicBlob = publicBlobOf(key);
    this.publicKey = key.type === 'private' ? parsePublicBlob(this.publicBlob).key : key;
    this.comment = comment;
  }

  get hasPrivate(): boolean {
    return this.#privateKey !== undefined;
  }

  /** Key size in bits as ssh-keygen -l prints it. */
  get bits(): number {
    const d = this.publicKey.asymmetricKeyDetails;
    if (this.keyType === 'ssh-ed25519') return 256;
    if (this.keyType === 'ssh-rsa') return d?.modulusLength ?? 0;
    return { 'ecdsa-sha2-nistp256': 256, 'ecdsa-sha2-nistp384': 384, 'ecdsa-sha2-nistp521': 521 }[this.keyType];
  }

  /** The signature blob string(algorithm) || string(signature) over `data`. */
  sign(algorithm: SignatureName, data: Uint8Array): Uint8Array {
    if (!this.#privateKey) throw new TypeError('key: cannot sign with a public key');
    return signWithKey(this.#privateKey, algorithm, data);
  }

  verify(algorithm: string, signatureBlob: Uint8Array, data: Uint8Array): boolean {
    return verifyWithKey(this.keyType, this.publicKey, algorithm, signatureBlob, data);
  }

  /** A handle the handshake core passes on; its KeyObject survives structured clone into a worker. */
  toSigningKeyRef(): SigningKeyRef {
    if (!this.#privateKey) throw new TypeError('key: a signing key reference needs a private key');
    return { keyType: this.keyType, publicBlob: this.publicBlob, handle: this.#privateKey };
  }

  /** As `ssh-keygen -l` prints it: "SHA256:" and unpadded base64. */
  fingerprintSHA256(): string {
    return 'SHA256:' + createHash('sha256').update(this.publicBlob).digest('base64').replace(/=+$/, '');
  }

  /** As `ssh-keygen -l -E md5` prints it: "MD5:" and colon-separated hex. */
  fingerprintMD5(): string {
    return 'MD5:' + (createHash('md5').update(this.publicBlob).digest('hex').match(/../g) ?? []).join(':');
  }

  /** One authorized_keys-style line: "type base64 [comment]". */
  exportPublicKey(format: 'openssh' = 'openssh'): string {
    if (format !== 'openssh') throw new RangeError(`format: unsupported public key format ${JSON.stringify(format)}`);
    const line = `${this.keyType} ${Buffer.from(this.publicBlob).toString('base64')}`;
    return this.comment ? `${line} ${this.comment}` : line;
  }

  exportPrivateKey(format: 'openssh' | 'pkcs8' = 'openssh'): string {
    if (!this.#privateKey) throw new TypeError('key: no private key to export');
    if (format === 'openssh') return formatOpensshPrivateKey(this.#privateKey, this.comment);
    if (format === 'pkcs8') return this.#privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    throw new RangeError(`format: unsupported private key format ${JSON.stringify(format)}`);
  }

  /** The same key without its private half. */
  publicOnly(): SSHKey {
    return new SSHKey(this.publicKey, this.comment);
  }
}

export function generatePrivateKey(type: GeneratableKeyType, options: { bits?: number; comment?: string } = {}): SSHKey {
  const comment = options.comment ?? '';
  switch (type) {
    case 'ssh-ed25519':
      return new SSHKey(generateKeyPairSync('ed25519').privateKey, comment);
    case 'ssh-rsa': {
      const bits = options.bits ?? 3072;
      if (!Number.isInteger(bits) || bits < 1024 || bits > 16384) throw new RangeError(`bits: RSA key size must be 1024..16384, got ${bits}`);
      return new SSHKey(generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 }).privateKey, comment);
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return new SSHKey(generateKeyPairSync('ec', { namedCurve: EC_CURVES[type].nodeCurve }).privateKey, comment);
    default:
      throw new RangeError(`type: unsupported key type ${JSON.stringify(type)}`);
  }
}

function asText(input: string | Uint8Array): string {
  if (typeof input === 'string') return input;
  try {
    return fromUtf8(input);
  } catch {
    throw new KeyImportError('key file is not UTF-8 text');
  }
}

/** An OpenSSH one-line public key ("type base64 [comment]") or a raw public key blob. */
export function importPublicKey(input: string | Uint8Array): SSHKey {
  if (input instanceof Uint8Array && !looksLikeText(input)) {
    return new SSHKey(parsePublicBlob(input).key);
  }
  const line = asText(input).trim().split(/\r?\n/)[0] ?? '';
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line);
  if (!m) throw new KeyImportError('not an OpenSSH public key line ("type base64 [comment]")');
  const blob = new Uint8Array(Buffer.from(m[2]!, 'base64'));
  const parsed = parsePublicBlob(blob);
  if (parsed.keyType !== m[1]) throw new KeyImportError(`public key line says ${m[1]} but its blob is ${parsed.keyType}`);
  return new SSHKey(parsed.key, m[3]?.trim() ?? '');
}

function looksLikeText(b: Uint8Array): boolean {
  // A blob starts with a uint32 length whose first byte is 0; text never does.
  return b.length > 0 && b[0] !== 0;
}

/**
 * An OpenSSH-format private key (unencrypted), or any PEM/DER private key
 * node:crypto reads (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"),
 * encrypted PKCS#8 with `passphrase`.
 */
export function importPrivateKey(input: string | Uint8Array, passphrase?: string | Uint8Array): SSHKey {
  const isDer = input instanceof Uint8Array && input[0] === 0x30;
  if (!isDer) {
    const text = asText(input);
    if (isOpensshPrivateKey(text)) {
      const { key, comment } = parseOpensshPrivateKey(text);
      return new SSHKey(key, comment);
    }
    if (!text.includes('-----BEGIN ')) throw new KeyImportError('not a private key (no PEM armor found)');
  }
  let key: KeyObject;
  try {
    const pass = passphrase === undefined ? undefined : Buffer.from(passphrase);
    key = isDer
      ? createPrivateKey({ key: Buffer.from(input as Uint8Array), format: 'der', type: 'pkcs8', passphrase: pass })
      : createPrivateKey({ key: asText(input), format: 'pem', passphrase: pass });
  } catch (err) {
    throw new KeyImportError(`cannot read private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new SSHKey(key);
}
