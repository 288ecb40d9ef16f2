/**
 * Client options: validation (TypeError/RangeError naming the option) and
 * resolution into what the core and the actor need.
 */
import { userInfo } from 'node:os';
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
import type { KnownHostsOption } from './host-key-check.js';

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
  /** known_hosts path (default ~/.ssh/known_hosts), parsed entries, a callback, or null = accept any key. */
  knownHosts?: KnownHostsOption;
  /** Milliseconds between keepalive requests once authenticated; 0 = off (default). */
  keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is declared lost (default 3). */
  keepaliveCountMax?: number;
  /** Milliseconds for TCP connect + handshake + authentication (default: none). */
  connectTimeout?: number;
  kbdintHandler?: (name: string, instruction: string, prompts: KbdintPromptInfo[]) => string[] | null | Promise<string[] | null>;
  passwordHandler?: (prompt: string) => string | null | Promise<string | null>;
  onBanner?: (message: string) => void;
  signal?: AbortSignal;
  /** An existing byte stream to run SSH over instead of dialing host:port. */
  sock?: Duplex;
  windowSize?: number;
  maxPacketSize?: number;
}

export interface ResolvedAlgorithms {
  kexAlgs: KexName[];
  encryptionAlgs: CipherName[];
  macAlgs: MacName[];
  compressionAlgs: CompressionName[];
  signatureAlgs: SignatureName[];
}

export function resolveAlgorithms(o: AlgorithmOptions, hostKeyOption = 'serverHostKeyAlgs'): ResolvedAlgorithms {
  return {
    kexAlgs: resolveAlgorithmList('kexAlgs', o.kexAlgs, KEX_ALGORITHMS, DEFAULT_KEX),
    encryptionAlgs: resolveAlgorithmList('encryptionAlgs', o.encryptionAlgs, CIPHER_ALGORITHMS, DEFAULT_CIPHERS),
    macAlgs: resolveAlgorithmList('macAlgs', o.macAlgs, MAC_ALGORITHMS, DEFAULT_MACS),
    compressionAlgs: resolveAlgorithmList('compressionAlgs', o.compressionAlgs, COMPRESSION_ALGORITHMS, DEFAULT_COMPRESSION),
    signatureAlgs: resolveAlgorithmList(hostKeyOption, o.serverHostKeyAlgs, SIGNATURE_ALGORITHMS, DEFAULT_SIGNATURES),
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
  checkPositive('windowSize', o.windowSize, { integer: true, max: 0xffffffff });
  checkPositive('maxPacketSize', o.maxPacketSize, { integer: true, max: 0xffffffff });
  checkFunction('kbdintHandler', o.kbdintHandler);
  checkFunction('passwordHandler', o.passwordHandler);
  checkFunction('onBanner', o.onBanner);
  checkSignal(o.signal);
}

export function defaultUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}
