/**
 * SSHCertificate: an OpenSSH certificate (protocol/certificate.ts codec) with
 * the crypto around it — checking the CA's signature, signing new
 * certificates with a CA key, and the one-line `*-cert.pub` text format.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DEFAULT_SIGNATURES, type SignatureName, signatureAlgorithmsForKeyType } from '../../protocol/algorithms.js';
import type { SigningKeyRef } from '../../protocol/crypto-api.js';
import {
  type CertTypeName,
  type OpenSSHCertificate,
  CERT_FOREVER,
  CertificateError,
  DEFAULT_USER_EXTENSIONS,
  certCriticalOption,
  encodeCertificate,
  encodeCertificateBody,
  isCertKeyType,
  parseCertificate,
} from '../../protocol/certificate.js';
import { type CertificateCheck, authorizeHostCertificate, checkCertificate, isCidrList } from '../../protocol/certificate-validation.js';
import type { KnownHosts } from '../../protocol/known-hosts.js';
import { Reader, fromUtf8, equalBytes } from '../../protocol/wire.js';
import { SSHKey, importPublicKey } from './ssh-key.js';
import { verifySignature } from './signature.js';
import { parseCertTime } from './certificate-time.js';

export { parseCertTime } from './certificate-time.js';

/** CA signature algorithms accepted by default (OpenSSH CASignatureAlgorithms: no ssh-rsa/SHA-1). */
export const DEFAULT_CA_SIGNATURE_ALGORITHMS: readonly SignatureName[] = DEFAULT_SIGNATURES;

/**
 * Whether the CA's signature over the certificate is valid and made with an
 * accepted algorithm. Never throws.
 */
export function verifyCertificateSignature(cert: OpenSSHCertificate, allowed: readonly string[] = DEFAULT_CA_SIGNATURE_ALGORITHMS): boolean {
  try {
    const alg = fromUtf8(new Reader(cert.signature, 'signature').string('algorithm', 64));
    if (!allowed.includes(alg)) return false;
    return verifySignature(cert.signatureKey, alg, cert.signature, cert.signedData);
  } catch {
    return false;
  }
}

export class SSHCertificate {
  readonly cert: OpenSSHCertificate;
  comment: string;
  /** The certified key (public only). */
  readonly subjectKey: SSHKey;
  /** The CA's public key. */
  readonly caKey: SSHKey;

  constructor(cert: OpenSSHCertificate, comment = '') {
    this.cert = cert;
    this.comment = comment;
    try {
      this.subjectKey = importPublicKey(cert.publicKeyBlob);
      this.caKey = importPublicKey(cert.signatureKey);
    } catch (err) {
      throw new CertificateError('malformed', `certificate key: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  get certKeyType(): string {
    return this.cert.certKeyType;
  }
  get blob(): Uint8Array {
    return this.cert.blob;
  }
  get type(): CertTypeName {
    return this.cert.type;
  }
  get keyId(): string {
    return this.cert.keyId;
  }
  get principals(): readonly string[] {
    return this.cert.principals;
  }
  get serial(): bigint {
    return this.cert.serial;
  }
  get validAfter(): bigint {
    return this.cert.validAfter;
  }
  get validBefore(): bigint {
    return this.cert.validBefore;
  }
  /** force-command, when the certificate carries one. */
  get forceCommand(): string | undefined {
    return certCriticalOption(this.cert, 'force-command') ?? undefined;
  }
  get sourceAddress(): string | undefined {
    return certCriticalOption(this.cert, 'source-address') ?? undefined;
  }
  get extensions(): string[] {
    return this.cert.extensions.map((e) => e.name);
  }

  /** The CA signature check (see verifyCertificateSignature). */
  verifySignature(allowed?: readonly string[]): boolean {
    return verifyCertificateSignature(this.cert, allowed);
  }

  /**
   * The CA signature, then type, window, principals, critical options and
   * source-address (checkCertificate). `now` defaults to the clock.
   * Throws CertificateError naming the failed check.
   */
  validate(check: Omit<CertificateCheck, 'now'> & { now?: number; caSignatureAlgorithms?: readonly string[] }): void {
    if (!this.verifySignature(check.caSignatureAlgorithms)) {
      throw new CertificateError('bad-signature', `certificate ${JSON.stringify(this.keyId)}: CA signature does not verify`);
    }
    checkCertificate(this.cert, { ...check, now: check.now ?? Date.now() });
  }

  /** Whether this certificate certifies `key`. */
  certifies(key: SSHKey): boolean {
    return equalBytes(key.publicBlob, this.cert.publicKeyBlob);
  }

  /** The `*-cert.pub` line: "type base64 [comment]". */
  exportCertificate(): string {
    const line = `${this.cert.certKeyType} ${Buffer.from(this.cert.blob).toString('base64')}`;
    return this.comment ? `${line} ${this.comment}` : line;
  }
}

function looksLikeBlob(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0;
}

/** A certificate from a `*-cert.pub` line or a raw certificate blob (the first certificate line of a text). Throws CertificateError. */
export function importCertificate(input: string | Uint8Array): SSHCertificate {
  if (input instanceof Uint8Array && looksLikeBlob(input)) return new SSHCertificate(parseCertificate(input));
  const line = certificateLines(input)[0];
  if (line === undefined) throw new CertificateError('malformed', 'not a certificate line ("type base64 [comment]")');
  return certificateFromLine(line.text);
}

/**
 * Every certificate in a text of `*-cert.pub` lines, one a line; blank lines
 * and `#` comments are skipped (AsyncSSH's import of a certificate list). A
 * raw certificate blob gives a list of one. A bad line throws CertificateError
 * naming it.
 */
export function importCertificateList(input: string | Uint8Array): SSHCertificate[] {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('input: expected certificate text or bytes');
  if (input instanceof Uint8Array && looksLikeBlob(input)) return [new SSHCertificate(parseCertificate(input))];
  return certificateLines(input).map(({ text, number }) => {
    try {
      return certificateFromLine(text);
    } catch (err) {
      if (err instanceof CertificateError) throw new CertificateError(err.reason, `line ${number}: ${err.message}`);
      throw err;
    }
  });
}

function certificateLines(input: string | Uint8Array): { text: string; number: number }[] {
  let text: string;
  try {
    text = typeof input === 'string' ? input : fromUtf8(input);
  } catch {
    throw new CertificateError('malformed', 'certificate file is not UTF-8 text');
  }
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), number: i + 1 }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
}

function certificateFromLine(line: string): SSHCertificate {
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line);
  if (!m) throw new CertificateError('malformed', 'not a certificate line ("type base64 [comment]")');
  if (!isCertKeyType(m[1]!)) throw new CertificateError('malformed', `${JSON.stringify(m[1])} is not a certificate type`);
  const cert = parseCertificate(new Uint8Array(Buffer.from(m[2]!, 'base64')));
  if (cert.certKeyType !== m[1]) throw new CertificateError('malformed', `certificate line says ${m[1]} but its blob is ${cert.certKeyType}`);
  return new SSHCertificate(cert, m[3]?.trim() ?? '');
}

/** Reads a `*-cert.pub` file. */
export async function readCertificate(path: string): Promise<SSHCertificate> {
  return withPath(path, importCertificate);
}

/** Reads every certificate in a file, one a line (AsyncSSH's read_certificate_list). */
export async function readCertificateList(path: string): Promise<SSHCertificate[]> {
  return withPath(path, importCertificateList);
}

async function withPath<T>(path: string, parse: (text: string) => T): Promise<T> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  const text = await readFile(path, 'utf8');
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof CertificateError) throw new CertificateError(err.reason, `${path}: ${err.message}`);
    throw err;
  }
}

export type CertTime = Date | bigint | number | string;

export interface CreateCertificateOptions {
  type: CertTypeName;
  keyId?: string;
  /** Empty = valid for any principal (ssh-keygen without -n). */
  principals?: readonly string[];
  /** Date, seconds since the epoch (number or bigint), or ssh-keygen -V text: "+1h", "-5m", "20250101", "always". Default: always. */
  validAfter?: CertTime;
  /** As validAfter; default "forever". */
  validBefore?: CertTime;
  /**
   * Critical options by OpenSSH name ('force-command', 'source-address',
   * 'verify-required') or camelCase (forceCommand, sourceAddress,
   * verifyRequired): a string value, a list (joined with commas) or true for a flag.
   */
  criticalOptions?: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  /** Extension names (a list or a name -> true/value map). Default: all permit-* for user certificates, none for host ones. */
  extensions?: readonly string[] | Readonly<Record<string, string | boolean | undefined>>;
  serial?: bigint | number;
  /** For an RSA CA: rsa-sha2-512 (default) or rsa-sha2-256. */
  signatureAlgorithm?: SignatureName;
  comment?: string;
  /** Nonce (default 32 random bytes). */
  nonce?: Uint8Array;
  /** "Now" for relative times, in ms (default Date.now()). */
  now?: number;
}

const CAMEL: Readonly<Record<string, string>> = { forceCommand: 'force-command', sourceAddress: 'source-address', verifyRequired: 'verify-required' };

function optionMap(input: Readonly<Record<string, string | boolean | readonly string[] | undefined>> | readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: [string, unknown][] = Array.isArray(input) ? (input as readonly string[]).map((n) => [n, true]) : Object.entries(input);
  for (const [rawName, v] of entries) {
    const name = CAMEL[rawName] ?? rawName;
    if (typeof name !== 'string' || name === '') throw new TypeError(`${what}: option names must be non-empty strings`);
    if (v === undefined || v === false) continue;
    if (v === true) out[name] = '';
    else if (typeof v === 'string') out[name] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = v.join(',');
    else throw new TypeError(`${what}: ${name} must be a string, a list of strings or true`);
  }
  return out;
}

/**
 * Signs `subject` (a public key, or its blob) with `caKey` into a new
 * certificate. Throws TypeError/RangeError naming a bad option.
 */
export function createCertificate(caKey: SSHKey, subject: SSHKey | Uint8Array, options: CreateCertificateOptions): SSHCertificate {
  if (!(caKey instanceof SSHKey) || !caKey.hasPrivate) throw new TypeError('caKey: a private SSHKey is needed to sign certificates');
  const subjectKey = subject instanceof SSHKey ? subject : importPublicKey(subject);
  if (options?.type !== 'user' && options?.type !== 'host') throw new TypeError(`type: must be 'user' or 'host'`);
  const now = options.now ?? Date.now();
  const validAfter = options.validAfter === undefined ? 0n : parseCertTime(options.validAfter, now, 'validAfter');
  const validBefore = options.validBefore === undefined ? CERT_FOREVER : parseCertTime(options.validBefore, now, 'validBefore');
  if (validBefore <= validAfter) throw new RangeError('validBefore: must be later than validAfter');
  const principals = options.principals ?? [];
  if (!Array.isArray(principals) || principals.some((p) => typeof p !== 'string' || p === '')) {
    throw new TypeError('principals: expected a list of non-empty strings');
  }
  const criticalOptions = optionMap(options.criticalOptions ?? {}, 'criticalOptions');
  const source = criticalOptions['source-address'];
  if (source !== undefined && !isCidrList(source)) {
    throw new RangeError(`criticalOptions: source-address must be a comma list of CIDR networks, got ${JSON.stringify(source)}`);
  }
  const extensions = optionMap(options.extensions ?? (options.type === 'user' ? DEFAULT_USER_EXTENSIONS : []), 'extensions');
  const serial = BigInt(options.serial ?? 0);
  const algorithm = options.signatureAlgorithm ?? (caKey.keyType === 'ssh-rsa' ? 'rsa-sha2-512' : (caKey.keyType as SignatureName));
  if (!signatureAlgorithmsForKeyType(caKey.keyType).includes(algorithm)) {
    throw new RangeError(`signatureAlgorithm: ${algorithm} cannot be made with a ${caKey.keyType} CA key`);
  }
  const body = encodeCertificateBody({
    certKeyType: `${subjectKey.keyType}-cert-v01@openssh.com` as OpenSSHCertificate['certKeyType'],
    nonce: options.nonce ?? new Uint8Array(randomBytes(32)),
    publicKeyBlob: subjectKey.publicBlob,
    serial,
    type: options.type,
    keyId: options.keyId ?? '',
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey: caKey.publicBlob,
  });
  const cert = parseCertificate(encodeCertificate(body, caKey.sign(algorithm, body)));
  return new SSHCertificate(cert, options.comment ?? subjectKey.comment);
}

/**
 * A private key that authenticates with its certificate: it is an SSHKey (so
 * it goes in `clientKeys` like any other) whose signing reference presents
 * the certificate (certificateSigningKeyRef).
 */
export class CertifiedKey extends SSHKey {
  readonly certificate: SSHCertificate;

  constructor(key: SSHKey, certificate: SSHCertificate) {
    if (!(key instanceof SSHKey) || !key.hasPrivate) throw new TypeError('key: a private SSHKey is needed to authenticate with a certificate');
    super(key.toSigningKeyRef().handle as KeyObject, key.comment);
    if (!(certificate instanceof SSHCertificate) || !certificate.certifies(key)) {
      throw new TypeError(`certificate: not a certificate for key ${key.fingerprintSHA256()}`);
    }
    this.certificate = certificate;
  }

  override toSigningKeyRef(): SigningKeyRef {
    return { ...super.toSigningKeyRef(), keyType: this.certificate.certKeyType, publicBlob: this.certificate.blob };
  }
}

/**
 * The reference the auth core signs with when a client authenticates with
 * `cert`: keyType and publicBlob are the certificate's, the handle is the
 * private key's. TypeError when the certificate is not for `key`.
 */
export function certificateSigningKeyRef(key: SSHKey, cert: SSHCertificate): SigningKeyRef {
  if (!key.hasPrivate) throw new TypeError('key: a private key is needed to authenticate with a certificate');
  if (!cert.certifies(key)) throw new TypeError(`cert: certificate ${JSON.stringify(cert.keyId)} is not for key ${key.fingerprintSHA256()}`);
  return { ...key.toSigningKeyRef(), keyType: cert.certKeyType, publicBlob: cert.blob };
}

/**
 * ssh(1)'s check of a host certificate presented as the server host key:
 * parse, verify the CA signature, then authorizeHostCertificate (known_hosts
 * @cert-authority for the host, @revoked, type, principals, window).
 * Returns the certificate; throws CertificateError naming the failed check.
 */
export function checkHostCertificate(
  blob: Uint8Array,
  knownHosts: KnownHosts,
  target: { host: string; addr?: string | null; port: number; now?: number; caSignatureAlgorithms?: readonly string[] },
): SSHCertificate {
  const cert = new SSHCertificate(parseCertificate(blob));
  if (!cert.verifySignature(target.caSignatureAlgorithms)) {
    throw new CertificateError('bad-signature', `host certificate ${JSON.stringify(cert.keyId)}: CA signature does not verify`);
  }
  authorizeHostCertificate(cert.cert, knownHosts, { ...target, now: target.now ?? Date.now() });
  return cert;
}
