/**
 * Loading keys for the API options: SSHKey objects or file paths, the user's
 * default identities, and authorized_keys lists.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeyImportError } from '../protocol/errors.js';
import { SSHKey, importPrivateKey, importPublicKey, importPublicKeys, type PrivateKeyFormat, type PublicKeyFormat } from '../crypto/keys/ssh-key.js';
import { importPrivateKeyAsync, importPrivateKeysAsync } from '../workers/key-import.js';
import { CertifiedKey, SSHCertificate, importCertificateList, readCertificate } from '../crypto/keys/certificate.js';

/** Reads `path` and parses it; a parse failure becomes a KeyImportError naming the file. */
async function importFile<T>(path: string, binary: boolean, parse: (data: Uint8Array | string) => T | Promise<T>): Promise<T> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  const data = binary ? new Uint8Array(await readFile(path)) : await readFile(path, 'utf8');
  try {
    return await parse(data);
  } catch (err) {
    throw new KeyImportError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Reads and imports a private key file (OpenSSH, PEM, PKCS#8, PuTTY). With a
 * passphrase the key derivation (bcrypt-pbkdf, Argon2, PBKDF2) runs in the
 * worker pool so the event loop keeps serving other connections.
 */
export function readPrivateKey(path: string, passphrase?: string): Promise<SSHKey> {
  return importFile(path, true, (data) =>
    passphrase === undefined ? importPrivateKey(data as Uint8Array) : importPrivateKeyAsync(data as Uint8Array, passphrase),
  );
}

/** Reads every private key in a file (AsyncSSH's read_private_key_list). */
export function readPrivateKeyList(path: string, passphrase?: string): Promise<SSHKey[]> {
  return importFile(path, true, (data) => importPrivateKeysAsync(data as Uint8Array, passphrase));
}

/** Reads every public key in a file (AsyncSSH's read_public_key_list). */
export function readPublicKeyList(path: string): Promise<SSHKey[]> {
  return importFile(path, false, (text) => importPublicKeys(text as string));
}

/** Reads a public key file ("type base64 [comment]"). */
export function readPublicKey(path: string): Promise<SSHKey> {
  return importFile(path, false, (text) => importPublicKey(text as string));
}

/** Keys given as SSHKey objects or paths; `option` names the option in errors. */
export async function loadPrivateKeys(
  option: string,
  keys: readonly (SSHKey | string)[],
  passphrase?: string,
  /** Client keys: also load `<path>-cert.pub` next to a key file and offer it first, as ssh does. */
  certificates = false,
  /** Skip a file that cannot be loaded (ssh_config IdentityFile: encrypted without a passphrase, say) instead of throwing. */
  skipUnloadable = false,
): Promise<SSHKey[]> {
  if (!Array.isArray(keys)) throw new TypeError(`${option}: expected a list of keys or key file paths`);
  const out: SSHKey[] = [];
  for (const k of keys) {
    if (k instanceof SSHKey) {
      if (!k.hasPrivate) throw new TypeError(`${option}: key ${k.fingerprintSHA256()} has no private part`);
      out.push(k);
    } else if (typeof k === 'string') {
      const key = await readPrivateKey(k, passphrase).catch((e: unknown) => {
        if (skipUnloadable) return null;
        throw e;
      });
      if (key === null) continue;
      if (certificates) out.push(...(await certifiedBeside(k, key)));
      out.push(key);
    } else {
      throw new TypeError(`${option}: expected SSHKey objects or file paths`);
    }
  }
  return out;
}

/**
 * `clientCerts`: each certificate (a `*-cert.pub` path or an SSHCertificate)
 * is paired with the client key it certifies and offered before that key.
 * With `skipUnmatched` (certificates named by ssh_config's CertificateFile)
 * a certificate for none of the keys is skipped, as ssh skips it; given
 * explicitly it is a TypeError, since nothing would ever present it.
 */
export async function pairClientCertificates(
  keys: readonly SSHKey[],
  certs: readonly (string | SSHCertificate)[],
  skipUnmatched = false,
): Promise<SSHKey[]> {
  if (!Array.isArray(certs)) throw new TypeError('clientCerts: expected a list of certificate file paths or SSHCertificate objects');
  const out = [...keys];
  for (const c of certs) {
    let cert: SSHCertificate;
    if (c instanceof SSHCertificate) cert = c;
    else if (typeof c === 'string') {
      try {
        cert = await readCertificate(c);
      } catch (err) {
        if (skipUnmatched) continue;
        throw new TypeError(`clientCerts: ${c}: ${(err as Error).message}`);
      }
    } else throw new TypeError('clientCerts: expected certificate file paths or SSHCertificate objects');
    const at = out.findIndex((k) => !(k instanceof CertifiedKey) && cert.certifies(k));
    if (at < 0) {
      if (skipUnmatched) continue;
      const name = typeof c === 'string' ? c : cert.certKeyType;
      throw new TypeError(`clientCerts: ${name} certifies none of the client keys`);
    }
    out.splice(at, 0, new CertifiedKey(out[at]!, cert));
  }
  return out;
}

/** The user's ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist and import without a passphrase. */
/** The identity files ssh tries in ~/.ssh when none is configured (those fleetssh can load). */
export const DEFAULT_IDENTITY_NAMES: readonly string[] = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export async function defaultClientKeys(passphrase?: string): Promise<SSHKey[]> {
  const out: SSHKey[] = [];
  for (const name of DEFAULT_IDENTITY_NAMES) {
    try {
      const path = join(homedir(), '.ssh', name);
      const key = await readPrivateKey(path, passphrase);
      out.push(...(await certifiedBeside(path, key)), key);
    } catch {
      // missing, unreadable or encrypted: skipped, as the default set is best-effort
    }
  }
  return out;
}

/**
 * authorized_keys lines: `[options] keytype base64 [comment]`. Options are
 * not enforced (this server grants no forwarding or commands by options);
 * lines that do not parse are skipped.
 */
export function parseAuthorizedKeys(text: string): SSHKey[] {
  const out: SSHKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // The key starts at the first field that is a key type followed by base64.
    const m = /(?:^|\s)((?:ssh-|ecdsa-sha2-|sk-)\S+\s+[A-Za-z0-9+/]+={0,2}(?:\s.*)?)$/.exec(line);
    if (!m) continue;
    try {
      out.push(importPublicKey(m[1]!));
    } catch {
      // skipped like OpenSSH skips a bad line
    }
  }
  return out;
}

/** `authorizedClientKeys`: a path to an authorized_keys file, or a list of keys. */
export async function loadAuthorizedKeys(option: string | readonly SSHKey[] | undefined): Promise<SSHKey[] | null> {
  if (option === undefined) return null;
  if (typeof option === 'string') {
    let text: string;
    try {
      text = await readFile(option, 'utf8');
    } catch (err) {
      throw new TypeError(`authorizedClientKeys: cannot read ${option}: ${(err as Error).message}`);
    }
    return parseAuthorizedKeys(text);
  }
  if (!Array.isArray(option) || option.some((k) => !(k instanceof SSHKey))) {
    throw new TypeError('authorizedClientKeys: expected a file path or a list of SSHKey objects');
  }
  return [...option];
}

/** Public keys given as SSHKey objects or public key file paths; `option` names the option in errors. */
export async function loadPublicKeys(option: string, keys: readonly (SSHKey | string)[]): Promise<SSHKey[]> {
  if (!Array.isArray(keys)) throw new TypeError(`${option}: expected a list of keys or public key file paths`);
  const out: SSHKey[] = [];
  for (const k of keys) {
    if (k instanceof SSHKey) out.push(k);
    else if (typeof k === 'string') out.push(...(await readPublicKeyList(k)));
    else throw new TypeError(`${option}: expected SSHKey objects or file paths`);
  }
  return out;
}

/**
 * The public blobs named by agentIdentities: SSHKey and SSHCertificate
 * objects, raw blobs (binary SSH format), or paths of public key or
 * certificate files (every key or certificate line of the file).
 */
export async function identityBlobs(option: string, ids: readonly (SSHKey | SSHCertificate | Uint8Array | string)[]): Promise<Uint8Array[]> {
  if (!Array.isArray(ids)) throw new TypeError(`${option}: expected a list of public keys, certificates, blobs or file paths`);
  const out: Uint8Array[] = [];
  for (const id of ids) {
    if (id instanceof SSHKey) out.push(id.publicBlob);
    else if (id instanceof SSHCertificate) out.push(id.blob);
    else if (id instanceof Uint8Array) out.push(id);
    else if (typeof id === 'string') {
      const text = await readFile(id, 'utf8');
      const certs = (() => {
        try {
          return importCertificateList(text);
        } catch {
          return null;
        }
      })();
      if (certs !== null && certs.length > 0) out.push(...certs.map((c) => c.blob));
      else out.push(...importPublicKeys(text).map((k) => k.publicBlob));
    } else throw new TypeError(`${option}: expected SSHKey or SSHCertificate objects, blobs or file paths`);
  }
  return out;
}

/** The key with its certificate from `<path>-cert.pub`, if that file exists and certifies the key. */
async function certifiedBeside(path: string, key: SSHKey): Promise<SSHKey[]> {
  // A missing or broken certificate file is skipped, as ssh skips it.
  const cert = await readCertificate(`${path}-cert.pub`).catch(() => null);
  return cert?.certifies(key) ? [new CertifiedKey(key, cert)] : [];
}

/**
 * Writes a private key file (AsyncSSH's write_private_key), created with
 * mode 0600 as ssh-keygen does, so ssh accepts it. An existing file is replaced.
 */
export async function writePrivateKey(path: string, key: SSHKey, format: PrivateKeyFormat = 'openssh', passphrase?: string, options?: Parameters<SSHKey['exportPrivateKey']>[2]): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  if (!(key instanceof SSHKey)) throw new TypeError('key: expected an SSHKey');
  const text = key.exportPrivateKey(format, passphrase, options);
  const fh = await open(path, 'w', 0o600);
  try {
    // An existing file keeps its mode on open: narrow it before the secret goes in.
    await fh.chmod(0o600);
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/** Writes a public key file (AsyncSSH's write_public_key), e.g. id_ed25519.pub; mode 0644. */
export async function writePublicKey(path: string, key: SSHKey, format: PublicKeyFormat = 'openssh'): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  if (!(key instanceof SSHKey)) throw new TypeError('key: expected an SSHKey');
  const text = key.exportPublicKey(format);
  await writeFile(path, text.endsWith('\n') ? text : text + '\n', { mode: 0o644 });
}
