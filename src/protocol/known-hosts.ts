/**
 * known_hosts (OpenSSH sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): one key per
 * line, `[@marker] hostpatterns keytype base64 [comment]`. Host fields are
 * comma lists of patterns (`*`, `?`, `!`) or one hashed name
 * `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`; names on ports other than
 * 22 are written `[host]:port`. Malformed lines are reported with their line
 * number and skipped, as OpenSSH skips them.
 */
import { equalBytes } from './wire.js';
import { matchHostList } from './host-pattern.js';

export type HmacSha1 = (key: Uint8Array, data: Uint8Array) => Uint8Array;

export type KnownHostsMarker = 'cert-authority' | 'revoked' | null;

export type KnownHostsHosts =
  | { readonly kind: 'patterns'; readonly patterns: string }
  | { readonly kind: 'hashed'; readonly salt: Uint8Array; readonly hash: Uint8Array };

export interface KnownHostsEntry {
  readonly line: number;
  readonly marker: KnownHostsMarker;
  readonly hosts: KnownHostsHosts;
  readonly keyType: string;
  readonly keyBlob: Uint8Array;
  readonly comment: string;
}

export interface ParseIssue {
  readonly line: number;
  readonly message: string;
}

export interface KnownHosts {
  readonly entries: readonly KnownHostsEntry[];
  readonly errors: readonly ParseIssue[];
  readonly hmacSha1: HmacSha1;
}

export interface KnownHostsMatch {
  trusted: Uint8Array[];
  caKeys: Uint8Array[];
  revoked: Uint8Array[];
}

export type HostKeyStatus = 'trusted' | 'revoked' | 'changed' | 'unknown';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX: Record<string, number> = Object.fromEntries([...B64].map((c, i) => [c, i]));

/** Strict standard base64 (RFC 4648 §4) with optional padding; null if invalid. */
export function decodeBase64(text: string): Uint8Array | null {
  let s = text;
  if (s.length % 4 === 0 && s.endsWith('==')) s = s.slice(0, -2);
  else if (s.length % 4 === 0 && s.endsWith('=')) s = s.slice(0, -1);
  if (s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of s) {
    const v = B64_INDEX[c];
    if (v === undefined) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

export function encodeBase64(bytes: Uint8Array, pad = true): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63];
  }
  if (pad) while (out.length % 4) out += '=';
  return out;
}

/** The key type string at the start of a public key blob, or null if the blob is too short. */
export function keyTypeOfBlob(blob: Uint8Array): string | null {
  if (blob.length < 4) return null;
  const len = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
  if (len === 0 || len > 256 || 4 + len > blob.length) return null;
  let s = '';
  for (let i = 4; i < 4 + len; i++) {
    const c = blob[i]!;
    if (c < 0x21 || c > 0x7e) return null;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * The family OpenSSH compares when it decides a key "changed": all ECDSA
 * curves are one family (KEY_ECDSA), certificates belong to their plain type.
 */
export function keyFamily(keyType: string): string {
  const plain = keyType.replace(/-cert-v0[01]@openssh\.com$/, '');
  if (plain.startsWith('ecdsa-sha2-')) return 'ecdsa';
  if (plain.startsWith('sk-ecdsa-sha2-')) return 'sk-ecdsa';
  if (plain.startsWith('rsa-sha2-')) return 'ssh-rsa';
  return plain;
}

/**
 * Parses `keytype base64 [comment]` (the public key part of a line).
 * Returns an error message when the key is malformed.
 */
export function parsePublicKeyFields(
  fields: string,
): { keyType: string; keyBlob: Uint8Array; comment: string } | { error: string } {
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(fields);
  if (!m) return { error: 'missing key type or key data' };
  const keyType = m[1]!;
  const keyBlob = decodeBase64(m[2]!);
  if (!keyBlob) return { error: 'key data is not valid base64' };
  const embedded = keyTypeOfBlob(keyBlob);
  if (embedded === null) return { error: 'key data is too short to hold a key type' };
  if (embedded !== keyType) return { error: `key type "${keyType}" does not match the key data ("${embedded}")` };
  return { keyType, keyBlob, comment: (m[3] ?? '').trim() };
}

const SHA1_LEN = 20;

function parseHosts(field: string): KnownHostsHosts | { error: string } {
  if (field.startsWith('|')) {
    const parts = field.split('|');
    if (parts.length !== 4 || parts[1] !== '1') return { error: 'unsupported hashed host format (expected |1|salt|hash)' };
    const salt = decodeBase64(parts[2]!);
    const hash = decodeBase64(parts[3]!);
    if (!salt || salt.length !== SHA1_LEN) return { error: 'hashed host salt is not 20 bytes of base64' };
    if (!hash || hash.length !== SHA1_LEN) return { error: 'hashed host hash is not 20 bytes of base64' };
    return { kind: 'hashed', salt, hash };
  }
  if (field.split(',').some((p) => p === '' || p === '!')) return { error: 'empty host pattern' };
  return { kind: 'patterns', patterns: field };
}

/** Parses a known_hosts file. Never throws on malformed content. */
export function importKnownHosts(text: string, deps: { hmacSha1: HmacSha1 }): KnownHosts {
  if (typeof text !== 'string') throw new TypeError('importKnownHosts: text must be a string');
  if (typeof deps?.hmacSha1 !== 'function') throw new TypeError('importKnownHosts: deps.hmacSha1 must be a function');
  const entries: KnownHostsEntry[] = [];
  const errors: ParseIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let rest = lines[i]!.replace(/\r$/, '').trim();
    if (rest === '' || rest.startsWith('#')) continue;
    let marker: KnownHostsMarker = null;
    if (rest.startsWith('@')) {
      const m = /^@(\S+)\s+(.*)$/.exec(rest);
      const name = m?.[1] ?? rest.slice(1);
      if (name !== 'cert-authority' && name !== 'revoked') {
        errors.push({ line: lineNo, message: `unknown marker "@${name}"` });
        continue;
      }
      if (!m) {
        errors.push({ line: lineNo, message: 'marker without host patterns and key' });
        continue;
      }
      marker = name;
      rest = m[2]!;
    }
    const sp = /\s/.exec(rest);
    if (!sp) {
      errors.push({ line: lineNo, message: 'missing key after host patterns' });
      continue;
    }
    const hosts = parseHosts(rest.slice(0, sp.index));
    if ('error' in hosts) {
      errors.push({ line: lineNo, message: hosts.error });
      continue;
    }
    const key = parsePublicKeyFields(rest.slice(sp.index).trim());
    if ('error' in key) {
      errors.push({ line: lineNo, message: key.error });
      continue;
    }
    entries.push({ line: lineNo, marker, hosts, ...key });
  }
  return { entries, errors, hmacSha1: deps.hmacSha1 };
}

/** The name a host is looked up (and hashed) under: bare on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Whether one entry's host field matches a lookup name (already lowercased/bracketed). */
export function entryMatchesName(entry: KnownHostsEntry, name: string, hmacSha1: HmacSha1): boolean {
  if (entry.hosts.kind === 'hashed') {
    return equalBytes(hmacSha1(entry.hosts.salt, utf8(name)), entry.hosts.hash);
  }
  return matchHostList(name, entry.hosts.patterns) === 1;
}

/**
 * The keys the file holds for a host (by name and, when given, by address),
 * split by marker.
 */
export function matchKnownHosts(
  knownHosts: KnownHosts,
  host: string,
  addr: string | null,
  port = 22,
): KnownHostsMatch {
  const names = [knownHostsName(host, port)];
  if (addr && addr.toLowerCase() !== host.toLowerCase()) names.push(knownHostsName(addr, port));
  const out: KnownHostsMatch = { trusted: [], caKeys: [], revoked: [] };
  for (const entry of knownHosts.entries) {
    if (!names.some((n) => entryMatchesName(entry, n, knownHosts.hmacSha1))) continue;
    const list = entry.marker === 'revoked' ? out.revoked : entry.marker === 'cert-authority' ? out.caKeys : out.trusted;
    list.push(entry.keyBlob);
  }
  return out;
}

const contains = (list: readonly Uint8Array[], blob: Uint8Array): boolean => list.some((k) => equalBytes(k, blob));

/**
 * OpenSSH's verdict on a host key: revoked beats everything; a key listed
 * for the host (or a certificate whose signing CA is listed as
 * @cert-authority) is trusted; other keys of the same family listed for the
 * host make it "changed"; else "unknown".
 */
export function checkHostKey(
  knownHosts: KnownHosts,
  host: string,
  addr: string | null,
  port: number,
  keyBlob: Uint8Array,
  options: { certSigningKey?: Uint8Array } = {},
): HostKeyStatus {
  const m = matchKnownHosts(knownHosts, host, addr, port);
  const ca = options.certSigningKey;
  if (contains(m.revoked, keyBlob) || (ca && contains(m.revoked, ca))) return 'revoked';
  if (contains(m.trusted, keyBlob) || (ca && contains(m.caKeys, ca))) return 'trusted';
  const type = keyTypeOfBlob(keyBlob);
  const family = type === null ? null : keyFamily(type);
  if (family !== null && m.trusted.some((k) => keyFamily(keyTypeOfBlob(k) ?? '') === family)) return 'changed';
  return 'unknown';
}

/**
 * One known_hosts line for `host` on `port`. `keyLine` is `keytype base64
 * [comment]`. Hashed lines need a 20-byte random salt and hmacSha1.
 */
export function formatKnownHostsLine(
  host: string,
  port: number,
  keyLine: string,
  options: { hashed?: boolean; salt?: Uint8Array; hmacSha1?: HmacSha1; marker?: KnownHostsMarker } = {},
): string {
  if (!host || /[\s,]/.test(host)) throw new TypeError('formatKnownHostsLine: host must be one name without spaces or commas');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError('formatKnownHostsLine: port must be 1..65535');
  const key = parsePublicKeyFields(keyLine.trim());
  if ('error' in key) throw new TypeError(`formatKnownHostsLine: keyLine: ${key.error}`);
  const name = knownHostsName(host, port);
  let field = name;
  if (options.hashed) {
    const { salt, hmacSha1 } = options;
    if (!salt || salt.length !== SHA1_LEN) throw new TypeError('formatKnownHostsLine: hashed lines need a 20-byte salt');
    if (typeof hmacSha1 !== 'function') throw new TypeError('formatKnownHostsLine: hashed lines need hmacSha1');
    field = `|1|${encodeBase64(salt)}|${encodeBase64(hmacSha1(salt, utf8(name)))}`;
  }
  const marker = options.marker ? `@${options.marker} ` : '';
  return `${marker}${field} ${keyLine.trim()}`;
}
