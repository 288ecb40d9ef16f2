/**
 * The OpenSSH private key format (OpenSSH PROTOCOL.key, "openssh-key-v1"):
 * magic, cipher, kdf, kdf options, key count, public blobs, then a private
 * section of two equal check integers, per key its type, private fields and
 * comment, and padding 1, 2, 3, ... to the cipher block size (8 unencrypted).
 * Encrypted files name a cipher and the "bcrypt" KDF (string salt, uint32
 * rounds); bcrypt_pbkdf(passphrase, salt, keylen + ivlen, rounds) gives the
 * cipher key then IV, and the private section is encrypted (GCM: tag after it).
 */
import { createCipheriv, createDecipheriv, createPrivateKey, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Reader, Writer, fromUtf8, utf8 } from '../../protocol/wire.js';
import { KeyImportError } from '../../protocol/errors.js';
import { deriveKey, type DecodedKey, type KdfRequest, type PendingKeys } from './key-kdf.js';
import { b64u, ecCurve, fixedLength, fromB64u, keyTypeOf, publicBlobOf, readPublicFields } from './key-blob.js';

const MAGIC = utf8('openssh-key-v1\0');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';

export function isOpensshPrivateKey(text: string): boolean {
  return text.includes(BEGIN);
}

function unarmor(text: string): Uint8Array {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END, start);
  if (start < 0 || end < 0) throw new KeyImportError('OpenSSH private key armor is incomplete');
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new KeyImportError('OpenSSH private key body is not base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

export type OpensshPrivateKey = DecodedKey;

interface KeyCipher {
  readonly node: string;
  readonly keyLen: number;
  readonly ivLen: number;
  readonly block: number;
  readonly tagLen: number;
}

/** The ciphers ssh-keygen may write a key file with (chacha20-poly1305 is not supported here). */
const KEY_CIPHERS: Record<string, KeyCipher> = {
  'aes128-ctr': { node: 'aes-128-ctr', keyLen: 16, ivLen: 16, block: 16, tagLen: 0 },
  'aes192-ctr': { node: 'aes-192-ctr', keyLen: 24, ivLen: 16, block: 16, tagLen: 0 },
  'aes256-ctr': { node: 'aes-256-ctr', keyLen: 32, ivLen: 16, block: 16, tagLen: 0 },
  'aes128-cbc': { node: 'aes-128-cbc', keyLen: 16, ivLen: 16, block: 16, tagLen: 0 },
  'aes192-cbc': { node: 'aes-192-cbc', keyLen: 24, ivLen: 16, block: 16, tagLen: 0 },
  'aes256-cbc': { node: 'aes-256-cbc', keyLen: 32, ivLen: 16, block: 16, tagLen: 0 },
  'aes128-gcm@openssh.com': { node: 'aes-128-gcm', keyLen: 16, ivLen: 12, block: 16, tagLen: 16 },
  'aes256-gcm@openssh.com': { node: 'aes-256-gcm', keyLen: 32, ivLen: 12, block: 16, tagLen: 16 },
};

export const OPENSSH_KEY_CIPHERS = Object.keys(KEY_CIPHERS);

function crypt(c: KeyCipher, derived: Uint8Array, data: Uint8Array, decrypt: boolean, tag?: Uint8Array): { out: Uint8Array; tag?: Uint8Array } {
  const key = derived.subarray(0, c.keyLen);
  const iv = derived.subarray(c.keyLen, c.keyLen + c.ivLen);
  if (c.tagLen) {
    if (decrypt) {
      const d = createDecipheriv(c.node as 'aes-256-gcm', key, iv);
      d.setAuthTag(tag!);
      return { out: new Uint8Array(Buffer.concat([d.update(data), d.final()])) };
    }
    const e = createCipheriv(c.node as 'aes-256-gcm', key, iv);
    const out = new Uint8Array(Buffer.concat([e.update(data), e.final()]));
    return { out, tag: new Uint8Array(e.getAuthTag()) };
  }
  const x = decrypt ? createDecipheriv(c.node, key, iv) : createCipheriv(c.node, key, iv);
  x.setAutoPadding(false);
  return { out: new Uint8Array(Buffer.concat([x.update(data), x.final()])) };
}

function mod(a: bigint, m: bigint): bigint {
  return ((a % m) + m) % m;
}
function big(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}
function unbig(v: bigint): Uint8Array {
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function readPrivate(r: Reader): OpensshPrivateKey {
  const typeName = fromUtf8(r.string('key type', 64));
  const pub = readPublicFields(typeName, r);
  const jwk: JsonWebKey = { ...pub.jwk };
  if (pub.keyType === 'ssh-ed25519') {
    const sk = r.string('ed25519 private key', 64);
    if (sk.length !== 64) throw new KeyImportError('ssh-ed25519 private key must be 64 bytes');
    if (b64u(sk.subarray(32)) !== jwk.x) throw new KeyImportError('ssh-ed25519 private key does not match its public key');
    jwk.d = b64u(sk.subarray(0, 32));
  } else if (pub.keyType === 'ssh-rsa') {
    // Private fields repeat n and e, then d, iqmp, p, q (the public fields read above are n, e here).
    const n = fromB64u(jwk.e, 'n');
    const e = fromB64u(jwk.n, 'e');
    const d = r.mpintBytes('rsa d', 2048);
    const iqmp = r.mpintBytes('rsa iqmp', 1024);
    const p = r.mpintBytes('rsa p', 1024);
    const q = r.mpintBytes('rsa q', 1024);
    const D = big(d);
    jwk.n = b64u(n);
    jwk.e = b64u(e);
    jwk.d = b64u(d);
    jwk.p = b64u(p);
    jwk.q = b64u(q);
    jwk.dp = b64u(unbig(mod(D, big(p) - 1n)));
    jwk.dq = b64u(unbig(mod(D, big(q) - 1n)));
    jwk.qi = b64u(iqmp);
  } else {
    const c = ecCurve(pub.keyType)!;
    jwk.d = b64u(fixedLength(r.mpintBytes('ecdsa private scalar', 80), c.fieldBytes, 'ecdsa private scalar'));
  }
  const comment = r.utf8('comment', 65536);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new KeyImportError(`invalid ${pub.keyType} private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { key, comment };
}

const MAX_ROUNDS = 1 << 16;

/**
 * Parses an "-----BEGIN OPENSSH PRIVATE KEY-----" file. Encrypted files need a
 * passphrase (KeyImportError without one) and return a bcrypt KDF request;
 * the check integers tell a wrong passphrase.
 */
export function decodeOpensshPrivateKey(text: string, passphrase?: Uint8Array): PendingKeys {
  const bytes = unarmor(text);
  return guard(() => {
    if (bytes.length < MAGIC.length || !Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC)) {
      throw new KeyImportError('not an openssh-key-v1 private key');
    }
    const r = new Reader(bytes.subarray(MAGIC.length), 'OpenSSH private key');
    const cipherName = fromUtf8(r.string('cipher name', 64));
    const kdfName = fromUtf8(r.string('kdf name', 64));
    const kdfOptions = r.string('kdf options', 1024);
    const count = r.uint32('key count');
    if (count < 1 || count > 64) throw new KeyImportError(`OpenSSH private key holds ${count} keys`);
    for (let i = 0; i < count; i++) r.string('public key', 16384);
    const section = r.string('private section');
    let tag: Uint8Array | undefined;
    if (cipherName === 'none') {
      if (kdfName !== 'none') throw new KeyImportError(`OpenSSH private key has kdf ${JSON.stringify(kdfName)} but no cipher`);
      r.end();
      return { kdf: null, finish: () => guard(() => readSection(section, count, 8)) };
    }
    const c = KEY_CIPHERS[cipherName];
    if (!c) throw new KeyImportError(`OpenSSH private key cipher ${JSON.stringify(cipherName)} is not supported`);
    if (kdfName !== 'bcrypt') throw new KeyImportError(`OpenSSH private key kdf ${JSON.stringify(kdfName)} is not supported`);
    if (c.tagLen) tag = r.raw(c.tagLen, 'authentication tag');
    r.end();
    if (section.length % c.block !== 0) throw new KeyImportError('OpenSSH private section is not a whole number of cipher blocks (truncated?)');
    const o = new Reader(kdfOptions, 'bcrypt kdf options');
    const salt = o.string('salt', 1024);
    const rounds = o.uint32('rounds');
    o.end();
    if (salt.length === 0 || rounds < 1 || rounds > MAX_ROUNDS) throw new KeyImportError(`OpenSSH private key has unusable bcrypt parameters (salt ${salt.length} bytes, ${rounds} rounds)`);
    if (passphrase === undefined) throw new KeyImportError('OpenSSH private key is encrypted: a passphrase is required');
    const kdf: KdfRequest = { kind: 'bcrypt-pbkdf', passphrase, salt, rounds, length: c.keyLen + c.ivLen };
    return {
      kdf,
      finish: (derived) =>
        guard(() => {
          if (!derived || derived.length !== c.keyLen + c.ivLen) throw new TypeError('derived: key material of the requested length is required');
          let plain: Uint8Array;
          try {
            plain = crypt(c, derived, section, true, tag).out;
          } catch {
            throw new KeyImportError('OpenSSH private key: wrong passphrase (authentication tag mismatch)');
          }
          return readSection(plain, count, c.block);
        }),
    };
  });
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyImportError || err instanceof TypeError) throw err;
    throw new KeyImportError(`malformed OpenSSH private key: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readSection(section: Uint8Array, count: number, block: number): DecodedKey[] {
  const priv = new Reader(section, 'OpenSSH private section');
  if (priv.uint32('check1') !== priv.uint32('check2')) throw new KeyImportError('OpenSSH private key check integers differ: wrong passphrase or corrupt file');
  const keys: DecodedKey[] = [];
  for (let i = 0; i < count; i++) keys.push(readPrivate(priv));
  const pad = priv.rest();
  for (let i = 0; i < pad.length; i++) if (pad[i] !== i + 1) throw new KeyImportError('OpenSSH private key padding is corrupt');
  return keys;
}

/** Parses an OpenSSH private key file (the first key if it holds several), deriving inline. */
export function parseOpensshPrivateKey(text: string, passphrase?: Uint8Array): OpensshPrivateKey {
  const p = decodeOpensshPrivateKey(text, passphrase);
  return p.finish(p.kdf ? deriveKey(p.kdf) : null)[0]!;
}

export interface OpensshExportOptions {
  readonly passphrase?: Uint8Array;
  /** Default 'aes256-ctr' (what ssh-keygen writes). */
  readonly cipher?: string;
  /** bcrypt rounds, default 16 as ssh-keygen. */
  readonly rounds?: number;
}

/** Serializes an OpenSSH private key file, lines of 70 base64 characters as ssh-keygen writes; encrypted when a passphrase is given. */
export function formatOpensshPrivateKey(key: KeyObject, comment: string, options: OpensshExportOptions = {}): string {
  const keyType = keyTypeOf(key);
  const jwk = key.export({ format: 'jwk' }) as JsonWebKey;
  const pubBlob = publicBlobOf(key);
  const check = randomBytes(4).readUInt32BE(0);
  const p = new Writer(2048).uint32(check).uint32(check);
  if (keyType === 'ssh-rsa') {
    // The private entry lists n, e (swapped from the blob's e, n), then d, iqmp, p, q.
    p.string('ssh-rsa').mpintBytes(fromB64u(jwk.n, 'n')).mpintBytes(fromB64u(jwk.e, 'e')).mpintBytes(fromB64u(jwk.d, 'd'));
    p.mpintBytes(fromB64u(jwk.qi, 'qi')).mpintBytes(fromB64u(jwk.p, 'p')).mpintBytes(fromB64u(jwk.q, 'q'));
  } else {
    // Other types start with the public blob's fields (the same bytes as the blob).
    p.raw(pubBlob);
    if (keyType === 'ssh-ed25519') p.string(Buffer.concat([fromB64u(jwk.d, 'd'), fromB64u(jwk.x, 'x')]));
    else p.mpintBytes(fromB64u(jwk.d, 'd'));
  }
  p.string(comment);
  const encrypt = options.passphrase !== undefined;
  const cipherName = encrypt ? options.cipher ?? 'aes256-ctr' : 'none';
  const c = encrypt ? KEY_CIPHERS[cipherName] : undefined;
  if (encrypt && !c) throw new RangeError(`cipher: unsupported key file cipher ${JSON.stringify(cipherName)}`);
  const rounds = options.rounds ?? 16;
  if (encrypt && (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS)) throw new RangeError(`rounds: expected 1..${MAX_ROUNDS}, got ${rounds}`);
  const block = c ? c.block : 8;
  for (let i = 1; p.length % block !== 0; i++) p.byte(i);
  const file = new Writer(4096).raw(MAGIC).string(cipherName);
  let section = p.toBytes();
  let tag: Uint8Array | undefined;
  if (c) {
    const salt = new Uint8Array(randomBytes(16));
    file.string('bcrypt').string(new Writer(32).string(salt).uint32(rounds).toBytes());
    const derived = deriveKey({ kind: 'bcrypt-pbkdf', passphrase: options.passphrase!, salt, rounds, length: c.keyLen + c.ivLen });
    const sealed = crypt(c, derived, section, false);
    section.fill(0);
    derived.fill(0);
    section = sealed.out;
    tag = sealed.tag;
  } else {
    file.string('none').string('');
  }
  file.uint32(1).string(pubBlob).string(section);
  if (tag) file.raw(tag);
  const b64 = Buffer.from(file.toBytes()).toString('base64');
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}
