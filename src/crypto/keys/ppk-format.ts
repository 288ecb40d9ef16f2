/**
 * PuTTY private key files (PuTTY manual, appendix C), versions 2 and 3.
 * Text headers, a base64 public blob (SSH wire format), a base64 private
 * blob (per type: ed25519 string(seed); ecdsa mpint(scalar); rsa mpint d,
 * p, q, iqmp), and a MAC over string(algorithm) string(encryption)
 * string(comment) string(public) string(private plaintext, with padding).
 *
 * v2: AES-256-CBC key = (SHA-1(0000_0000 || pass) || SHA-1(0000_0001 || pass))[0..32],
 *     zero IV; MAC HMAC-SHA-1 keyed by SHA-1("putty-private-key-file-mac-key" || pass).
 * v3: Argon2 (id/i/d, parameters in the headers) gives 80 bytes: cipher key,
 *     IV, MAC key; MAC HMAC-SHA-256 (empty key when unencrypted).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, randomBytes, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KeyImportError } from '../../protocol/errors.js';
import { Reader, Writer, fromUtf8 } from '../../protocol/wire.js';
import { b64u, ecCurve, fixedLength, fromB64u, keyTypeOf, publicBlobOf, readPublicFields } from './key-blob.js';
import { deriveKey, type Argon2KdfRequest, type DecodedKey, type PendingKeys } from './key-kdf.js';

const MAX_LINES = 1024;

export function isPpk(text: string): boolean {
  return /^\s*PuTTY-User-Key-File-\d+:/.test(text);
}

interface PpkFile {
  readonly version: 2 | 3;
  readonly algorithm: string;
  readonly encryption: string;
  readonly comment: string;
  readonly publicBlob: Uint8Array;
  readonly privateBlob: Uint8Array;
  readonly mac: Uint8Array;
  readonly fields: ReadonlyMap<string, string>;
}

function parseFile(text: string): PpkFile {
  const lines = text.replace(/^\s+/, '').split(/\r\n|\r|\n/);
  const first = /^PuTTY-User-Key-File-(\d+): (.*)$/.exec(lines[0] ?? '');
  if (!first) throw new KeyImportError('not a PuTTY key file');
  if (first[1] !== '2' && first[1] !== '3') throw new KeyImportError(`PuTTY key file version ${first[1]} is not supported (only 2 and 3)`);
  const fields = new Map<string, string>();
  const blobs = new Map<string, Uint8Array>();
  let i = 1;
  while (i < lines.length) {
    const line = lines[i++]!;
    if (line === '') continue;
    const m = /^([A-Za-z0-9-]+): ?(.*)$/.exec(line);
    if (!m) throw new KeyImportError(`PuTTY key file line ${i} is not "Name: value"`);
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'Public-Lines' || name === 'Private-Lines') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n > MAX_LINES) throw new KeyImportError(`PuTTY key file ${name} ${JSON.stringify(value)} is invalid`);
      if (i + n > lines.length) throw new KeyImportError(`PuTTY key file is truncated (${name} promises ${n} lines)`);
      const b64 = lines.slice(i, i + n).join('');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new KeyImportError(`PuTTY key file ${name} data is not base64`);
      blobs.set(name, new Uint8Array(Buffer.from(b64, 'base64')));
      i += n;
    } else {
      fields.set(name, value);
    }
  }
  const need = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw new KeyImportError(`PuTTY key file has no ${name} line (truncated?)`);
    return v;
  };
  const macHex = need('Private-MAC');
  if (!/^[0-9a-fA-F]+$/.test(macHex)) throw new KeyImportError('PuTTY key file Private-MAC is not hex');
  const publicBlob = blobs.get('Public-Lines');
  const privateBlob = blobs.get('Private-Lines');
  if (!publicBlob || !privateBlob) throw new KeyImportError('PuTTY key file lacks its public or private lines (truncated?)');
  return {
    version: first[1] === '2' ? 2 : 3,
    algorithm: first[2]!.trim(),
    encryption: need('Encryption'),
    comment: need('Comment'),
    publicBlob,
    privateBlob,
    mac: new Uint8Array(Buffer.from(macHex, 'hex')),
    fields,
  };
}

function macData(f: { algorithm: string; encryption: string; comment: string; publicBlob: Uint8Array }, plain: Uint8Array): Uint8Array {
  return new Writer(plain.length + 1024).string(f.algorithm).string(f.encryption).string(f.comment).string(f.publicBlob).string(plain).toBytes();
}

function v2Keys(passphrase: Uint8Array): { cipherKey: Uint8Array; macKey: Uint8Array } {
  const h = (n: number) => createHash('sha1').update(Uint8Array.of(0, 0, 0, n)).update(passphrase).digest();
  return {
    cipherKey: new Uint8Array(Buffer.concat([h(0), h(1)]).subarray(0, 32)),
    macKey: new Uint8Array(createHash('sha1').update('putty-private-key-file-mac-key').update(passphrase).digest()),
  };
}

function argonRequest(f: ReadonlyMap<string, string>, passphrase: Uint8Array): Argon2KdfRequest {
  const get = (name: string): string => {
    const v = f.get(name);
    if (v === undefined) throw new KeyImportError(`PuTTY key file has no ${name} line`);
    return v;
  };
  const flavour = get('Key-Derivation');
  if (flavour !== 'Argon2id' && flavour !== 'Argon2i' && flavour !== 'Argon2d') throw new KeyImportError(`PuTTY key derivation ${JSON.stringify(flavour)} is not supported`);
  const num = (name: string, max: number): number => {
    const v = get(name);
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > max) throw new KeyImportError(`PuTTY key file ${name} ${JSON.stringify(v)} is out of range 1..${max}`);
    return n;
  };
  const salt = get('Argon2-Salt');
  if (!/^([0-9a-fA-F]{2})+$/.test(salt)) throw new KeyImportError('PuTTY key file Argon2-Salt is not hex');
  return {
    kind: 'argon2',
    flavour,
    passphrase,
    salt: new Uint8Array(Buffer.from(salt, 'hex')),
    memory: num('Argon2-Memory', 256 * 1024),
    passes: num('Argon2-Passes', 1000),
    parallelism: num('Argon2-Parallelism', 255),
    length: 80,
  };
}

function aesCbc(decrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = decrypt ? createDecipheriv('aes-256-cbc', key, iv) : createCipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function privateKeyOf(algorithm: string, publicBlob: Uint8Array, plain: Uint8Array): KeyObject {
  const pr = new Reader(publicBlob, 'PuTTY public blob');
  const typeName = fromUtf8(pr.string('key type', 64));
  if (typeName !== algorithm) throw new KeyImportError(`PuTTY key file says ${algorithm} but its public blob is ${typeName}`);
  const pub = readPublicFields(typeName, pr);
  pr.end();
  const jwk: JsonWebKey = { ...pub.jwk };
  // The private blob is followed by padding when encrypted: no end() check.
  const r = new Reader(plain, 'PuTTY private blob');
  if (pub.keyType === 'ssh-ed25519') {
    const seed = r.string('ed25519 private key', 64);
    if (seed.length !== 32) throw new KeyImportError('PuTTY ssh-ed25519 private key must be 32 bytes');
    jwk.d = b64u(seed);
  } else if (pub.keyType === 'ssh-rsa') {
    const d = r.mpint('rsa d');
    const p = r.mpint('rsa p');
    const q = r.mpint('rsa q');
    const iqmp = r.mpint('rsa iqmp');
    if (p < 2n || q < 2n) throw new KeyImportError('PuTTY RSA key has invalid primes');
    const hex = (v: bigint): string => b64u(Buffer.from(v.toString(16).padStart(2 * Math.ceil(v.toString(16).length / 2), '0'), 'hex'));
    Object.assign(jwk, { d: hex(d), p: hex(p), q: hex(q), dp: hex(d % (p - 1n)), dq: hex(d % (q - 1n)), qi: hex(iqmp) });
  } else {
    const c = ecCurve(pub.keyType)!;
    jwk.d = b64u(fixedLength(r.mpintBytes('ecdsa private scalar', 80), c.fieldBytes, 'ecdsa private scalar'));
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new KeyImportError(`invalid ${pub.keyType} private key in PuTTY file: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Buffer.from(publicBlobOf(key)).equals(publicBlob)) throw new KeyImportError('PuTTY key file private key does not match its public key');
  return key;
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyImportError || err instanceof TypeError) throw err;
    throw new KeyImportError(`malformed PuTTY key file: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parses a PPK v2/v3 file; encrypted v3 files return an Argon2 KDF request. */
export function decodePpk(text: string, passphrase?: Uint8Array): PendingKeys {
  return guard(() => {
    const f = parseFile(text);
    const check = (macKey: Uint8Array, plain: Uint8Array, encrypted: boolean): DecodedKey[] => {
      const mac = createHmac(f.version === 2 ? 'sha1' : 'sha256', macKey).update(macData(f, plain)).digest();
      if (mac.length !== f.mac.length || !timingSafeEqual(mac, f.mac)) {
        throw new KeyImportError(encrypted ? 'PuTTY key file: wrong passphrase (MAC mismatch)' : 'PuTTY key file MAC mismatch: the file is corrupt or was edited');
      }
      return [{ key: privateKeyOf(f.algorithm, f.publicBlob, plain), comment: f.comment }];
    };
    if (f.encryption === 'none') {
      const macKey = f.version === 2 ? v2Keys(new Uint8Array(0)).macKey : new Uint8Array(0);
      return { kdf: null, finish: () => guard(() => check(macKey, f.privateBlob, false)) };
    }
    if (f.encryption !== 'aes256-cbc') throw new KeyImportError(`PuTTY key file encryption ${JSON.stringify(f.encryption)} is not supported`);
    if (f.privateBlob.length === 0 || f.privateBlob.length % 16 !== 0) throw new KeyImportError('PuTTY key file private data is not a whole number of AES blocks (truncated?)');
    if (passphrase === undefined) throw new KeyImportError('PuTTY key file is encrypted: a passphrase is required');
    if (f.version === 2) {
      const { cipherKey, macKey } = v2Keys(passphrase);
      return { kdf: null, finish: () => guard(() => check(macKey, aesCbc(true, cipherKey, new Uint8Array(16), f.privateBlob), true)) };
    }
    const kdf = argonRequest(f.fields, passphrase);
    return {
      kdf,
      finish: (derived) =>
        guard(() => {
          if (!derived || derived.length !== 80) throw new TypeError('derived: 80 bytes of Argon2 output are required');
          return check(derived.subarray(48, 80), aesCbc(true, derived.subarray(0, 32), derived.subarray(32, 48), f.privateBlob), true);
        }),
    };
  });
}

export interface PpkExportOptions {
  readonly passphrase?: Uint8Array;
  /** v3 Argon2id cost; default PuTTYgen's usual memory 8192 KiB, 13 passes, parallelism 1. */
  readonly argon2?: { readonly memory?: number; readonly passes?: number; readonly parallelism?: number };
}

function privateBlobOf(key: KeyObject): Uint8Array {
  const keyType = keyTypeOf(key);
  const jwk = key.export({ format: 'jwk' }) as JsonWebKey;
  const w = new Writer(2048);
  if (keyType === 'ssh-ed25519') w.string(fromB64u(jwk.d, 'd'));
  else if (keyType === 'ssh-rsa') {
    for (const [v, n] of [[jwk.d, 'd'], [jwk.p, 'p'], [jwk.q, 'q'], [jwk.qi, 'qi']] as const) w.mpintBytes(fromB64u(v, n));
  } else w.mpintBytes(fromB64u(jwk.d, 'd'));
  return w.toBytes();
}

function lines64(b: Uint8Array): string[] {
  return Buffer.from(b).toString('base64').match(/.{1,64}/g) ?? [];
}

/** A PPK v2 or v3 file, encrypted with aes256-cbc when a passphrase is given. */
export function formatPpk(key: KeyObject, comment: string, version: 2 | 3, options: PpkExportOptions = {}): string {
  if (/[\r\n]/.test(comment)) throw new RangeError('comment: a PuTTY key comment cannot contain CR or LF');
  const algorithm = keyTypeOf(key);
  const publicBlob = publicBlobOf(key);
  const encrypted = options.passphrase !== undefined;
  const encryption = encrypted ? 'aes256-cbc' : 'none';
  let plain = privateBlobOf(key);
  if (encrypted && plain.length % 16 !== 0) {
    const pad = createHash('sha1').update(plain).digest().subarray(0, 16 - (plain.length % 16));
    plain = new Uint8Array(Buffer.concat([plain, pad]));
  }
  const header = [`PuTTY-User-Key-File-${version}: ${algorithm}`, `Encryption: ${encryption}`, `Comment: ${comment}`];
  const pubLines = lines64(publicBlob);
  header.push(`Public-Lines: ${pubLines.length}`, ...pubLines);
  let macKey: Uint8Array;
  let stored = plain;
  if (version === 2) {
    const k = v2Keys(options.passphrase ?? new Uint8Array(0));
    macKey = k.macKey;
    if (encrypted) stored = aesCbc(false, k.cipherKey, new Uint8Array(16), plain);
  } else if (encrypted) {
    const a = options.argon2 ?? {};
    const req: Argon2KdfRequest = {
      kind: 'argon2',
      flavour: 'Argon2id',
      passphrase: options.passphrase!,
      salt: new Uint8Array(randomBytes(16)),
      memory: a.memory ?? 8192,
      passes: a.passes ?? 13,
      parallelism: a.parallelism ?? 1,
      length: 80,
    };
    const derived = deriveKey(req);
    header.push(`Key-Derivation: Argon2id`, `Argon2-Memory: ${req.memory}`, `Argon2-Passes: ${req.passes}`, `Argon2-Parallelism: ${req.parallelism}`, `Argon2-Salt: ${Buffer.from(req.salt).toString('hex')}`);
    stored = aesCbc(false, derived.subarray(0, 32), derived.subarray(32, 48), plain);
    macKey = derived.slice(48, 80);
    derived.fill(0);
  } else {
    macKey = new Uint8Array(0);
  }
  const privLines = lines64(stored);
  header.push(`Private-Lines: ${privLines.length}`, ...privLines);
  const mac = createHmac(version === 2 ? 'sha1' : 'sha256', macKey).update(macData({ algorithm, encryption, comment, publicBlob }, plain)).digest('hex');
  plain.fill(0);
  header.push(`Private-MAC: ${mac}`);
  return header.join('\n') + '\n';
}
