/**
 * authorized_keys (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"): `[options] keytype
 * base64 [comment]`. Options are parsed as OpenSSH's auth-options.c does:
 * comma-separated, case-insensitive names, values in double quotes with `\"`
 * as the only escape, and any unknown or malformed option rejects the line.
 */
import { equalBytes } from './wire.js';
import { matchHostAndAddress } from './host-pattern.js';
import { parsePublicKeyFields, type ParseIssue } from './known-hosts.js';

export type KeyPermission = 'pty' | 'port-forwarding' | 'agent-forwarding' | 'x11-forwarding' | 'user-rc';

export interface AuthorizedKeyOptions {
  readonly permissions: Readonly<Record<KeyPermission, boolean>>;
  readonly restrict: boolean;
  readonly certAuthority: boolean;
  readonly command?: string;
  readonly principals?: string;
  readonly from?: string;
  /** NAME=value pairs in file order; the first value for a name wins. */
  readonly environment: readonly (readonly [string, string])[];
  readonly permitOpen: readonly string[];
  readonly permitListen: readonly string[];
  /** Milliseconds since the epoch (the earliest, when given more than once). */
  readonly expiryTime?: number;
  readonly tunnel?: number;
  readonly noTouchRequired: boolean;
  readonly verifyRequired: boolean;
}

export interface AuthorizedKeyEntry {
  readonly line: number;
  readonly keyType: string;
  readonly keyBlob: Uint8Array;
  readonly comment: string;
  readonly options: AuthorizedKeyOptions;
}

export interface AuthorizedKeys {
  readonly entries: readonly AuthorizedKeyEntry[];
  readonly errors: readonly ParseIssue[];
}

const KEY_TYPE = /^(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v0[01]@openssh\.com)$/;

const PERMISSIONS: readonly KeyPermission[] = ['pty', 'port-forwarding', 'agent-forwarding', 'x11-forwarding', 'user-rc'];

/** `YYYYMMDD[HHMM[SS]][Z]`: Z means UTC, otherwise local time (as sshd). */
export function parseExpiryTime(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(text);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1, 7).map((v) => v ?? undefined) as string[];
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  if (parts[1] > 11 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 60) return null;
  const t = m[7] ? Date.UTC(...parts) : new Date(...parts).getTime();
  return Number.isFinite(t) ? t : null;
}

interface Mutable {
  permissions: Record<KeyPermission, boolean>;
  restrict: boolean;
  certAuthority: boolean;
  command?: string;
  principals?: string;
  from?: string;
  environment: [string, string][];
  permitOpen: string[];
  permitListen: string[];
  expiryTime?: number;
  tunnel?: number;
  noTouchRequired: boolean;
  verifyRequired: boolean;
}

function defaults(): Mutable {
  return {
    permissions: { pty: true, 'port-forwarding': true, 'agent-forwarding': true, 'x11-forwarding': true, 'user-rc': true },
    restrict: false, certAuthority: false, environment: [], permitOpen: [], permitListen: [], noTouchRequired: false, verifyRequired: false,
  };
}

/** Parses an option string (the first field of a line). */
export function parseKeyOptions(text: string): AuthorizedKeyOptions | { error: string } {
  const o = defaults();
  let i = 0;
  while (i < text.length) {
    const nameMatch = /^[A-Za-z0-9-]+/.exec(text.slice(i));
    if (!nameMatch) return { error: `malformed option at "${text.slice(i, i + 20)}"` };
    const name = nameMatch[0].toLowerCase();
    i += nameMatch[0].length;
    let value: string | undefined;
    if (text[i] === '=') {
      if (text[++i] !== '"') return { error: `option ${name}: value must be in double quotes` };
      value = '';
      for (i++; ; i++) {
        if (i >= text.length) return { error: `option ${name}: missing closing quote` };
        if (text[i] === '\\' && text[i + 1] === '"') value += text[++i];
        else if (text[i] === '"') break;
        else value += text[i];
      }
      i++;
    }
    const flag = (): string | null => (value !== undefined ? `option ${name} takes no value` : null);
    const needs = (): string | null => (value === undefined ? `option ${name} needs a value` : null);
    let err: string | null = null;
    const perm = name.replace(/^no-/, '') as KeyPermission;
    if (name === 'restrict') {
      err = flag();
      o.restrict = true;
      for (const p of PERMISSIONS) o.permissions[p] = false;
    } else if (PERMISSIONS.includes(perm)) {
      err = flag();
      o.permissions[perm] = !name.startsWith('no-');
    } else if (name === 'cert-authority') {
      err = flag();
      o.certAuthority = true;
    } else if (name === 'no-touch-required' || name === 'verify-required') {
      err = flag();
      if (name === 'verify-required') o.verifyRequired = true;
      else o.noTouchRequired = true;
    } else if (name === 'command' || name === 'principals' || name === 'from') {
      err = needs() ?? (o[name] !== undefined ? `multiple "${name}" clauses` : null);
      if (name === 'from' && !err && value === '') err = 'empty "from" list';
      o[name] = value;
    } else if (name === 'environment') {
      err = needs() ?? (/^[A-Za-z0-9_]+=/.test(value!) ? null : 'environment must be NAME=value');
      if (!err) {
        const eq = value!.indexOf('=');
        const key = value!.slice(0, eq);
        if (!o.environment.some(([k]) => k === key)) o.environment.push([key, value!.slice(eq + 1)]);
      }
    } else if (name === 'permitopen' || name === 'permitlisten') {
      err = needs();
      if (!err) {
        const hostPort = /^(?:\[[^\]]+\]|[^:[\]]+):(?:\*|\d{1,5})$/.test(value!);
        const portOnly = name === 'permitlisten' && /^(?:\*|\d{1,5})$/.test(value!);
        if (!hostPort && !portOnly) err = `${name}: "${value}" is not host:port`;
        else (name === 'permitopen' ? o.permitOpen : o.permitListen).push(value!);
      }
    } else if (name === 'expiry-time') {
      err = needs();
      const t = err ? null : parseExpiryTime(value!);
      if (!err && t === null) err = `expiry-time: invalid time "${value}"`;
      if (t !== null && (o.expiryTime === undefined || t < o.expiryTime)) o.expiryTime = t;
    } else if (name === 'tunnel') {
      err = needs() ?? (/^\d{1,9}$/.test(value!) ? null : 'tunnel: not a number');
      if (!err) o.tunnel = Number(value);
    } else {
      err = `unknown option "${name}"`;
    }
    if (err) return { error: err };
    if (i >= text.length) break;
    if (text[i] !== ',') return { error: `unexpected "${text[i]}" after option ${name}` };
    if (++i >= text.length) return { error: 'trailing comma in options' };
  }
  return o;
}

/** Parses an authorized_keys file. Bad lines are reported and skipped, as sshd skips them. */
export function importAuthorizedKeys(text: string): AuthorizedKeys {
  if (typeof text !== 'string') throw new TypeError('importAuthorizedKeys: text must be a string');
  const entries: AuthorizedKeyEntry[] = [];
  const errors: ParseIssue[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const s = lines[n]!.replace(/\r$/, '').trim();
    if (s === '' || s.startsWith('#')) continue;
    let options: AuthorizedKeyOptions = defaults();
    let keyPart = s;
    const first = /^\S+/.exec(s)![0];
    if (!KEY_TYPE.test(first)) {
      // Options run to the first whitespace outside double quotes.
      let i = 0;
      let quoted = false;
      for (; i < s.length && (quoted || (s[i] !== ' ' && s[i] !== '\t')); i++) {
        if (s[i] === '\\' && s[i + 1] === '"') i++;
        else if (s[i] === '"') quoted = !quoted;
      }
      if (quoted) {
        errors.push({ line, message: 'unterminated quote in options' });
        continue;
      }
      const parsed = parseKeyOptions(s.slice(0, i));
      if ('error' in parsed) {
        errors.push({ line, message: parsed.error });
        continue;
      }
      options = parsed;
      keyPart = s.slice(i).trim();
    }
    const key = parsePublicKeyFields(keyPart);
    if ('error' in key) {
      errors.push({ line, message: key.error });
      continue;
    }
    entries.push({ line, ...key, options });
  }
  return { entries, errors };
}

export interface AuthorizeContext {
  readonly clientAddr: string;
  /** The client's host name when known (UseDNS); else matching uses the address. */
  readonly clientHost?: string | null;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** Whether an entry's from= and expiry-time allow this client now. */
export function entryAuthorizes(entry: AuthorizedKeyEntry, ctx: AuthorizeContext): boolean {
  const { from, expiryTime } = entry.options;
  if (expiryTime !== undefined && Math.floor(expiryTime / 1000) < Math.floor(ctx.now / 1000)) return false;
  if (from !== undefined && matchHostAndAddress(ctx.clientHost ?? null, ctx.clientAddr, from) !== true) return false;
  return true;
}

/**
 * The first entry (in file order) for this key that also authorizes the
 * client, as sshd; cert-authority lines are not keys and are skipped.
 */
export function matchAuthorizedKey(
  keys: AuthorizedKeys | readonly AuthorizedKeyEntry[],
  keyBlob: Uint8Array,
  ctx: AuthorizeContext,
): AuthorizedKeyEntry | null {
  const list: readonly AuthorizedKeyEntry[] = Array.isArray(keys) ? keys : (keys as AuthorizedKeys).entries;
  return list.find((e) => !e.options.certAuthority && equalBytes(e.keyBlob, keyBlob) && entryAuthorizes(e, ctx)) ?? null;
}

/** The first cert-authority entry for this CA key that authorizes the client. */
export function matchAuthorizedCa(
  keys: AuthorizedKeys | readonly AuthorizedKeyEntry[],
  caKeyBlob: Uint8Array,
  ctx: AuthorizeContext,
): AuthorizedKeyEntry | null {
  const list: readonly AuthorizedKeyEntry[] = Array.isArray(keys) ? keys : (keys as AuthorizedKeys).entries;
  return list.find((e) => e.options.certAuthority && equalBytes(e.keyBlob, caKeyBlob) && entryAuthorizes(e, ctx)) ?? null;
}

/** An option by its authorized_keys name (flags as booleans, repeatable ones as lists). */
export function getKeyOption(entry: AuthorizedKeyEntry | null, name: string): string | number | boolean | readonly string[] | Readonly<Record<string, string>> | undefined {
  if (!entry) return undefined;
  const o = entry.options;
  switch (name.toLowerCase()) {
    case 'command': return o.command;
    case 'principals': return o.principals;
    case 'from': return o.from;
    case 'environment': return Object.fromEntries(o.environment);
    case 'permitopen': return o.permitOpen;
    case 'permitlisten': return o.permitListen;
    case 'expiry-time': return o.expiryTime;
    case 'tunnel': return o.tunnel;
    case 'restrict': return o.restrict;
    case 'cert-authority': return o.certAuthority;
    case 'no-touch-required': return o.noTouchRequired;
    case 'verify-required': return o.verifyRequired;
    default: return undefined;
  }
}

/** Whether the entry allows a session feature (no entry = no restrictions). */
export function checkKeyPermission(entry: AuthorizedKeyEntry | null, permission: KeyPermission): boolean {
  if (!PERMISSIONS.includes(permission)) throw new TypeError(`checkKeyPermission: unknown permission "${String(permission)}"`);
  return entry ? entry.options.permissions[permission] : true;
}
