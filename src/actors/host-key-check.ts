/**
 * The client's host key decision: is this server key trusted for host:port?
 * Turns the `knownHosts` option (a file path, known_hosts text already parsed,
 * a callback, or null for no checking) into one verifier function, using the
 * known_hosts codec in src/protocol/known-hosts.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, importKnownHosts, keyTypeOfBlob, type HostKeyStatus, type KnownHosts } from '../protocol/known-hosts.js';
import { CertificateError, isCertKeyType, parseCertificate } from '../protocol/certificate.js';
import { checkHostCertificate } from '../crypto/keys/certificate.js';

export interface PresentedHostKey {
  keyType: string;
  publicBlob: Uint8Array;
  /** OpenSSH's "SHA256:..." fingerprint of the key. */
  fingerprint: string;
}

/** A host key verifier: (host, port, key) -> trusted? */
export type KnownHostsCallback = (host: string, port: number, key: PresentedHostKey) => boolean | Promise<boolean>;

/** What the `knownHosts` option may be. */
export type KnownHostsOption = string | KnownHosts | KnownHostsCallback | null | undefined;

/** HMAC-SHA1 for hashed known_hosts names. */
export const hmacSha1 = (key: Uint8Array, data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha1', key).update(data).digest());

/** OpenSSH's SHA256 fingerprint: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export function fingerprintSha256(blob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Default path: ~/.ssh/known_hosts. */
export function defaultKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

/** Parses known_hosts text (malformed lines are skipped, as OpenSSH does). */
export function parseKnownHosts(text: string): KnownHosts {
  return importKnownHosts(text, { hmacSha1 });
}

/** A verifier over parsed known_hosts that also reports why a key was refused. */
export function knownHostsVerifier(kh: KnownHosts, addr: string | null = null): KnownHostsCallback & { status(host: string, port: number, blob: Uint8Array): HostKeyStatus } {
  const status = (host: string, port: number, blob: Uint8Array): HostKeyStatus => {
    if (!isCertKeyType(keyTypeOfBlob(blob) ?? '')) return checkHostKey(kh, host, addr, port, blob);
    // As ssh(1): a certificate from a trusted CA is checked in full; when no
    // @cert-authority names its CA, the certified key is checked as a plain key.
    try {
      checkHostCertificate(blob, kh, { host, addr, port });
      return 'trusted';
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      if (err.reason !== 'untrusted-ca') return 'revoked';
      return checkHostKey(kh, host, addr, port, parseCertificate(blob).publicKeyBlob);
    }
  };
  const fn = (host: string, port: number, key: PresentedHostKey): boolean => status(host, port, key.publicBlob) === 'trusted';
  return Object.assign(fn, { status });
}

function isKnownHosts(v: unknown): v is KnownHosts {
  return typeof v === 'object' && v !== null && Array.isArray((v as KnownHosts).entries) && typeof (v as KnownHosts).hmacSha1 === 'function';
}

/**
 * Turns the `knownHosts` option into a verifier. undefined = the default file
 * (a missing file means nothing is known, so every key is refused); null = no
 * checking (every key accepted).
 */
export async function loadHostKeyVerifier(option: KnownHostsOption): Promise<KnownHostsCallback | null> {
  if (option === null) return null;
  if (typeof option === 'function') return option;
  if (isKnownHosts(option)) return knownHostsVerifier(option);
  if (typeof option !== 'string' && option !== undefined) {
    throw new TypeError('knownHosts: expected a file path, parsed known hosts, a callback or null');
  }
  const path = option ?? defaultKnownHostsPath();
  // A fleet's connections share the file: it is parsed again only when it changed.
  const version = await stat(path).then((st) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`, () => null);
  const hit = version === null ? undefined : parsedFiles.get(path);
  if (hit && hit.version === version) return hit.verifier;
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // The default file may be missing (nothing known); a named one must be readable.
    if (option !== undefined) throw new TypeError(`knownHosts: cannot read ${path}: ${(err as Error).message}`);
  }
  const verifier = knownHostsVerifier(parseKnownHosts(text));
  if (version !== null) {
    if (parsedFiles.size >= 16) parsedFiles.clear();
    parsedFiles.set(path, { version, verifier });
  }
  return verifier;
}

/** Parsed known_hosts files by path, with the stat identity (device, inode, size, mtime) they were read at. */
const parsedFiles = new Map<string, { version: string; verifier: KnownHostsCallback }>();
