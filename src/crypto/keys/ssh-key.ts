/**
 * SSHKey: one public or private key of a type SSH uses, held as a node:crypto
 * KeyObject (fast path, and cloneable to worker threads), with its SSH public
 * blob, fingerprints, signing, and the OpenSSH text formats.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { generateKeyObject } from './keygen.js';
import type { KeyType, SignatureName } from '../../protocol/algorithms.js';
import type { SigningKeyRef } from '../../protocol/crypto-api.js';
import { EC_CURVES, keyTypeOf, parsePublicBlob, publicBlobOf } from './key-blob.js';
import { signWithKey, verifyWithKey } from './signature.js';
import { formatOpensshPrivateKey } from './openssh-private-format.js';
import { formatPemPrivateKey } from './pem-private-format.js';
import { formatPpk } from './ppk-format.js';
import { decodePublicKeys, formatRfc4716 } from './public-key-formats.js';
import { decodePrivateKeyFile, finishInline, passphraseBytes, type Passphrase } from './private-key-decode.js';
import type { DecodedKey } from './key-kdf.js';

export type { Passphrase } from './private-key-decode.js';

/** Private key file formats exportPrivateKey writes ('pkcs8' is an alias of 'pkcs8-pem'). */
export type PrivateKeyFormat = 'openssh' | 'pkcs1-pem' | 'sec1-pem' | 'pkcs8-pem' | 'pkcs8' | 'ppk2' | 'ppk3';
/** Public key formats exportPublicKey writes ('spki-pem' is an alias of 'pkcs8-pem'). */
export type PublicKeyFormat = 'openssh' | 'rfc4716' | 'pkcs8-pem' | 'spki-pem' | 'pkcs1-pem';

export interface ExportPrivateKeyOptions {
  /** OpenSSH format: cipher (default aes256-ctr) and bcrypt rounds (default 16). PEM PKCS#1/SEC1: legacy cipher (default AES-128-CBC). */
  readonly cipher?: string;
  readonly rounds?: number;
  /** PPK v3: Argon2id cost (default memory 8192 KiB, 13 passes, parallelism 1). */
  readonly argon2?: { readonly memory?: number; readonly passes?: number; readonly parallelism?: number };
}

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

  /** AsyncSSH's get_comment. */
  getComment(): string {
    return this.comment;
  }

  /** AsyncSSH's set_comment: the comment written by export and writePrivateKey/writePublicKey; one line of text. */
  setComment(comment: string): void {
    if (typeof comment !== 'string' || /[\r\n\0]/.test(comment)) throw new TypeError('comment: expected one line of text');
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
    return { keyType: this.keyType, publicBlob: this.publicBlob, handle: this.#privateKey, inProcess: true };
  }

  /** As `ssh-keygen -l` prints it: "SHA256:" and unpadded base64. */
  fingerprintSHA256(): string {
    return 'SHA256:' + createHash('sha256').update(this.publicBlob).digest('base64').replace(/=+$/, '');
  }

  /** As `ssh-keygen -l -E md5` prints it: "MD5:" and colon-separated hex. */
  fingerprintMD5(): string {
    return 'MD5:' + (createHash('md5').update(this.publicBlob).digest('hex').match(/../g) ?? []).join(':');
  }

  /**
   * 'openssh': one authorized_keys-style line "type base64 [comment]";
   * 'rfc4716': an SSH2 PUBLIC KEY block; 'pkcs8-pem' (alias 'spki-pem'):
   * X.509 SubjectPublicKeyInfo PEM; 'pkcs1-pem': RSA PUBLIC KEY PEM (RSA only).
   */
  exportPublicKey(format: PublicKeyFormat = 'openssh'): string {
    switch (format) {
      case 'openssh': {
        const line = `${this.keyType} ${Buffer.from(this.publicBlob).toString('base64')}`;
        return this.comment ? `${line} ${this.comment}` : line;
      }
      case 'rfc4716':
        return formatRfc4716(this.publicBlob, this.comment);
      case 'pkcs8-pem':
      case 'spki-pem':
        return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      case 'pkcs1-pem':
        if (this.keyType !== 'ssh-rsa') throw new RangeError(`format: pkcs1-pem holds RSA keys only, not ${this.keyType}`);
        return this.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString();
      default:
        throw new RangeError(`format: unsupported public key format ${JSON.stringify(format)}`);
    }
  }

  /**
   * The private key as file text; encrypted when `passphrase` is given
   * (OpenSSH: bcrypt + aes256-ctr; PKCS#1/SEC1: legacy PEM AES-128-CBC;
   * PKCS#8: PBES2; PPK: aes256-cbc with SHA-1 (v2) or Argon2id (v3) keys).
   */
  exportPrivateKey(format: PrivateKeyFormat = 'openssh', passphrase?: Passphrase, options: ExportPrivateKeyOptions = {}): string {
    if (!this.#privateKey) throw new TypeError('key: no private key to export');
    const pass = passphraseBytes(passphrase);
    switch (format) {
      case 'openssh':
        return formatOpensshPrivateKey(this.#privateKey, this.comment, { passphrase: pass, cipher: options.cipher, rounds: options.rounds });
      case 'pkcs1-pem':
      case 'sec1-pem':
      case 'pkcs8-pem':
        return formatPemPrivateKey(this.#privateKey, format, pass, options.cipher);
      case 'pkcs8':
        return formatPemPrivateKey(this.#privateKey, 'pkcs8-pem', pass);
      case 'ppk2':
      case 'ppk3':
        return formatPpk(this.#privateKey, this.comment, format === 'ppk2' ? 2 : 3, { passphrase: pass, argon2: options.argon2 });
      default:
        throw new RangeError(`format: unsupported private key format ${JSON.stringify(format)}`);
    }
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
      return new SSHKey(generateKeyObject('ed25519'), comment);
    case 'ssh-rsa': {
      const bits = options.bits ?? 3072;
      if (!Number.isInteger(bits) || bits < 1024 || bits > 16384) throw new RangeError(`bits: RSA key size must be 1024..16384, got ${bits}`);
      return new SSHKey(generateKeyObject('rsa', { modulusLength: bits }), comment);
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return new SSHKey(generateKeyObject('ec', { namedCurve: EC_CURVES[type].nodeCurve }), comment);
    default:
      throw new RangeError(`type: unsupported key type ${JSON.stringify(type)}`);
  }
}

/** From a decoded file section (used by the sync and worker-backed importers). */
export function keyFromDecoded(d: DecodedKey): SSHKey {
  return new SSHKey(d.key, d.comment);
}

/**
 * A public key: OpenSSH one-line, RFC 4716, SPKI ("PUBLIC KEY") or PKCS#1
 * ("RSA PUBLIC KEY") PEM, SPKI DER, or a raw SSH public key blob. The first
 * key when the input holds several.
 */
export function importPublicKey(input: string | Uint8Array): SSHKey {
  return importPublicKeys(input)[0]!;
}

/** Every public key in `input` (e.g. a file of OpenSSH lines or RFC 4716 blocks). */
export function importPublicKeys(input: string | Uint8Array): SSHKey[] {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('input: expected public key text or bytes');
  return decodePublicKeys(input).map((d) => new SSHKey(d.key, d.comment));
}

/**
 * A private key in any supported format: OpenSSH (plain or bcrypt-encrypted),
 * PEM PKCS#1 / SEC1 (plain or legacy-encrypted), PKCS#8 (plain or PBES2),
 * DER, PuTTY PPK v2/v3. The first key when the file holds several. The KDF
 * runs on this thread: use importPrivateKeyAsync (src/workers/key-import.ts)
 * for encrypted keys in a server or client that must stay responsive.
 */
export function importPrivateKey(input: string | Uint8Array, passphrase?: Passphrase): SSHKey {
  return keyFromDecoded(finishInline(decodePrivateKeyFile(input, passphrase)[0]!)[0]!);
}

/** Every private key in `input` (several PEM blocks, or an OpenSSH file holding several keys); one passphrase for all. */
export function importPrivateKeys(input: string | Uint8Array, passphrase?: Passphrase): SSHKey[] {
  return decodePrivateKeyFile(input, passphrase).flatMap((p) => finishInline(p).map(keyFromDecoded));
}
