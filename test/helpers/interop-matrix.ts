/**
 * Shared tables and small helpers for the interop suites that drive the
 * fleetssh client against a real OpenSSH sshd (test/interop/client-*.test.ts).
 *
 * The tables list what fleetssh and OpenSSH 9.2 both implement, one dimension
 * at a time (the idea of OpenSSH's regress try-ciphers / kextype / keytype).
 * mlkem768x25519-sha256 is absent on purpose: OpenSSH 9.2 does not have it
 * (it arrived in 9.9), so it is covered only against our own server.
 */
import { readFileSync } from 'node:fs';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import type { ConnectOptions } from '../../src/actors/client-options.js';
import { importPrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { after, before } from 'node:test';
import { startSshd, type SshdServer } from './openssh.js';

/** Key exchange methods both sides implement; `legacy` ones must be enabled with "+" in sshd. */
export const KEX_CASES: readonly { kex: string; legacy: boolean }[] = [
  { kex: 'curve25519-sha256', legacy: false },
  { kex: 'curve25519-sha256@libssh.org', legacy: false },
  { kex: 'ecdh-sha2-nistp256', legacy: false },
  { kex: 'ecdh-sha2-nistp384', legacy: false },
  { kex: 'ecdh-sha2-nistp521', legacy: false },
  { kex: 'diffie-hellman-group-exchange-sha256', legacy: false },
  { kex: 'diffie-hellman-group16-sha512', legacy: false },
  { kex: 'diffie-hellman-group18-sha512', legacy: false },
  { kex: 'diffie-hellman-group14-sha256', legacy: false },
  { kex: 'diffie-hellman-group14-sha1', legacy: true },
  { kex: 'diffie-hellman-group1-sha1', legacy: true },
  { kex: 'diffie-hellman-group-exchange-sha1', legacy: true },
];

/** Ciphers; AEAD ones carry their own integrity, so they run once with no MAC chosen. */
export const CIPHER_CASES: readonly { cipher: string; aead: boolean; legacy: boolean }[] = [
  { cipher: 'chacha20-poly1305@openssh.com', aead: true, legacy: false },
  { cipher: 'aes128-gcm@openssh.com', aead: true, legacy: false },
  { cipher: 'aes256-gcm@openssh.com', aead: true, legacy: false },
  { cipher: 'aes128-ctr', aead: false, legacy: false },
  { cipher: 'aes192-ctr', aead: false, legacy: false },
  { cipher: 'aes256-ctr', aead: false, legacy: false },
  { cipher: 'aes128-cbc', aead: false, legacy: true },
  { cipher: 'aes192-cbc', aead: false, legacy: true },
  { cipher: 'aes256-cbc', aead: false, legacy: true },
  { cipher: '3des-cbc', aead: false, legacy: true },
];

export const MAC_NAMES: readonly string[] = [
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-sha1',
];

/** The cipher x MAC cases: every MAC for each non-AEAD cipher, AEAD ciphers once. */
export const CIPHER_MAC_CASES: readonly { cipher: string; mac: string | null; legacy: boolean }[] = CIPHER_CASES.flatMap(
  (c): { cipher: string; mac: string | null; legacy: boolean }[] =>
    c.aead ? [{ cipher: c.cipher, mac: null, legacy: c.legacy }] : MAC_NAMES.map((mac) => ({ cipher: c.cipher, mac, legacy: c.legacy })),
);

/** Host key algorithms and the harness host key that serves each (keys named as in openssh.ts). */
export const HOST_KEY_CASES: readonly { alg: string; hostKey: 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa'; legacy: boolean }[] = [
  { alg: 'ssh-ed25519', hostKey: 'ed25519', legacy: false },
  { alg: 'ecdsa-sha2-nistp256', hostKey: 'ecdsa256', legacy: false },
  { alg: 'ecdsa-sha2-nistp384', hostKey: 'ecdsa384', legacy: false },
  { alg: 'ecdsa-sha2-nistp521', hostKey: 'ecdsa521', legacy: false },
  { alg: 'rsa-sha2-256', hostKey: 'rsa', legacy: false },
  { alg: 'rsa-sha2-512', hostKey: 'rsa', legacy: false },
  { alg: 'ssh-rsa', hostKey: 'rsa', legacy: true },
];

/** sshd config that also enables every legacy algorithm of the tables above. */
export const SSHD_LEGACY_CONFIG: Readonly<Record<string, string>> = {
  KexAlgorithms: '+' + KEX_CASES.filter((k) => k.legacy).map((k) => k.kex).join(','),
  Ciphers: '+' + CIPHER_CASES.filter((c) => c.legacy).map((c) => c.cipher).join(','),
  HostKeyAlgorithms: '+ssh-rsa',
  PubkeyAcceptedAlgorithms: '+ssh-rsa',
  Compression: 'yes',
};

/** Rejects with a message naming `what` when `p` has not settled within `ms`. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Loads one of the harness's client private keys (made by ssh-keygen). */
export function harnessClientKey(sshd: SshdServer, name: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): SSHKey {
  return importPrivateKey(readFileSync(sshd.clientKeys[name].privatePath, 'utf8'));
}

/**
 * Connects our client to sshd as root with the harness ed25519 key and its
 * known_hosts file (so every case also verifies the host key), bounded in time.
 */
export function connectSshd(sshd: SshdServer, options: ConnectOptions = {}, timeoutMs = 20_000): Promise<SSHClientConnection> {
  return within(
    timeoutMs,
    connect('127.0.0.1', {
      port: sshd.port,
      username: 'root',
      clientKeys: [harnessClientKey(sshd)],
      knownHosts: sshd.knownHostsFile,
      connectTimeout: timeoutMs,
      ...options,
    }),
    `connect to sshd on port ${sshd.port}`,
  );
}

/** The sshd log written since `mark` (a previous logs().length). */
export function logSince(sshd: SshdServer, mark: number): string {
  return sshd.logs().slice(mark);
}

/**
 * What sshd says it negotiated in `log` (its DEBUG1 "kex: ..." lines of the
 * first key exchange found): kex, host key, and per direction cipher/MAC/compression.
 */
export function sshdNegotiated(log: string): {
  kex?: string;
  hostKey?: string;
  cs?: { cipher: string; mac: string; compression: string };
  sc?: { cipher: string; mac: string; compression: string };
} {
  const kex = /kex: algorithm: (\S+)/.exec(log)?.[1];
  const hostKey = /kex: host key algorithm: (\S+)/.exec(log)?.[1];
  const dir = (d: string): { cipher: string; mac: string; compression: string } | undefined => {
    const m = new RegExp(`kex: ${d} cipher: (\\S+) MAC: (\\S+) compression: (\\S+)`).exec(log);
    return m ? { cipher: m[1]!, mac: m[2]!, compression: m[3]! } : undefined;
  };
  return { kex, hostKey, cs: dir('client->server'), sc: dir('server->client') };
}

/** Polls `cond` every 25 ms until it holds or `ms` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

/**
 * For a describe block: an sshd and one connection to it, made in before()
 * and closed in after(). Read `fx.sshd` and `fx.conn` inside the tests.
 */
export function sshdConnectionFixture(options: ConnectOptions = {}): { sshd: SshdServer; conn: SSHClientConnection } {
  const fx = {} as { sshd: SshdServer; conn: SSHClientConnection };
  before(async () => {
    fx.sshd = await startSshd();
    fx.conn = await connectSshd(fx.sshd, options);
  });
  after(async () => {
    if (fx.conn && !fx.conn.closed) await within(10_000, fx.conn.close(), 'close');
    await fx.sshd?.stop();
  });
  return fx;
}
