/**
 * Trust decisions for OpenSSH certificates, pure: the caller has already
 * checked the CA's signature over the certificate (src/crypto does the
 * math) and passes the time and the client address in. Every refusal is a
 * CertificateError whose `reason` names the failed check.
 *
 * The rules follow sshd(8)/ssh(1): the validity window is
 * valid_after <= now < valid_before (seconds); a user certificate must list
 * principals and one must match; a host certificate may list none (valid for
 * any name); a user certificate with a critical option sshd does not
 * understand is refused, a host certificate with any critical option is
 * refused; unknown extensions are ignored.
 */
import {
  type AuthorizedKeyEntry,
  type AuthorizedKeys,
  type KeyPermission,
  entryAuthorizes,
} from './authorized-keys.js';
import { matchAddressList, parseCidr } from './host-pattern.js';
import { type KnownHosts, matchKnownHosts } from './known-hosts.js';
import {
  type CertTypeName,
  type OpenSSHCertificate,
  CERT_FOREVER,
  CertificateError,
  certCriticalOption,
} from './certificate.js';
import { equalBytes } from './wire.js';

export interface CertificateCheck {
  readonly type: CertTypeName;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /**
   * Names of which at least one must be among the certificate's principals
   * (user: the username; host: the host name, and its address). Omit to skip
   * (authorized_keys principals= is checked by its own rule).
   */
  readonly principals?: readonly string[];
  /** Refuse a certificate without principals (default: true for user, false for host certificates). */
  readonly requirePrincipals?: boolean;
  /** The client's address, checked against a source-address critical option (user certificates). */
  readonly clientAddr?: string;
}

/** Strips the IPv4-mapped IPv6 prefix Node puts on IPv4 peers of dual-stack sockets. */
export function normalizeAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr;
}

/**
 * source-address: a comma list of CIDR networks or addresses (no wildcards,
 * no negation, as OpenSSH's addr_match_cidr_list). Malformed lists refuse.
 */
export function sourceAddressAllows(list: string, addr: string): boolean {
  return isCidrList(list) && matchAddressList(normalizeAddress(addr), list) === 1;
}

/** Whether every comma-separated entry is an address or CIDR network. */
export function isCidrList(list: string): boolean {
  return list.split(',').every((e) => {
    const c = parseCidr(e);
    return c !== null && !('error' in c);
  });
}

function fmtTime(seconds: bigint): string {
  if (seconds === CERT_FOREVER) return 'forever';
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) && ms <= 8.64e15 ? new Date(ms).toISOString() : String(seconds);
}

/**
 * Checks type, validity window, principals, critical options and
 * source-address. Throws CertificateError; returns nothing when acceptable.
 */
export function checkCertificate(cert: OpenSSHCertificate, check: CertificateCheck): void {
  const id = JSON.stringify(cert.keyId);
  if (cert.type !== check.type) {
    throw new CertificateError('wrong-type', `certificate ${id} is a ${cert.type} certificate, a ${check.type} certificate is needed`);
  }
  const now = BigInt(Math.floor(check.now / 1000));
  if (now < cert.validAfter) {
    throw new CertificateError('not-yet-valid', `certificate ${id} is not valid before ${fmtTime(cert.validAfter)}`);
  }
  if (now >= cert.validBefore) {
    throw new CertificateError('expired', `certificate ${id} expired at ${fmtTime(cert.validBefore)}`);
  }
  const requirePrincipals = check.requirePrincipals ?? check.type === 'user';
  if (cert.principals.length === 0) {
    if (requirePrincipals) throw new CertificateError('no-principals', `certificate ${id} lists no principals`);
  } else if (check.principals !== undefined) {
    const wanted = check.principals;
    const found = check.type === 'host'
      ? cert.principals.some((p) => wanted.some((w) => p.toLowerCase() === w.toLowerCase()))
      : cert.principals.some((p) => wanted.includes(p));
    if (!found) {
      throw new CertificateError('wrong-principal', `certificate ${id} is not valid for ${wanted.map((w) => JSON.stringify(w)).join(' or ')} (principals: ${cert.principals.join(',')})`);
    }
  }
  for (const opt of cert.criticalOptions) {
    if (check.type === 'host') {
      throw new CertificateError('critical-option', `host certificate ${id} carries critical option ${JSON.stringify(opt.name)}`);
    }
    if (opt.name === 'force-command' || opt.name === 'source-address') {
      if (opt.value === null) throw new CertificateError('malformed', `certificate ${id}: malformed ${opt.name} data`);
      continue;
    }
    if (opt.name === 'verify-required') {
      // Only FIDO (sk-*) signatures can show user verification; no key type here can.
      throw new CertificateError('critical-option', `certificate ${id} requires user verification, which ${cert.keyType} signatures cannot prove`);
    }
    throw new CertificateError('critical-option', `certificate ${id} carries unsupported critical option ${JSON.stringify(opt.name)}`);
  }
  const source = certCriticalOption(cert, 'source-address');
  if (typeof source === 'string') {
    if (check.clientAddr === undefined) {
      throw new CertificateError('source-address', `certificate ${id} is restricted to ${source} and the client address is unknown`);
    }
    if (!sourceAddressAllows(source, check.clientAddr)) {
      throw new CertificateError('source-address', `certificate ${id} is not valid from ${check.clientAddr} (source-address ${source})`);
    }
  }
}

/** What a certificate allows, merged with its authorized_keys cert-authority entry when there is one. */
export interface CertificateGrant {
  /** How the CA was trusted. */
  readonly via: 'trusted-ca' | 'authorized-keys';
  readonly entry: AuthorizedKeyEntry | null;
  /** The command to run instead of what the client asks (force-command, or the entry's command=). */
  readonly forceCommand: string | undefined;
  readonly permissions: Readonly<Record<KeyPermission, boolean>>;
  readonly keyId: string;
  readonly serial: bigint;
}

export interface UserCertificateTrust {
  /** CA public key blobs trusted for every user (sshd TrustedUserCAKeys); the principal must be the username. */
  readonly trustedCaKeys?: readonly Uint8Array[];
  /** The user's authorized_keys (its `cert-authority` lines, with principals=, from=, expiry-time=). */
  readonly authorizedKeys?: AuthorizedKeys | readonly AuthorizedKeyEntry[];
  /** Revoked key blobs (sshd RevokedKeys as a plain key list): the certified key, the certificate or the CA. */
  readonly revokedKeys?: readonly Uint8Array[];
}

export interface UserCertificateContext {
  readonly username: string;
  readonly clientAddr: string;
  readonly clientHost?: string | null;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

const EXTENSION_PERMISSION: Readonly<Record<string, KeyPermission>> = {
  'permit-pty': 'pty',
  'permit-port-forwarding': 'port-forwarding',
  'permit-agent-forwarding': 'agent-forwarding',
  'permit-X11-forwarding': 'x11-forwarding',
  'permit-user-rc': 'user-rc',
};

/** The session permissions a certificate's extensions grant (absent extension = denied). */
export function certificatePermissions(cert: OpenSSHCertificate): Record<KeyPermission, boolean> {
  const out: Record<KeyPermission, boolean> = { pty: false, 'port-forwarding': false, 'agent-forwarding': false, 'x11-forwarding': false, 'user-rc': false };
  for (const e of cert.extensions) {
    const p = EXTENSION_PERMISSION[e.name];
    if (p) out[p] = true;
  }
  return out;
}

/**
 * sshd's decision on a user certificate whose CA signature the caller has
 * verified: the CA must be trusted (TrustedUserCAKeys, principal = username;
 * or an authorized_keys cert-authority line, principal from its principals=
 * list, compared exactly as sshd's match_list, or else the username), the certificate valid now for this client,
 * and nothing revoked. Returns what the session may do; throws CertificateError.
 */
export function authorizeUserCertificate(
  cert: OpenSSHCertificate,
  trust: UserCertificateTrust,
  ctx: UserCertificateContext,
): CertificateGrant {
  const id = JSON.stringify(cert.keyId);
  const revoked = trust.revokedKeys ?? [];
  if (revoked.some((k) => equalBytes(k, cert.publicKeyBlob) || equalBytes(k, cert.blob) || equalBytes(k, cert.signatureKey))) {
    throw new CertificateError('revoked', `certificate ${id}, its key or its CA is revoked`);
  }
  const base = { type: 'user' as const, now: ctx.now, clientAddr: ctx.clientAddr };
  const certCommand = certCriticalOption(cert, 'force-command') ?? undefined;
  const grant = (via: CertificateGrant['via'], entry: AuthorizedKeyEntry | null): CertificateGrant => {
    const permissions = certificatePermissions(cert);
    if (entry) for (const p of Object.keys(permissions) as KeyPermission[]) permissions[p] &&= entry.options.permissions[p];
    const entryCommand = entry?.options.command;
    if (certCommand !== undefined && entryCommand !== undefined && certCommand !== entryCommand) {
      throw new CertificateError('critical-option', `certificate ${id} force-command conflicts with the authorized_keys command=`);
    }
    return { via, entry, forceCommand: certCommand ?? entryCommand, permissions, keyId: cert.keyId, serial: cert.serial };
  };
  if ((trust.trustedCaKeys ?? []).some((k) => equalBytes(k, cert.signatureKey))) {
    checkCertificate(cert, { ...base, principals: [ctx.username] });
    return grant('trusted-ca', null);
  }
  const ak = trust.authorizedKeys;
  const list: readonly AuthorizedKeyEntry[] = ak === undefined ? [] : Array.isArray(ak) ? ak : (ak as AuthorizedKeys).entries;
  const authCtx = { clientAddr: normalizeAddress(ctx.clientAddr), clientHost: ctx.clientHost ?? null, now: ctx.now };
  const caEntries = list.filter((e) => e.options.certAuthority && equalBytes(e.keyBlob, cert.signatureKey));
  if (caEntries.length === 0) throw new CertificateError('untrusted-ca', `certificate ${id} is signed by a CA that is not trusted`);
  let lastError: CertificateError | null = null;
  for (const entry of caEntries) {
    if (!entryAuthorizes(entry, authCtx)) {
      lastError = new CertificateError('source-address', `cert-authority line ${entry.line} does not allow ${ctx.clientAddr} now (from= or expiry-time=)`);
      continue;
    }
    try {
      const allowed = entry.options.principals;
      checkCertificate(cert, { ...base, principals: allowed === undefined ? [ctx.username] : undefined });
      if (allowed !== undefined && !cert.principals.some((p) => allowed.split(',').includes(p))) {
        throw new CertificateError('wrong-principal', `certificate ${id} principals (${cert.principals.join(',')}) are not in principals="${allowed}"`);
      }
      return grant('authorized-keys', entry);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      lastError = err;
    }
  }
  throw lastError!;
}

/**
 * ssh(1)'s decision on a host certificate whose CA signature the caller has
 * verified: a known_hosts @cert-authority line for the host must name its
 * CA, nothing @revoked may match, and the certificate must be a valid host
 * certificate for `host` (or `addr`) now. Throws CertificateError.
 */
export function authorizeHostCertificate(
  cert: OpenSSHCertificate,
  knownHosts: KnownHosts,
  target: { host: string; addr?: string | null; port: number; now: number },
): void {
  const id = JSON.stringify(cert.keyId);
  const m = matchKnownHosts(knownHosts, target.host, target.addr ?? null, target.port);
  if (m.revoked.some((k) => equalBytes(k, cert.signatureKey) || equalBytes(k, cert.publicKeyBlob) || equalBytes(k, cert.blob))) {
    throw new CertificateError('revoked', `host certificate ${id}, its key or its CA is @revoked for ${target.host}`);
  }
  if (!m.caKeys.some((k) => equalBytes(k, cert.signatureKey))) {
    throw new CertificateError('untrusted-ca', `host certificate ${id} is signed by a CA that known_hosts does not trust for ${target.host}`);
  }
  const names = [target.host];
  if (target.addr && target.addr !== target.host) names.push(target.addr);
  checkCertificate(cert, { type: 'host', now: target.now, principals: names });
}
