/**
 * Client options: validation (TypeError/RangeError naming the option) and
 * resolution into what the core and the actor need.
 */
import { homedir, userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  CIPHER_ALGORITHMS,
  COMPRESSION_ALGORITHMS,
  DEFAULT_CIPHERS,
  DEFAULT_COMPRESSION,
  DEFAULT_KEX,
  DEFAULT_MACS,
  DEFAULT_SIGNATURES,
  KEX_ALGORITHMS,
  MAC_ALGORITHMS,
  SIGNATURE_ALGORITHMS,
  resolveAlgorithmList,
  type CipherName,
  type CompressionName,
  type KexName,
  type MacName,
  type SignatureName,
} from '../protocol/algorithms.js';
import type { SSHKey } from '../crypto/keys/ssh-key.js';
import type { SSHCertificate } from '../crypto/keys/certificate.js';
import { validateProxyCommand } from './proxy-command.js';
import type { KnownHostsOption } from './host-key-check.js';
import type { TrustedHostKeys } from './known-hosts-match.js';
import type { TermSize } from './session-wire.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IDENTITY_NAMES } from './key-files.js';
import { checkRequestPty } from './client-session.js';
import { applyAlgorithmList, expandTilde, expandTokens } from '../protocol/ssh-config-tokens.js';
import { matchPattern } from '../protocol/host-pattern.js';
import { resolveSshConfig, type SshConfig } from '../protocol/ssh-config.js';
import { loadSshConfig, localResolveOptions } from './config-loader.js';
import { createHostKeyVerifier, defaultKnownHostsPath } from './known-hosts-policy.js';
import type { TunnelConnection } from './tunnel.js';

/** An algorithm list, or OpenSSH's "+alg,...", "-alg,...", "^alg,..." relative to the defaults. */
export type AlgorithmOption = readonly string[] | string;

export interface KbdintPromptInfo {
  prompt: string;
  echo: boolean;
}

export interface AlgorithmOptions {
  kexAlgs?: AlgorithmOption;
  encryptionAlgs?: AlgorithmOption;
  macAlgs?: AlgorithmOption;
  compressionAlgs?: AlgorithmOption;
  /** Host key / signature algorithms. */
  serverHostKeyAlgs?: AlgorithmOption;
  /** Re-key after this many bytes (default 1 GiB). */
  rekeyBytes?: number;
  /** Re-key after this many seconds (default 3600; 0 = never). */
  rekeySeconds?: number;
}

export interface ConnectOptions extends AlgorithmOptions {
  port?: number;
  username?: string;
  password?: string;
  /** Keys or key file paths; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa that load; null = none. */
  clientKeys?: readonly (SSHKey | string)[] | null;
  passphrase?: string;
  /**
   * known_hosts path (default ~/.ssh/known_hosts), parsed entries, a
   * callback, key lists ({hostKeys, caKeys, revokedKeys}), or null = accept any key.
   */
  knownHosts?: KnownHostsOption | TrustedHostKeys;
  /** Default pty type for createProcess/run on this connection (a session's own options win). */
  termType?: string;
  /** Default terminal size for those sessions: [cols, rows] or [cols, rows, widthPx, heightPx]. */
  termSize?: TermSize;
  /** Default terminal modes for those sessions. */
  termModes?: Record<number, number>;
  /** Default stream encoding for createProcess/run (default 'utf8'; null = Buffers). */
  encoding?: BufferEncoding | null;
  /** false: no publickey authentication (neither clientKeys nor the agent's keys). */
  publicKeyAuth?: boolean;
  /** false: no keyboard-interactive authentication. */
  kbdintAuth?: boolean;
  /** false: no "password" method (a keyboard-interactive password prompt is still answered). */
  passwordAuth?: boolean;
  /**
   * Authentication methods in the order to try them, as a list or a
   * comma-separated string (AsyncSSH's preferred_auth, ssh_config's
   * PreferredAuthentications). Methods left out are not used; names fleetssh
   * does not implement (gssapi-with-mic, hostbased) are skipped. Default:
   * publickey, keyboard-interactive, password.
   */
  preferredAuth?: string | readonly string[];
  /**
   * Signature algorithms publickey authentication may sign with (AsyncSSH's
   * signature_algs; ssh_config PubkeyAcceptedAlgorithms): a list, or a string
   * with the +, -, ^ forms. Default: every supported one but the SHA-1
   * `ssh-rsa`, which must be added to be used.
   */
  signatureAlgs?: AlgorithmOption;
  /**
   * Fail when the server lets us in without a real challenge: "none"
   * accepted, or keyboard-interactive with no prompts (AsyncSSH's
   * disable_trivial_auth). Default false.
   */
  disableTrivialAuth?: boolean;
  /**
   * With a known_hosts path (or the default file): 'strict' (default) refuses
   * unknown keys; 'accept-new' records an unknown host's key (hashed, safe
   * against concurrent writers) and trusts it. A changed key is always refused.
   */
  hostKeyPolicy?: 'strict' | 'accept-new';
  /** Milliseconds between keepalive requests once authenticated; 0 = off (default). */
  keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is declared lost (default 3). */
  keepaliveCountMax?: number;
  /** Milliseconds for TCP connect + handshake + authentication (default: none). */
  connectTimeout?: number;
  /** Our software version in the version line, "SSH-2.0-<clientVersion>" (default fleetssh_0.1). */
  clientVersion?: string;
  /**
   * The name the host key is looked up (and saved) under in known_hosts
   * instead of the host, with no port, as ssh_config's HostKeyAlias; also the
   * name a host certificate must list. For hosts behind changing addresses or
   * ports (a NAT, a bastion's forwarded ports). Default: ssh_config HostKeyAlias.
   */
  hostKeyAlias?: string;
  /** Local address to connect from: an address, or [address, port]. */
  localAddr?: string | readonly [string, number];
  /** IP family to resolve the host to: 4 or 6 (default either). */
  family?: 4 | 6;
  /** TCP keepalive probes (SO_KEEPALIVE) on the socket we dial (default off). */
  tcpKeepalive?: boolean;
  kbdintHandler?: (name: string, instruction: string, prompts: KbdintPromptInfo[]) => string[] | null | Promise<string[] | null>;
  passwordHandler?: (prompt: string) => string | null | Promise<string | null>;
  onBanner?: (message: string) => void;
  // ---- agent, ssh_config, password change (agent-*.ts, config-loader.ts) ----
  /** ssh-agent socket; default $SSH_AUTH_SOCK (its keys are tried after clientKeys); null = no agent. */
  agentPath?: string | null;
  /**
   * Only these of the agent's keys are used (AsyncSSH's agent_identities):
   * SSHKey or SSHCertificate objects, public blobs, or paths of public key or
   * certificate files. Default: every key the agent holds.
   */
  agentIdentities?: readonly (SSHKey | SSHCertificate | Uint8Array | string)[] | null;
  /** Ask the server to forward our agent to sessions (auth-agent-req@openssh.com); default false. */
  agentForwarding?: boolean;
  /** ssh_config file(s) applied to this host (default ~/.ssh/config, missing = empty); null = none. Explicit options win. */
  config?: string | readonly string[] | null;
  /** Environment variables sent on every session (a session's own `env` wins). */
  env?: Record<string, string>;
  /** Names or wildcard patterns of local environment variables sent on every session (OpenSSH SendEnv). */
  sendEnv?: readonly string[];
  /** Answers a server's request to change an expired password; null = give up on password auth. */
  passwordChangeHandler?: (prompt: string, lang: string) => PasswordChange | null | Promise<PasswordChange | null>;
  // ---- end agent/config ----
  signal?: AbortSignal;
  /** An existing byte stream to run SSH over instead of dialing host:port. */
  sock?: Duplex;
  /**
   * A command whose stdin/stdout carry the connection instead of a TCP socket
   * (OpenSSH ProxyCommand): a string run by /bin/sh, or an argument list run
   * without a shell; `%h %p %r %n %%` are expanded. Ended with SIGHUP.
   */
  proxyCommand?: string | readonly string[];
  /** Certificates (`*-cert.pub` paths or SSHCertificate objects) for the client keys, each offered before its key. */
  clientCerts?: readonly (string | SSHCertificate)[];
  windowSize?: number;
  maxPacketSize?: number;
  // ---- forwarding (src/actors/forward-*.ts, tunnel.ts, x11-forward.ts) ----
  /**
   * Run this connection through a jump host: an open connection (a
   * direct-tcpip channel of it carries this one) or an OpenSSH ProxyJump
   * string "[user@]host[:port],..." connected with these same options.
   */
  tunnel?: TunnelConnection | string;
  /** ms a shared hop of a `tunnel` string stays open after its last user closed (default 3000; 0 closes it at once). */
  tunnelLinger?: number;
  /** Request X11 forwarding on sessions (x11-req with a fake cookie, as OpenSSH). */
  x11Forwarding?: boolean;
  /** The local X display to connect x11 channels to (default $DISPLAY). */
  x11Display?: string;
  // ---- end forwarding ----
  /** Command createProcess/run start when given none (AsyncSSH's connection-wide `command`). */
  command?: string;
  /** Subsystem createProcess/run start unless they say `subsystem` (null = none); it wins over a command, as in AsyncSSH. */
  subsystem?: string;
  /** Default requestPty of createProcess/run: true, false, 'force' or 'auto' (see SessionOptions.requestPty). */
  requestPty?: boolean | 'force' | 'auto';
}

export interface ResolvedAlgorithms {
  kexAlgs: readonly KexName[];
  encryptionAlgs: readonly CipherName[];
  macAlgs: readonly MacName[];
  compressionAlgs: readonly CompressionName[];
  signatureAlgs: readonly SignatureName[];
}

/** Resolved lists, shared by every connection that asked for the same one (each connection keeps its lists). */
const internedLists = new Map<string, readonly string[]>();

function intern<T extends string>(list: readonly T[]): readonly T[] {
  const key = list.join(',');
  const hit = internedLists.get(key);
  if (hit) return hit as readonly T[];
  if (internedLists.size >= 256) internedLists.clear();
  const frozen = Object.freeze([...list]);
  internedLists.set(key, frozen);
  return frozen;
}

export function resolveAlgorithms(o: AlgorithmOptions, hostKeyOption = 'serverHostKeyAlgs'): ResolvedAlgorithms {
  return {
    kexAlgs: intern(resolveAlgorithmList('kexAlgs', o.kexAlgs, KEX_ALGORITHMS, DEFAULT_KEX)),
    encryptionAlgs: intern(resolveAlgorithmList('encryptionAlgs', o.encryptionAlgs, CIPHER_ALGORITHMS, DEFAULT_CIPHERS)),
    macAlgs: intern(resolveAlgorithmList('macAlgs', o.macAlgs, MAC_ALGORITHMS, DEFAULT_MACS)),
    compressionAlgs: intern(resolveAlgorithmList('compressionAlgs', o.compressionAlgs, COMPRESSION_ALGORITHMS, DEFAULT_COMPRESSION)),
    signatureAlgs: intern(resolveAlgorithmList(hostKeyOption, o.serverHostKeyAlgs, SIGNATURE_ALGORITHMS, DEFAULT_SIGNATURES)),
  };
}

export function checkPositive(name: string, v: unknown, opts: { integer?: boolean; allowZero?: boolean; max?: number } = {}): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name}: expected a number`);
  if ((opts.integer && !Number.isInteger(v)) || v < 0 || (!opts.allowZero && v === 0) || (opts.max !== undefined && v > opts.max)) {
    throw new RangeError(`${name}: out of range (${v})`);
  }
}

export function checkString(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string') throw new TypeError(`${name}: expected a string`);
}

export function checkFunction(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'function') throw new TypeError(`${name}: expected a function`);
}

/** The software version we send when none is given (RFC 4253 §4.2: "SSH-2.0-<this>"). */
export const DEFAULT_SOFTWARE_VERSION = 'fleetssh_0.1';

/** A version line's software part: printable ASCII without spaces or '-' (RFC 4253 §4.2), and short enough for the 255-byte line. */
export function checkSoftwareVersion(name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || !/^[\x21-\x2c\x2e-\x7e]{1,200}$/.test(v)) {
    throw new TypeError(`${name}: expected 1..200 printable ASCII characters without spaces or "-"`);
  }
}

/** The signature algorithms the client may sign with; RangeError for unknown names. */
export function clientSignatureAlgs(v: AlgorithmOption | undefined): SignatureName[] {
  return resolveAlgorithmList('signatureAlgs', v, SIGNATURE_ALGORITHMS, DEFAULT_SIGNATURES);
}

/** preferredAuth as a list of method names; TypeError when it is neither a list of names nor a comma-separated string. */
export function preferredAuthList(v: string | readonly string[]): string[] {
  const list = typeof v === 'string' ? v.split(',').map((m) => m.trim()).filter((m) => m !== '') : v;
  if (!Array.isArray(list) || list.some((m) => typeof m !== 'string' || !/^[\x21-\x7e]+$/.test(m))) {
    throw new TypeError('preferredAuth: expected method names, as a list or a comma-separated string');
  }
  return [...list];
}

export function checkSignal(v: unknown): void {
  if (v !== undefined && !(v instanceof AbortSignal)) throw new TypeError('signal: expected an AbortSignal');
}

/** Validates every client option that does not need I/O. */
export function checkConnectOptions(host: unknown, o: ConnectOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (o.sock === undefined && (typeof host !== 'string' || host === '')) throw new TypeError('host: expected a host name or address');
  if (o.sock !== undefined && (typeof o.sock !== 'object' || o.sock === null || typeof o.sock.write !== 'function')) {
    throw new TypeError('sock: expected a Duplex stream');
  }
  checkPositive('port', o.port, { integer: true, max: 65535 });
  checkString('username', o.username);
  checkString('password', o.password);
  checkString('passphrase', o.passphrase);
  if (o.clientKeys !== undefined && o.clientKeys !== null && !Array.isArray(o.clientKeys)) throw new TypeError('clientKeys: expected a list of keys or paths');
  checkPositive('rekeyBytes', o.rekeyBytes, { integer: true });
  checkPositive('rekeySeconds', o.rekeySeconds, { allowZero: true });
  checkPositive('keepaliveInterval', o.keepaliveInterval, { allowZero: true });
  checkPositive('keepaliveCountMax', o.keepaliveCountMax, { integer: true });
  checkPositive('connectTimeout', o.connectTimeout);
  checkSoftwareVersion('clientVersion', o.clientVersion);
  if (o.hostKeyAlias !== undefined && (typeof o.hostKeyAlias !== 'string' || o.hostKeyAlias === '' || /\s/.test(o.hostKeyAlias))) {
    throw new TypeError('hostKeyAlias: expected a host name without spaces');
  }
  if (o.localAddr !== undefined) {
    const [addr, lport] = typeof o.localAddr === 'string' ? [o.localAddr, 0] : Array.isArray(o.localAddr) ? o.localAddr : [null, 0];
    if (typeof addr !== 'string' || addr === '') throw new TypeError('localAddr: expected an address or [address, port]');
    checkPositive('localAddr port', lport, { integer: true, allowZero: true, max: 65535 });
  }
  if (o.family !== undefined && o.family !== 4 && o.family !== 6) throw new RangeError('family: expected 4 or 6');
  checkString('termType', o.termType);
  if (o.encoding !== undefined && o.encoding !== null && !Buffer.isEncoding(o.encoding)) throw new TypeError('encoding: expected a Buffer encoding or null');
  if (o.termSize !== undefined && (!Array.isArray(o.termSize) || (o.termSize.length !== 2 && o.termSize.length !== 4))) throw new RangeError('termSize: expected [cols, rows] or [cols, rows, widthPx, heightPx]');
  if (o.preferredAuth !== undefined) preferredAuthList(o.preferredAuth);
  clientSignatureAlgs(o.signatureAlgs);
  for (const name of ['publicKeyAuth', 'kbdintAuth', 'passwordAuth', 'tcpKeepalive', 'disableTrivialAuth'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') throw new TypeError(`${name}: expected a boolean`);
  }
  checkPositive('windowSize', o.windowSize, { integer: true, max: 0xffffffff });
  checkPositive('maxPacketSize', o.maxPacketSize, { integer: true, max: 0xffffffff });
  checkFunction('kbdintHandler', o.kbdintHandler);
  checkAgentConfigOptions(o);
  checkFunction('passwordHandler', o.passwordHandler);
  checkFunction('onBanner', o.onBanner);
  checkSignal(o.signal);
  if (o.tunnel !== undefined && typeof o.tunnel !== 'string' && (typeof o.tunnel !== 'object' || o.tunnel === null || typeof o.tunnel.openConnection !== 'function')) {
    throw new TypeError('tunnel: expected a client connection or a "[user@]host[:port],..." string');
  }
  if (o.tunnel !== undefined && o.sock !== undefined) throw new TypeError('tunnel: cannot be combined with sock');
  if (o.proxyCommand !== undefined) {
    validateProxyCommand(o.proxyCommand);
    if (o.sock !== undefined || o.tunnel !== undefined) throw new TypeError('proxyCommand: cannot be combined with sock or tunnel');
  }
  if (o.clientCerts !== undefined && !Array.isArray(o.clientCerts)) throw new TypeError('clientCerts: expected a list of certificate file paths or SSHCertificate objects');
  checkPositive('tunnelLinger', o.tunnelLinger, { allowZero: true, max: 0x7fffffff });
  if (o.x11Forwarding !== undefined && typeof o.x11Forwarding !== 'boolean') throw new TypeError('x11Forwarding: expected a boolean');
  checkString('x11Display', o.x11Display);
  checkString('command', o.command);
  checkString('subsystem', o.subsystem);
  checkRequestPty('requestPty', o.requestPty);
}

/** The connection-wide defaults of createProcess/run (AsyncSSH's term_type, term_size, term_modes, encoding). */
export function processDefaults(o: ConnectOptions): Pick<ConnectOptions, 'termType' | 'termSize' | 'termModes' | 'encoding'> {
  const out: Pick<ConnectOptions, 'termType' | 'termSize' | 'termModes' | 'encoding'> = {};
  if (o.termType !== undefined) out.termType = o.termType;
  if (o.termSize !== undefined) out.termSize = o.termSize;
  if (o.termModes !== undefined) out.termModes = o.termModes;
  if (o.encoding !== undefined) out.encoding = o.encoding;
  return out;
}

export function defaultUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

// ---- agent, ssh_config, password change ---------------------------------------

export interface PasswordChange {
  oldPassword: string;
  newPassword: string;
}

function checkAgentConfigOptions(o: ConnectOptions): void {
  if (o.agentIdentities !== undefined && o.agentIdentities !== null && !Array.isArray(o.agentIdentities)) {
    throw new TypeError('agentIdentities: expected a list of public keys, certificates, blobs or file paths, or null');
  }
  if (o.agentPath !== undefined && o.agentPath !== null && (typeof o.agentPath !== 'string' || o.agentPath === '')) {
    throw new TypeError('agentPath: expected a socket path or null');
  }
  if (o.agentForwarding !== undefined && typeof o.agentForwarding !== 'boolean') throw new TypeError('agentForwarding: expected a boolean');
  const c = o.config;
  if (c !== undefined && c !== null && typeof c !== 'string' && !(Array.isArray(c) && c.every((p) => typeof p === 'string'))) {
    throw new TypeError('config: expected an ssh_config path, a list of paths, or null');
  }
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null || Object.values(o.env).some((v) => typeof v !== 'string'))) {
    throw new TypeError('env: expected an object of strings');
  }
  if (o.sendEnv !== undefined && !(Array.isArray(o.sendEnv) && o.sendEnv.every((p) => typeof p === 'string'))) {
    throw new TypeError('sendEnv: expected a list of variable names or patterns');
  }
  checkFunction('passwordChangeHandler', o.passwordChangeHandler);
}

/** The variables a connection sends on every session: sendEnv patterns over process.env, then env. */
export function sessionEnvironment(o: ConnectOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pat of o.sendEnv ?? []) {
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && matchPattern(name, pat)) out[name] = value;
    }
  }
  const env = { ...out, ...(o.env ?? {}) };
  return Object.keys(env).length === 0 ? NO_ENV : env;
}

/** The environment of connections that send none (shared, frozen). */
const NO_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A config algorithm list (with +, -, ^) over our defaults, keeping only names we implement. */
function configAlgorithms(option: string, spec: string | undefined, all: readonly string[], defaults: readonly string[]): string[] | undefined {
  if (spec === undefined) return undefined;
  const list = applyAlgorithmList(spec, defaults, matchPattern).filter((n) => all.includes(n));
  if (list.length === 0) throw new RangeError(`ssh_config ${option} "${spec}": none of these algorithms is supported`);
  return list;
}

function agentPathFromConfig(v: string): string | null | undefined {
  if (v === 'none') return null;
  if (v === 'SSH_AUTH_SOCK') return undefined;
  if (v.startsWith('$')) return process.env[v.slice(1)] ?? null;
  return v;
}

/** ssh_config RequestTTY as requestPty (ssh's "yes" asks for a pty when there is a terminal type, as requestPty true). */
const REQUEST_TTY: Readonly<Record<string, boolean | 'force' | 'auto'>> = { yes: true, no: false, force: 'force', auto: 'auto' };

/** `[user@]host[:port]` (or ssh://, [v6]:port) with host, user and port filled in from the config, as `ssh -J` does. */
function resolveJumpHop(config: SshConfig, spec: string, base: ReturnType<typeof localResolveOptions>): string {
  const m = /^(?:ssh:\/\/)?(?:(.+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!m) return spec;
  const [, user, rawHost, port] = m;
  const host = rawHost!.replace(/^\[|\]$/g, '');
  const r = resolveSshConfig(config, host, { ...base, user, port: port === undefined ? undefined : Number(port) });
  const h = r.hostName.includes(':') ? `[${r.hostName}]` : r.hostName;
  return `${r.user}@${h}:${r.port}`;
}

/**
 * Applies ssh_config (option `config`) to the destination and options, as
 * ssh does for the same host; options the caller gave always win. Returns
 * the host to dial and the merged options.
 */
export function applySshConfig(host: string, o: ConnectOptions): { host: string; options: ConnectOptions; configHost: string } {
  if (o.config === null || o.sock !== undefined) return { host, options: o, configHost: host };
  const paths = o.config === undefined ? [undefined] : typeof o.config === 'string' ? [o.config] : [...o.config];
  const now = Date.now();
  const loaded = paths.map((p) => cachedSshConfig(p, now));
  for (const [i, c] of loaded.entries()) {
    const unreadable = c.errors.find((e) => e.line === 0);
    if (unreadable && paths[i] !== undefined) throw new TypeError(`config: ${unreadable.file}: ${unreadable.message}`);
  }
  const config: SshConfig = loaded.length === 1 ? loaded[0]! : { file: '<config>', items: [{ kind: 'include', patterns: [], line: 0, configs: loaded }], errors: [] };
  const resolveOpts = { ...cachedLocalOptions(now), user: o.username, port: o.port };
  const cfg = resolveSshConfig(config, host, resolveOpts);
  const out: ConnectOptions = { ...o };
  out.port ??= cfg.port;
  out.username ??= cfg.user;
  const expandPath = (p: string): string => {
    const e = expandTokens(expandTilde(p, resolveOpts.homeDir), cfg.tokens);
    return typeof e === 'string' ? e : p;
  };
  if (out.clientKeys === undefined && cfg.identityFile.length > 0) {
    // Identity files that do not exist are skipped, as ssh does; so are those
    // that cannot be loaded here (encrypted, no passphrase): the agent may
    // hold the key, as it does for ssh.
    const files = cfg.identityFile.map(expandPath).filter((p) => existsSync(p));
    out.clientKeys = files;
    identitiesFromConfig.add(files);
  }
  // IdentitiesOnly: of the agent's keys, only those of the identity files
  // (their .pub files; the default ones when the config names none), as ssh.
  if (cfg.identitiesOnly === true && o.agentIdentities === undefined) {
    const ids = cfg.identityFile.length > 0 ? cfg.identityFile.map(expandPath) : DEFAULT_IDENTITY_NAMES.map((n) => join(resolveOpts.homeDir, '.ssh', n));
    out.agentIdentities = ids.map((p) => `${p}.pub`).filter((p) => existsSync(p));
  }
  if (out.agentPath === undefined && cfg.identityAgent !== undefined) {
    const a = agentPathFromConfig(cfg.identityAgent);
    if (a !== undefined) out.agentPath = a;
  }
  if (out.knownHosts === undefined && (cfg.userKnownHostsFile !== undefined || cfg.strictHostKeyChecking !== undefined)) {
    const files = (cfg.userKnownHostsFile ?? [defaultKnownHostsPath()]).filter((p) => p !== 'none');
    const strict = cfg.strictHostKeyChecking ?? 'yes';
    if (files.length === 0 && strict === 'no') out.knownHosts = null;
    else {
      // "no" is treated as accept-new: unknown keys are added, a changed key is still refused.
      const policy = strict === 'accept-new' || strict === 'no' ? 'accept-new' : 'strict';
      const verify = createHostKeyVerifier({ knownHosts: files, policy });
      out.knownHosts = async (h, p, key) => {
        await verify(h, null, p, key.publicBlob, key.keyType);
        return true;
      };
    }
  }
  const preferred = cfg.other['preferredauthentications']?.[0];
  if (out.preferredAuth === undefined && preferred !== undefined) out.preferredAuth = preferred;
  const alias = cfg.other['hostkeyalias']?.[0];
  if (out.hostKeyAlias === undefined && alias !== undefined && alias.toLowerCase() !== 'none') out.hostKeyAlias = alias;
  if (out.connectTimeout === undefined && cfg.connectTimeout !== undefined && cfg.connectTimeout > 0) out.connectTimeout = cfg.connectTimeout * 1000;
  if (out.keepaliveInterval === undefined && cfg.serverAliveInterval !== undefined) out.keepaliveInterval = cfg.serverAliveInterval * 1000;
  if (out.keepaliveCountMax === undefined && cfg.serverAliveCountMax !== undefined && cfg.serverAliveCountMax > 0) out.keepaliveCountMax = cfg.serverAliveCountMax;
  out.encryptionAlgs ??= configAlgorithms('Ciphers', cfg.ciphers, CIPHER_ALGORITHMS, DEFAULT_CIPHERS);
  out.kexAlgs ??= configAlgorithms('KexAlgorithms', cfg.kexAlgorithms, KEX_ALGORITHMS, DEFAULT_KEX);
  out.macAlgs ??= configAlgorithms('MACs', cfg.macs, MAC_ALGORITHMS, DEFAULT_MACS);
  out.serverHostKeyAlgs ??= configAlgorithms('HostKeyAlgorithms', cfg.hostKeyAlgorithms, SIGNATURE_ALGORITHMS, DEFAULT_SIGNATURES);
  // Certificate names in the list are left out: a certificate signs with its key's plain algorithm.
  const pubkeyAlgs = cfg.other['pubkeyacceptedalgorithms']?.[0] ?? cfg.other['pubkeyacceptedkeytypes']?.[0];
  out.signatureAlgs ??= configAlgorithms('PubkeyAcceptedAlgorithms', pubkeyAlgs, SIGNATURE_ALGORITHMS, DEFAULT_SIGNATURES);
  if (out.compressionAlgs === undefined && cfg.compression !== undefined) out.compressionAlgs = cfg.compression ? ['zlib@openssh.com', 'zlib', 'none'] : ['none'];
  if (cfg.rekeyLimit !== undefined) {
    if (out.rekeyBytes === undefined && cfg.rekeyLimit.bytes > 0) out.rekeyBytes = cfg.rekeyLimit.bytes;
    if (out.rekeySeconds === undefined && cfg.rekeyLimit.seconds > 0) out.rekeySeconds = cfg.rekeyLimit.seconds;
  }
  if (out.agentForwarding === undefined && cfg.forwardAgent !== undefined && cfg.forwardAgent !== false) out.agentForwarding = true;
  if (out.sendEnv === undefined && cfg.sendEnv.length > 0) out.sendEnv = cfg.sendEnv;
  if (Object.keys(cfg.setEnv).length > 0) out.env = { ...cfg.setEnv, ...(o.env ?? {}) };
  if (out.clientCerts === undefined && cfg.certificateFile.length > 0) {
    out.clientCerts = cfg.certificateFile.map(expandPath).filter((p) => existsSync(p));
    certsFromConfig.add(out.clientCerts);
  }
  // ProxyCommand: expanded here with every ssh_config token; '%' escaped so that connect()'s own expansion leaves it as is.
  if (o.proxyCommand === undefined && o.tunnel === undefined && cfg.proxyCommand !== undefined) {
    const e = expandTokens(cfg.proxyCommand, cfg.tokens, 'CdhikLlnpru');
    if (typeof e !== 'string') throw new TypeError(`config: ProxyCommand: ${e.error}`);
    out.proxyCommand = e.replaceAll('%', '%%');
  }
  // RemoteCommand and RequestTTY: the connection-wide command and requestPty (as AsyncSSH reads them).
  const remote = cfg.other['remotecommand']?.[0];
  if (out.command === undefined && remote !== undefined && remote.toLowerCase() !== 'none') {
    const e = expandTokens(remote, cfg.tokens, 'CdhikLlnpru');
    if (typeof e !== 'string') throw new TypeError(`config: RemoteCommand: ${e.error}`);
    out.command = e;
  }
  const tty = REQUEST_TTY[cfg.other['requesttty']?.[0]?.toLowerCase() ?? ''];
  if (out.requestPty === undefined && tty !== undefined) out.requestPty = tty;
  // ProxyJump (or a `tunnel` string) goes to the `tunnel` option, each hop's alias resolved through the same config (HostName, Port, User).
  const jumps = typeof o.tunnel === 'string' ? o.tunnel : o.tunnel === undefined && out.proxyCommand === undefined ? cfg.proxyJump : undefined;
  if (jumps !== undefined) out.tunnel = jumps.split(',').map((hop) => resolveJumpHop(config, hop.trim(), resolveOpts)).join(',');
  return { host: cfg.hostName, options: out, configHost: host };
}

/** `clientCerts` lists that came from ssh_config's CertificateFile: a certificate for none of the keys is skipped there. */
export const certsFromConfig = new WeakSet<object>();
/** clientKeys lists made from ssh_config IdentityFile: a file that cannot be loaded is skipped, not an error. */
export const identitiesFromConfig = new WeakSet<object>();

/**
 * ssh_config files and the local user's facts (name, home, host name) are
 * read at most once a second: the connections of a fleet share them, and an
 * edit is seen within a second. (Per connection they cost a file read, a
 * parse and three system calls.)
 */
const CONFIG_TTL_MS = 1000;
const configCache = new Map<string, { at: number; config: SshConfig }>();
let localCache: { at: number; home: string; options: ReturnType<typeof localResolveOptions> } | null = null;

function cachedSshConfig(path: string | undefined, now: number): SshConfig {
  // The default file and relative Includes depend on the home directory ($HOME).
  const key = `${homedir()}\0${path ?? ''}`;
  const hit = configCache.get(key);
  if (hit && now - hit.at < CONFIG_TTL_MS && now >= hit.at) return hit.config;
  const config = loadSshConfig(path);
  if (configCache.size > 64) configCache.clear();
  configCache.set(key, { at: now, config });
  return config;
}

function cachedLocalOptions(now: number): ReturnType<typeof localResolveOptions> {
  const home = homedir();
  if (localCache && localCache.home === home && now - localCache.at < CONFIG_TTL_MS && now >= localCache.at) return localCache.options;
  localCache = { at: now, home, options: localResolveOptions() };
  return localCache.options;
}

/** Applies `hostKeyPolicy: 'accept-new'` to a known_hosts path option (explicit or the default file). */
export function applyHostKeyPolicy(o: ConnectOptions): ConnectOptions {
  const policy = o.hostKeyPolicy ?? 'strict';
  if (policy !== 'strict' && policy !== 'accept-new') throw new RangeError(`hostKeyPolicy: expected 'strict' or 'accept-new', got ${JSON.stringify(policy)}`);
  if (policy === 'strict' || !(o.knownHosts === undefined || typeof o.knownHosts === 'string')) return o;
  const verify = createHostKeyVerifier({ knownHosts: o.knownHosts ?? defaultKnownHostsPath(), policy });
  const knownHosts: KnownHostsOption = async (h, p, key) => {
    await verify(h, null, p, key.publicBlob, key.keyType);
    return true;
  };
  return { ...o, knownHosts };
}
