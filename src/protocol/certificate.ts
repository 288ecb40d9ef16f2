/**
 * OpenSSH certificates (OpenSSH PROTOCOL.certkeys, "*-cert-v01@openssh.com"),
 * the pure codec: a certificate blob is
 *
 *   string  cert key type            uint64  valid after (seconds)
 *   string  nonce                    uint64  valid before (seconds, 2^64-1 = forever)
 *   ...     the key's public fields  string  critical options (packed name/data pairs)
 *   uint64  serial                   string  extensions (packed name/data pairs)
 *   uint32  type (1 user, 2 host)    string  reserved
 *   string  key id                   string  signature key (a plain public key blob)
 *   string  valid principals (packed strings)
 *   string  signature (over every byte before this field)
 *
 * Option and extension names must be unique and in lexical order; option
 * data is itself a string (force-command, source-address) or empty (flags).
 * Parsing checks structure only; trust decisions live in
 * certificate-validation.ts, signature checks in src/crypto.
 */
import type { SignatureName } from './algorithms.js';
import { SSHError } from './errors.js';
import { Reader, Writer, concatBytes, encodeString, fromUtf8 } from './wire.js';

/** Certificate key types and the plain key type each certifies. */
export const CERT_KEY_TYPES = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
} as const;
export type CertKeyType = keyof typeof CERT_KEY_TYPES;

/**
 * Certificate signature algorithms (the names in USERAUTH_REQUEST and in
 * KEXINIT server_host_key_algorithms) and the plain signature algorithm the
 * key signs with under each. RSA has one per hash (OpenSSH PROTOCOL §1.9).
 */
export const CERT_ALGORITHMS = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'rsa-sha2-512-cert-v01@openssh.com': 'rsa-sha2-512',
  'rsa-sha2-256-cert-v01@openssh.com': 'rsa-sha2-256',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
} as const satisfies Record<string, SignatureName>;
export type CertAlgorithmName = keyof typeof CERT_ALGORITHMS;

/** Default preference for certificate algorithms (no SHA-1, as OpenSSH 8.8+). */
export const DEFAULT_CERT_ALGORITHMS: readonly CertAlgorithmName[] = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
];

export function isCertKeyType(keyType: string): keyType is CertKeyType {
  return Object.hasOwn(CERT_KEY_TYPES, keyType);
}

export function isCertAlgorithm(alg: string): alg is CertAlgorithmName {
  return Object.hasOwn(CERT_ALGORITHMS, alg);
}

/** The plain signature algorithm behind a certificate algorithm (undefined for other names). */
export function certSignatureAlgorithm(alg: string): SignatureName | undefined {
  return isCertAlgorithm(alg) ? CERT_ALGORITHMS[alg] : undefined;
}

/** The certificate key type a certificate algorithm is used with. */
export function certKeyTypeForAlgorithm(alg: string): CertKeyType | undefined {
  if (!isCertAlgorithm(alg)) return undefined;
  return alg.startsWith('rsa-sha2-') ? 'ssh-rsa-cert-v01@openssh.com' : (alg as CertKeyType);
}

/** The certificate algorithm for a plain signature algorithm ("rsa-sha2-512" -> "rsa-sha2-512-cert-v01@openssh.com"). */
export function certAlgorithmFor(sig: SignatureName): CertAlgorithmName {
  return `${sig}-cert-v01@openssh.com` as CertAlgorithmName;
}

/** Certificate algorithms usable with a certificate key type, in DEFAULT_CERT_ALGORITHMS order (plus ssh-rsa's legacy one last). */
export function certAlgorithmsForKeyType(keyType: string): CertAlgorithmName[] {
  return (Object.keys(CERT_ALGORITHMS) as CertAlgorithmName[]).filter((a) => certKeyTypeForAlgorithm(a) === keyType);
}

export const CertType = { user: 1, host: 2 } as const;
export type CertTypeName = keyof typeof CertType;

/** Seconds value of valid_before meaning "forever" (and the largest uint64). */
export const CERT_FOREVER = 0xffffffffffffffffn;

/** The critical options OpenSSH defines; any other critical option makes a certificate unusable. */
export const KNOWN_CRITICAL_OPTIONS = ['force-command', 'source-address', 'verify-required'] as const;
/** Critical options whose data is a string (the others are flags with empty data). */
const STRING_OPTIONS: readonly string[] = ['force-command', 'source-address'];

/** The extensions OpenSSH defines; all are flags. Unknown extensions are ignored when validating. */
export const KNOWN_EXTENSIONS = [
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;

/** What `ssh-keygen -s` grants by default (all permit-* extensions). */
export const DEFAULT_USER_EXTENSIONS: readonly string[] = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
];

/**
 * One critical option or extension. `value` is the decoded string for
 * force-command/source-address, '' for flags, and null when the data is
 * not a well-formed inner string (kept raw in `data`).
 */
export interface CertOption {
  readonly name: string;
  readonly data: Uint8Array;
  readonly value: string | null;
}

export interface OpenSSHCertificate {
  readonly certKeyType: CertKeyType;
  /** The plain key type of the certified key. */
  readonly keyType: (typeof CERT_KEY_TYPES)[CertKeyType];
  readonly nonce: Uint8Array;
  /** The certified key as a plain public key blob. */
  readonly publicKeyBlob: Uint8Array;
  readonly serial: bigint;
  readonly type: CertTypeName;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; CERT_FOREVER = no end. */
  readonly validBefore: bigint;
  readonly criticalOptions: readonly CertOption[];
  readonly extensions: readonly CertOption[];
  readonly reserved: Uint8Array;
  /** The CA's public key blob. */
  readonly signatureKey: Uint8Array;
  /** The CA's signature blob: string(algorithm) || string(signature). */
  readonly signature: Uint8Array;
  /** The signed bytes: the whole blob up to the signature field. */
  readonly signedData: Uint8Array;
  /** The whole certificate blob. */
  readonly blob: Uint8Array;
}

export type CertificateFailure =
  | 'malformed'
  | 'bad-signature'
  | 'untrusted-ca'
  | 'revoked'
  | 'wrong-type'
  | 'wrong-principal'
  | 'no-principals'
  | 'not-yet-valid'
  | 'expired'
  | 'source-address'
  | 'critical-option'
  | 'key-mismatch';

/** A certificate that cannot be parsed or is not acceptable; `reason` says which check failed. */
export class CertificateError extends SSHError {
  constructor(readonly reason: CertificateFailure, message: string) {
    super('ERR_SSH_CERT_' + reason.toUpperCase().replace(/-/g, '_'), message);
  }
}

const MAX_CERT = 16384;
const MAX_NAME = 256;
const MAX_PRINCIPALS = 256;
const MAX_OPTIONS = 64;

/** Reads (and checks the shape of) the certified key's public fields. */
function readKeyFields(r: Reader, keyType: string): void {
  switch (keyType) {
    case 'ssh-ed25519':
      if (r.string('ed25519 key', 32).length !== 32) throw new CertificateError('malformed', 'ed25519 certified key must be 32 bytes');
      break;
    case 'ssh-rsa':
      r.mpintBytes('rsa e', 1024);
      r.mpintBytes('rsa n', 2048);
      break;
    default: {
      const curve = fromUtf8(r.string('ecdsa curve', 64));
      if (`ecdsa-sha2-${curve}` !== keyType) throw new CertificateError('malformed', `${keyType} certificate names curve ${JSON.stringify(curve)}`);
      r.string('ecdsa point', 200);
    }
  }
}

function readOptions(data: Uint8Array, what: string): CertOption[] {
  const r = new Reader(data, what);
  const out: CertOption[] = [];
  let prev: string | null = null;
  while (r.remaining > 0) {
    if (out.length >= MAX_OPTIONS) throw new CertificateError('malformed', `too many ${what}`);
    const name = r.utf8(`${what} name`, MAX_NAME);
    const raw = r.string(`${what} data`, MAX_CERT);
    if (prev !== null && name <= prev) {
      throw new CertificateError('malformed', `${what} ${JSON.stringify(name)} is ${name === prev ? 'repeated' : 'out of order'}`);
    }
    prev = name;
    out.push({ name, data: raw, value: optionValue(raw) });
  }
  return out;
}

function optionValue(raw: Uint8Array): string | null {
  if (raw.length === 0) return '';
  try {
    const r = new Reader(raw, 'option data');
    const v = r.utf8('option value', MAX_CERT);
    r.end();
    return v;
  } catch {
    return null;
  }
}

/** Parses a certificate blob. Throws CertificateError('malformed') naming what is wrong. */
export function parseCertificate(blob: Uint8Array): OpenSSHCertificate {
  try {
    if (blob.length > MAX_CERT) throw new CertificateError('malformed', `certificate is ${blob.length} bytes (max ${MAX_CERT})`);
    const r = new Reader(blob, 'certificate');
    const certKeyType = r.utf8('key type', MAX_NAME);
    if (!isCertKeyType(certKeyType)) throw new CertificateError('malformed', `unsupported certificate type ${JSON.stringify(certKeyType)}`);
    const keyType = CERT_KEY_TYPES[certKeyType];
    const nonce = r.string('nonce', 1024);
    const fieldsStart = r.offset;
    readKeyFields(r, keyType);
    const publicKeyBlob = concatBytes(encodeString(keyType), blob.subarray(fieldsStart, r.offset));
    const serial = r.uint64('serial');
    const typeCode = r.uint32('certificate type');
    const type = typeCode === CertType.user ? 'user' : typeCode === CertType.host ? 'host' : null;
    if (type === null) throw new CertificateError('malformed', `unknown certificate type ${typeCode}`);
    const keyId = r.utf8('key id', MAX_CERT);
    const pr = new Reader(r.string('valid principals', MAX_CERT), 'valid principals');
    const principals: string[] = [];
    while (pr.remaining > 0) {
      if (principals.length >= MAX_PRINCIPALS) throw new CertificateError('malformed', `more than ${MAX_PRINCIPALS} principals`);
      principals.push(pr.utf8('principal', MAX_CERT));
    }
    const validAfter = r.uint64('valid after');
    const validBefore = r.uint64('valid before');
    const criticalOptions = readOptions(r.string('critical options', MAX_CERT), 'critical option');
    const extensions = readOptions(r.string('extensions', MAX_CERT), 'extension');
    const reserved = r.string('reserved', MAX_CERT);
    const signatureKey = r.string('signature key', MAX_CERT);
    const signedData = blob.subarray(0, r.offset);
    const signature = r.string('signature', MAX_CERT);
    r.end();
    const caType = new Reader(signatureKey, 'signature key').utf8('key type', MAX_NAME);
    if (isCertKeyType(caType)) throw new CertificateError('malformed', 'certificate is signed by another certificate');
    return {
      certKeyType, keyType, nonce, publicKeyBlob, serial, type, keyId, principals, validAfter, validBefore,
      criticalOptions, extensions, reserved, signatureKey, signature, signedData, blob,
    };
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError('malformed', `malformed certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Everything of a certificate except the signature, for encoding. */
export interface CertificateFields {
  readonly certKeyType: CertKeyType;
  readonly nonce: Uint8Array;
  /** The certified key's plain public key blob (its type must match certKeyType). */
  readonly publicKeyBlob: Uint8Array;
  readonly serial: bigint;
  readonly type: CertTypeName;
  readonly keyId: string;
  readonly principals: readonly string[];
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  /** name -> string value (force-command, source-address) or '' (flag). */
  readonly criticalOptions: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, string>>;
  readonly signatureKey: Uint8Array;
}

function writeOptions(options: Readonly<Record<string, string>>, stringValued: (name: string) => boolean): Uint8Array {
  const w = new Writer(256);
  for (const name of Object.keys(options).sort()) {
    const v = options[name]!;
    w.string(name);
    // Flags carry empty data; valued options carry their value as an inner string.
    w.string(stringValued(name) || v !== '' ? encodeString(v) : new Uint8Array(0));
  }
  return w.toBytes();
}

function checkUint64(name: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > CERT_FOREVER) throw new RangeError(`${name}: must be a uint64 bigint`);
}

/** The bytes a CA signs (the certificate blob without its final signature field). */
export function encodeCertificateBody(f: CertificateFields): Uint8Array {
  if (!isCertKeyType(f.certKeyType)) throw new RangeError(`certKeyType: unsupported ${JSON.stringify(f.certKeyType)}`);
  checkUint64('serial', f.serial);
  checkUint64('validAfter', f.validAfter);
  checkUint64('validBefore', f.validBefore);
  const kr = new Reader(f.publicKeyBlob, 'public key blob');
  const plain = kr.utf8('key type', MAX_NAME);
  if (plain !== CERT_KEY_TYPES[f.certKeyType]) throw new RangeError(`publicKeyBlob: a ${plain} key cannot go in a ${f.certKeyType}`);
  const fields = kr.rest();
  const principals = new Writer(64);
  for (const p of f.principals) principals.string(p);
  return new Writer(1024)
    .string(f.certKeyType)
    .string(f.nonce)
    .raw(fields)
    .uint64(f.serial)
    .uint32(CertType[f.type])
    .string(f.keyId)
    .string(principals.view())
    .uint64(f.validAfter)
    .uint64(f.validBefore)
    .string(writeOptions(f.criticalOptions, (n) => STRING_OPTIONS.includes(n)))
    .string(writeOptions(f.extensions, () => false))
    .string(new Uint8Array(0))
    .string(f.signatureKey)
    .toBytes();
}

/** The full certificate blob: body || string(signature blob). */
export function encodeCertificate(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return concatBytes(body, encodeString(signature));
}

/** A critical option's value, or undefined when the certificate does not carry it. */
export function certCriticalOption(cert: OpenSSHCertificate, name: string): string | null | undefined {
  return cert.criticalOptions.find((o) => o.name === name)?.value;
}

export function certHasExtension(cert: OpenSSHCertificate, name: string): boolean {
  return cert.extensions.some((o) => o.name === name);
}
