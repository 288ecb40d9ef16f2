/**
 * Host key verification against known_hosts files: reading the files, the
 * strict / accept-new / off policies, and the accept-new append, which is
 * safe against concurrent writers (a lock file taken with O_EXCL, a re-check
 * under the lock, then one O_APPEND write).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HostKeyNotVerifiable } from '../protocol/errors.js';
import { CertificateError, isCertKeyType, parseCertificate } from '../protocol/certificate.js';
import { checkHostCertificate } from '../crypto/keys/certificate.js';
import {
  checkHostKey,
  encodeBase64,
  formatKnownHostsLine,
  importKnownHosts,
  type HostKeyStatus,
  type KnownHosts,
  type KnownHostsEntry,
  type ParseIssue,
} from '../protocol/known-hosts.js';

export type HostKeyCallback = (
  host: string,
  addr: string | null,
  port: number,
  keyBlob: Uint8Array,
  keyType: string,
) => boolean | Promise<boolean>;

export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export type HostKeyVerifier = (
  host: string,
  addr: string | null,
  port: number,
  keyBlob: Uint8Array,
  keyType: string,
) => Promise<void>;

export interface HostKeyVerifierOptions {
  /** Paths, a parsed file, a deciding callback, or null (no checking). Default: ~/.ssh/known_hosts. */
  knownHosts?: string | readonly string[] | KnownHosts | HostKeyCallback | null;
  /** Default 'strict'. */
  policy?: HostKeyPolicy;
  /** For certificate host keys: the CA key that signed the certificate. */
  certSigningKey?: (keyBlob: Uint8Array) => Uint8Array | undefined;
}

export const hmacSha1 = (key: Uint8Array, data: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac('sha1', key).update(data).digest());

/** `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints. */
export function sha256Fingerprint(keyBlob: Uint8Array): string {
  return 'SHA256:' + encodeBase64(new Uint8Array(createHash('sha256').update(keyBlob).digest()), false);
}

export function defaultKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

/** Reads and merges known_hosts files; missing files count as empty. Errors name their file. */
export async function readKnownHosts(paths: string | readonly string[]): Promise<KnownHosts> {
  const list = typeof paths === 'string' ? [paths] : paths;
  const entries: KnownHostsEntry[] = [];
  const errors: ParseIssue[] = [];
  for (const path of list) {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const parsed = importKnownHosts(text, { hmacSha1 });
    entries.push(...parsed.entries);
    for (const e of parsed.errors) errors.push({ line: e.line, message: `${path}: ${e.message}` });
  }
  return { entries, errors, hmacSha1 };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` holding `<path>.lock` (O_EXCL). A lock older than `staleMs` is taken over. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, staleMs = 10_000): Promise<T> {
  const lock = path + '.lock';
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await fs.open(lock, 'wx', 0o600);
      await h.writeFile(String(process.pid));
      await h.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fs.stat(lock).catch(() => null);
      if (st && Date.now() - st.mtimeMs > staleMs) {
        await fs.rm(lock, { force: true });
        continue;
      }
      if (attempt > 500) throw new Error(`could not lock ${path}: ${lock} is held`);
      await sleep(5 + (attempt % 20));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/**
 * Appends a hashed line for host/port unless, under the lock, the file
 * already trusts this key for the host. One write with O_APPEND.
 */
export async function appendKnownHost(path: string, host: string, port: number, keyBlob: Uint8Array, keyType: string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await withFileLock(path, async () => {
    const current = await readKnownHosts(path);
    if (checkHostKey(current, host, null, port, keyBlob) === 'trusted') return;
    const line = formatKnownHostsLine(host, port, `${keyType} ${encodeBase64(keyBlob)}`, {
      hashed: true,
      salt: new Uint8Array(randomBytes(20)),
      hmacSha1,
    });
    let prefix = '';
    const st = await fs.stat(path).catch(() => null);
    if (st && st.size > 0) {
      // Keep the file line-structured if someone left it without a final newline.
      const h = await fs.open(path, 'r');
      try {
        const last = Buffer.alloc(1);
        await h.read(last, 0, 1, st.size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      } finally {
        await h.close();
      }
    }
    const h = await fs.open(path, 'a', 0o600);
    try {
      await h.write(prefix + line + '\n');
    } finally {
      await h.close();
    }
  });
}

function refuse(status: HostKeyStatus | 'rejected', host: string, port: number, keyBlob: Uint8Array, detail?: string): never {
  const fp = sha256Fingerprint(keyBlob);
  const where = port === 22 ? host : `[${host}]:${port}`;
  const why = {
    trusted: '',
    unknown: 'is not in known_hosts',
    changed: 'has CHANGED: known_hosts lists a different key of this type',
    revoked: 'is REVOKED in known_hosts',
    rejected: 'was rejected by the host key callback',
  }[status];
  throw new HostKeyNotVerifiable(`host key for ${where} (${fp}) ${detail ?? why}`, host, fp);
}

/** Builds the verifier the client connection calls with each server host key. */
export function createHostKeyVerifier(options: HostKeyVerifierOptions = {}): HostKeyVerifier {
  const policy = options.policy ?? 'strict';
  if (policy !== 'strict' && policy !== 'accept-new' && policy !== 'off') {
    throw new TypeError(`createHostKeyVerifier: policy must be 'strict', 'accept-new' or 'off', got ${String(policy)}`);
  }
  const source = options.knownHosts === undefined ? defaultKnownHostsPath() : options.knownHosts;
  if (source === null) return async () => {};
  if (typeof source === 'function') {
    return async (host, addr, port, keyBlob, keyType) => {
      if ((await source(host, addr, port, keyBlob, keyType)) !== true) refuse('rejected', host, port, keyBlob);
    };
  }
  const paths = typeof source === 'string' ? [source] : Array.isArray(source) ? (source as readonly string[]) : null;
  if (paths && paths.some((p) => typeof p !== 'string')) throw new TypeError('createHostKeyVerifier: knownHosts paths must be strings');
  return async (host, addr, port, keyBlob, keyType) => {
    const file = paths ? await readKnownHosts(paths) : (source as KnownHosts);
    if (isCertKeyType(keyType)) {
      // As ssh(1): a certificate from a trusted CA is checked in full; when no
      // @cert-authority names its CA, the certified key is checked as a plain key.
      try {
        checkHostCertificate(keyBlob, file, { host, addr, port });
        return;
      } catch (err) {
        if (!(err instanceof CertificateError)) throw err;
        if (err.reason !== 'untrusted-ca') refuse('rejected', host, port, keyBlob, `has an unacceptable certificate: ${err.message}`);
      }
      const plain = parseCertificate(keyBlob);
      keyBlob = plain.publicKeyBlob;
      keyType = plain.keyType;
    }
    const status = checkHostKey(file, host, addr, port, keyBlob, { certSigningKey: options.certSigningKey?.(keyBlob) });
    if (status === 'trusted') return;
    if (status === 'unknown') {
      if (policy === 'off') return;
      if (policy === 'accept-new' && paths && paths.length > 0) {
        await appendKnownHost(paths[0]!, host, port, keyBlob, keyType);
        return;
      }
    }
    refuse(status, host, port, keyBlob);
  };
}
