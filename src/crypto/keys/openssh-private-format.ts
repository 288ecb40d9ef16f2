/**
 * The OpenSSH private key format (OpenSSH PROTOCOL.key, "openssh-key-v1"):
 * magic, cipher, kdf, kdf options, key count, public blobs, then a private
 * section of two equal check integers, per key its type, private fields and
 * comment, and padding 1, 2, 3, ... to the cipher block size (8 unencrypted).
 * Only unencrypted keys are read and written here.
 */
import { createPrivateKey, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Reader, Writer, fromUtf8, utf8 } from '../../protocol/wire.js';
import { KeyImportError } from '../../protocol/errors.js';
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

export interface OpensshPrivateKey {
  readonly key: KeyObject;
  readonly comment: string;
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

/** Parses an unencrypted "-----BEGIN OPENSSH PRIVATE KEY-----" file (the first key if it holds several). */
export function parseOpensshPrivateKey(text: string): OpensshPrivateKey {
  const bytes = unarmor(text);
  try {
    if (bytes.length < MAGIC.length || !Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC)) {
      throw new KeyImportError('not an openssh-key-v1 private key');
    }
    const r = new Reader(bytes.subarray(MAGIC.length), 'OpenSSH private key');
    const cipher = fromUtf8(r.string('cipher name', 64));
    const kdf = fromUtf8(r.string('kdf name', 64));
    r.string('kdf options', 1024);
    if (cipher !== 'none' || kdf !== 'none') throw new KeyImportError('encrypted keys are not supported yet');
    const count = r.uint32('key count');
    if (count < 1 || count > 64) throw new KeyImportError(`OpenSSH private key holds ${count} keys`);
    for (let i = 0; i < count; i++) r.string('public key', 16384);
    const priv = new Reader(r.string('private section'), 'OpenSSH private section');
    r.end();
    if (priv.uint32('check1') !== priv.uint32('check2')) throw new KeyImportError('OpenSSH private key check integers differ (wrong passphrase or corrupt)');
    const first = readPrivate(priv);
    for (let i = 1; i < count; i++) readPrivate(priv);
    const pad = priv.rest();
    for (let i = 0; i < pad.length; i++) if (pad[i] !== i + 1) throw new KeyImportError('OpenSSH private key padding is corrupt');
    return first;
  } catch (err) {
    if (err instanceof KeyImportError) throw err;
    throw new KeyImportError(`malformed OpenSSH private key: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Serializes an unencrypted OpenSSH private key file, lines of 70 base64 characters as ssh-keygen writes. */
export function formatOpensshPrivateKey(key: KeyObject, comment: string): string {
  const keyType = keyTypeOf(key);
  const jwk = key.export({ format: 'jwk' }) as JsonWebKey;
  const pubBlob = publicBlobOf(key);
  const check = randomBytes(4).readUInt32BE(0);
  const p = new Writer(2048).uint32(check).uint32(check);
  // The private entry starts with the public blob's fields (same bytes as the blob).
  p.raw(pubBlob);
  if (keyType === 'ssh-ed25519') {
    p.string(Buffer.concat([fromB64u(jwk.d, 'd'), fromB64u(jwk.x, 'x')]));
  } else if (keyType === 'ssh-rsa') {
    // Private order is n, e (swapped from the blob's e, n), so rewrite this entry.
    const w = new Writer(2048).uint32(check).uint32(check).string('ssh-rsa');
    w.mpintBytes(fromB64u(jwk.n, 'n')).mpintBytes(fromB64u(jwk.e, 'e')).mpintBytes(fromB64u(jwk.d, 'd'));
    w.mpintBytes(fromB64u(jwk.qi, 'qi')).mpintBytes(fromB64u(jwk.p, 'p')).mpintBytes(fromB64u(jwk.q, 'q'));
    return armor(pubBlob, w, comment);
  } else {
    p.mpintBytes(fromB64u(jwk.d, 'd'));
  }
  return armor(pubBlob, p, comment);
}

function armor(pubBlob: Uint8Array, priv: Writer, comment: string): string {
  priv.string(comment);
  for (let i = 1; priv.length % 8 !== 0; i++) priv.byte(i);
  const file = new Writer(4096).raw(MAGIC).string('none').string('none').string('').uint32(1).string(pubBlob).string(priv.view()).toBytes();
  const b64 = Buffer.from(file).toString('base64');
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}
