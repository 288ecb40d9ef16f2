/**
 * The server's authentication decisions: the application's handler methods
 * (values or promises), with defaults from the `passwords` and
 * `authorizedClientKeys` options. Anything unexpected counts as "no".
 */
import { timingSafeEqual } from 'node:crypto';
import type { DecisionRequest } from '../protocol/layer.js';
import type { SSHKey } from '../crypto/keys/ssh-key.js';
import type { SSHServerConnection } from './server.js';
import { readFile } from 'node:fs/promises';
import { CertificateError, type OpenSSHCertificate } from '../protocol/certificate.js';
import { authorizeUserCertificate } from '../protocol/certificate-validation.js';
import {
  checkKeyPermission,
  getKeyOption,
  importAuthorizedKeys,
  matchAuthorizedKey,
  type AuthorizedKeyEntry,
  type AuthorizedKeys,
  type KeyPermission,
} from '../protocol/authorized-keys.js';

export interface KbdintChallenge {
  name?: string;
  instruction?: string;
  prompts: { prompt: string; echo: boolean }[];
}

export interface PresentedClientKey {
  keyType: string;
  publicBlob: Uint8Array;
  algorithm: string;
}

/** Handler methods may return values or promises. */
export interface ServerAuthHandler {
  /**
   * true = the user must authenticate (default); false = let them in at once.
   * `conn` is the connection being authenticated: per-user
   * `conn.setAuthorizedKeys(...)` and `conn.sendAuthBanner(...)` belong here,
   * as in AsyncSSH's begin_auth.
   */
  beginAuth?(username: string, conn: SSHServerConnection): boolean | Promise<boolean>;
  /** true = accepted; {changePrompt} = ask for a new password. */
  validatePassword?(username: string, password: string): boolean | { changePrompt: string } | Promise<boolean | { changePrompt: string }>;
  changePassword?(username: string, oldPassword: string, newPassword: string): boolean | Promise<boolean>;
  validatePublicKey?(username: string, key: PresentedClientKey): boolean | Promise<boolean>;
  getKbdintChallenge?(username: string, submethods: string): KbdintChallenge | null | Promise<KbdintChallenge | null>;
  /** true = accepted, false = refused, a challenge = ask more. */
  validateKbdintResponse?(username: string, responses: string[]): boolean | KbdintChallenge | Promise<boolean | KbdintChallenge>;
}

export interface ServerAuthConfig {
  handler: ServerAuthHandler;
  passwords: Record<string, string> | null;
  authorizedKeys: SSHKey[] | null;
  /** A parsed authorized_keys file: its options (from=, expiry-time, command=, ...) are enforced. */
  authorizedFile?: AuthorizedKeys | null;
  /** CA public key blobs trusted to sign user certificates for any user (sshd's TrustedUserCAKeys). */
  trustedUserCaKeys?: readonly Uint8Array[] | null;
  /** Revoked key blobs (sshd's RevokedKeys as a key list): a certificate, its key or its CA listed here is refused. */
  revokedKeys?: readonly Uint8Array[] | null;
}

/** Per connection: the client address, and the authorized_keys entry of the key that was accepted. */
export interface ServerAuthState {
  readonly clientAddr: string;
  matched: AuthorizedKeyEntry | null;
  /** The connection, handed to beginAuth. */
  connection?: SSHServerConnection;
  /** Set by `conn.setAuthorizedKeys`: replaces the server's authorizedClientKeys for this connection. */
  authorized?: { keys: SSHKey[] | null; file: AuthorizedKeys | null };
  /** The user certificate's force-command, when the client logged in with a certificate. */
  certForceCommand?: string;
  /** The user certificate the client logged in with (AsyncSSH's get_certificate_option reads it). */
  certificate?: OpenSSHCertificate;
}

export function createAuthState(clientAddr: string | undefined): ServerAuthState {
  return { clientAddr: (clientAddr ?? '').replace(/^::ffff:(?=\d+\.)/, ''), matched: null };
}

/** An option of the matched authorized_keys entry (AsyncSSH's get_key_option); `fallback` when absent. */
export function keyOptionOf(state: ServerAuthState | null, name: string, fallback?: unknown): unknown {
  const v = getKeyOption(state?.matched ?? null, name);
  return v === undefined ? fallback : v;
}

/** Whether the matched entry allows `permission` (no entry = allowed). */
export function keyPermissionOf(state: ServerAuthState | null, permission: KeyPermission): boolean {
  return checkKeyPermission(state?.matched ?? null, permission);
}

/**
 * An option of the user certificate the client logged in with (AsyncSSH's
 * get_certificate_option): `force-command` as a string, `source-address` as
 * a list of CIDR strings, an extension (`permit-pty`, `no-touch-required`,
 * ...) as true; other critical options as their string. `fallback` without
 * a certificate or when the option is absent.
 */
export function certificateOptionOf(state: ServerAuthState | null, name: string, fallback?: unknown): unknown {
  if (typeof name !== 'string') throw new TypeError('name: expected an option name');
  const cert = state?.certificate;
  if (!cert) return fallback;
  const critical = cert.criticalOptions.find((o) => o.name === name);
  if (critical) {
    if (name === 'source-address') return (critical.value ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '');
    return critical.value ?? true;
  }
  return cert.extensions.some((o) => o.name === name) ? true : fallback;
}

/**
 * Whether the certificate grants `permission` through its `permit-<permission>`
 * extension (AsyncSSH's check_certificate_permission; 'x11-forwarding' and
 * AsyncSSH's 'X11-forwarding' both name permit-X11-forwarding). true
 * without a certificate. authorized_keys restrictions are checkKeyPermission's.
 */
export function certificatePermissionOf(state: ServerAuthState | null, permission: string): boolean {
  if (typeof permission !== 'string' || permission === '') throw new TypeError('permission: expected a permission name such as "pty"');
  const cert = state?.certificate;
  if (!cert) return true;
  const wanted = `permit-${permission}`.toLowerCase();
  return cert.extensions.some((o) => o.name.toLowerCase() === wanted);
}

/** Reads and parses an authorized_keys file (bad lines are reported in `errors` and skipped). */
export async function readAuthorizedKeys(path: string): Promise<AuthorizedKeys> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected an authorized_keys file path');
  return importAuthorizedKeys(await readFile(path, 'utf8'));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function challenge(c: KbdintChallenge | null | undefined): { name: string; instruction: string; prompts: { prompt: string; echo: boolean }[] } | null {
  if (!c || !Array.isArray(c.prompts)) return null;
  return { name: c.name ?? '', instruction: c.instruction ?? '', prompts: c.prompts.map((p) => ({ prompt: String(p.prompt), echo: p.echo === true })) };
}

async function decideAsync(cfg: ServerAuthConfig, request: DecisionRequest, state: ServerAuthState | null): Promise<unknown> {
  const h = cfg.handler;
  const username = String(request.username ?? '');
  switch (request.kind) {
    case 'beginAuth':
      return h.beginAuth ? (await h.beginAuth(username, state!.connection!)) !== false : true;
    case 'password': {
      const password = String(request.password ?? '');
      if (h.validatePassword) {
        const r = await h.validatePassword(username, password);
        if (typeof r === 'object' && r !== null && typeof r.changePrompt === 'string') return { changePrompt: r.changePrompt };
        return r === true;
      }
      const expected = cfg.passwords?.[username];
      return typeof expected === 'string' && sameSecret(expected, password);
    }
    case 'passwordChange':
      return h.changePassword ? (await h.changePassword(username, String(request.oldPassword), String(request.newPassword))) === true : false;
    case 'publicKey': {
      const key: PresentedClientKey = {
        keyType: String(request.keyType),
        publicBlob: request.publicBlob as Uint8Array,
        algorithm: String(request.algorithm),
      };
      // A certificate queried before does not carry over to a plain key.
      if (state) {
        state.certificate = undefined;
        state.certForceCommand = undefined;
      }
      const authorizedFile = state?.authorized ? state.authorized.file : cfg.authorizedFile;
      const authorizedKeys = state?.authorized ? state.authorized.keys : cfg.authorizedKeys;
      if (authorizedFile && state) {
        // The first entry for this key whose from= and expiry-time allow this client, as sshd.
        const entry = matchAuthorizedKey(authorizedFile, key.publicBlob, { clientAddr: state.clientAddr, now: Date.now() });
        if (entry) {
          state.matched = entry;
          return true;
        }
      } else if (authorizedKeys?.some((k) => sameBytes(k.publicBlob, key.publicBlob))) return true;
      if (state) state.matched = null;
      return h.validatePublicKey ? (await h.validatePublicKey(username, key)) === true : false;
    }
    case 'certificate': {
      // A user certificate whose CA signature the auth layer already checked:
      // trusted through trustedUserCaKeys or an authorized_keys cert-authority line.
      try {
        const grant = authorizeUserCertificate(
          request.certificate as OpenSSHCertificate,
          { trustedCaKeys: cfg.trustedUserCaKeys ?? [], authorizedKeys: (state?.authorized ? state.authorized.file : cfg.authorizedFile) ?? undefined, revokedKeys: cfg.revokedKeys ?? [] },
          { username, clientAddr: state?.clientAddr ?? '', now: Date.now() },
        );
        if (state) {
          state.matched = grant.entry;
          state.certForceCommand = grant.forceCommand;
          state.certificate = request.certificate as OpenSSHCertificate;
        }
        return { accepted: true, ...grant };
      } catch (err) {
        if (err instanceof CertificateError) return false;
        throw err;
      }
    }
    case 'kbdintChallenge':
      return h.getKbdintChallenge ? challenge(await h.getKbdintChallenge(username, String(request.submethods ?? ''))) : null;
    case 'kbdintResponse': {
      if (!h.validateKbdintResponse) return false;
      const responses = Array.isArray(request.responses) ? request.responses.map(String) : [];
      const r = await h.validateKbdintResponse(username, responses);
      if (r === true || r === false) return r;
      return challenge(r) ?? false;
    }
    default:
      return null;
  }
}

/** The answer to one server decision; a throwing or rejecting handler means "no". */
export function serverDecide(cfg: ServerAuthConfig, request: DecisionRequest, state: ServerAuthState | null = null): Promise<unknown> {
  const answer = decideAsync(cfg, request, state).catch(() => (request.kind === 'kbdintChallenge' ? null : false));
  if (!state || request.kind === 'publicKey' || request.kind === 'certificate') return answer;
  // Another method may succeed after a key query: key options then no longer apply.
  return answer.then((a) => {
    if (a === true) {
      state.matched = null;
      state.certForceCommand = undefined;
      state.certificate = undefined;
    }
    return a;
  });
}
