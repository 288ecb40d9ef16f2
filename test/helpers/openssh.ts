/**
 * Starts a real OpenSSH sshd on a free loopback port, with its own temp dir,
 * host keys of every type, authorized client keys and a config tests can
 * extend, and stops it without leaving a process behind.
 *
 * sshd runs as root (privilege separation needs /run/sshd, created here).
 * Keys are generated once per test process and copied into each server's dir.
 */
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  announceSkip,
  findBinary,
  freePort,
  keygen,
  makeTempDir,
  onProcessExit,
  removeTempDir,
  type KeyFiles,
} from './ssh-client.js';
import { spawnDaemon, waitUntilListening } from './daemon.js';

export { descendantPids, isAlive } from './process-tree.js';

export const SSHD_PATH = '/usr/sbin/sshd';

export type HostKeyName = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa';
export const HOST_KEY_NAMES: readonly HostKeyName[] = ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa'];

/** The host key algorithms a client can ask for with each host key (RSA signs with SHA-2). */
export const HOST_KEY_ALGORITHMS: Readonly<Record<HostKeyName, readonly string[]>> = {
  ed25519: ['ssh-ed25519'],
  ecdsa256: ['ecdsa-sha2-nistp256'],
  ecdsa384: ['ecdsa-sha2-nistp384'],
  ecdsa521: ['ecdsa-sha2-nistp521'],
  rsa: ['rsa-sha2-512', 'rsa-sha2-256'],
};

export type ClientKeyName = 'ed25519' | 'ecdsa' | 'rsa';
export const CLIENT_KEY_NAMES: readonly ClientKeyName[] = ['ed25519', 'ecdsa', 'rsa'];

export interface HostKey extends KeyFiles {
  /** The key's type as on the wire and in its public line (ssh-rsa for RSA). */
  keyType: string;
}

const TEST_USER = 'fleetssh-test';
const TEST_PASSWORD = 'fleetssh-test-pw';

/** The Unix user made by scripts/ci-setup-peers.sh, or null when it does not exist here. */
export function testUser(): { name: string; password: string; home: string } | null {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === TEST_USER) return { name: TEST_USER, password: TEST_PASSWORD, home: f[5] ?? '' };
  }
  return null;
}

/** A skip reason when the test user is missing (also printed), else undefined. */
export function testUserSkipReason(): string | undefined {
  if (testUser()) return undefined;
  const reason = `SKIPPED: needs Unix user ${TEST_USER} (run scripts/ci-setup-peers.sh as root)`;
  announceSkip(reason);
  return reason;
}

/** A skip reason when sshd cannot be started here (missing, or not root), else undefined. */
export function sshdSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!findBinary(SSHD_PATH)) reason = `SKIPPED: needs ${SSHD_PATH} (Debian package openssh-server)`;
  else if (!findBinary('ssh-keygen')) reason = 'SKIPPED: needs ssh-keygen (Debian package openssh-client)';
  else if (process.getuid?.() !== 0) reason = `SKIPPED: needs root to run ${SSHD_PATH} with privilege separation`;
  if (reason) announceSkip(reason);
  return reason;
}

interface KeyCache {
  host: Record<HostKeyName, HostKey>;
  client: Record<ClientKeyName, KeyFiles>;
}
let keyCache: Promise<KeyCache> | undefined;

function keyTypeOf(publicLine: string): string {
  return publicLine.split(' ')[0] ?? '';
}

async function makeKeys(): Promise<KeyCache> {
  const dir = makeTempDir('fleetssh-keycache-');
  const hostSpecs: [HostKeyName, 'ed25519' | 'ecdsa' | 'rsa', number | undefined][] = [
    ['ed25519', 'ed25519', undefined],
    ['ecdsa256', 'ecdsa', 256],
    ['ecdsa384', 'ecdsa', 384],
    ['ecdsa521', 'ecdsa', 521],
    ['rsa', 'rsa', 3072],
  ];
  const hostList = await Promise.all(
    hostSpecs.map(async ([name, type, bits]) => {
      const k = await keygen(type, bits, { dir, name: `ssh_host_${name}_key`, comment: `fleetssh-host-${name}` });
      return [name, { ...k, keyType: keyTypeOf(k.publicLine) }] as const;
    }),
  );
  const clientList = await Promise.all(
    CLIENT_KEY_NAMES.map(async (name) => {
      const k = await keygen(name, name === 'ecdsa' ? 256 : undefined, { dir, name: `id_${name}`, comment: `fleetssh-client-${name}` });
      return [name, k] as const;
    }),
  );
  return {
    host: Object.fromEntries(hostList) as Record<HostKeyName, HostKey>,
    client: Object.fromEntries(clientList) as Record<ClientKeyName, KeyFiles>,
  };
}

/** The per-process host and client keys (generated on first use). */
export function testKeys(): Promise<KeyCache> {
  keyCache ??= makeKeys();
  return keyCache;
}

export interface SshdOptions {
  /**
   * Config keywords that replace the defaults of the same keyword (case-insensitive)
   * or are added, e.g. `{Ciphers: '+aes128-cbc', KexAlgorithms: '+diffie-hellman-group1-sha1'}`.
   * An array gives the keyword once per value (HostKey, Subsystem, ...).
   */
  config?: Readonly<Record<string, string | readonly string[]>>;
  /** Raw lines appended after everything else (e.g. a Match block). */
  extraLines?: readonly string[];
  /** Which host keys to load; default all five. */
  hostKeys?: readonly HostKeyName[];
  /** More public key lines authorized for both root and the test user. */
  authorizedKeys?: readonly string[];
  /** Bound on the wait for the port to accept connections; default 15 s. */
  startTimeoutMs?: number;
}

export interface SshdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  readonly configPath: string;
  readonly hostKeys: Readonly<Record<HostKeyName, HostKey>>;
  /** A known_hosts file with one `[127.0.0.1]:port type base64` line per loaded host key. */
  readonly knownHostsFile: string;
  readonly clientKeys: Readonly<Record<ClientKeyName, KeyFiles>>;
  /** Appends a public key line to the user's authorized_keys (read by sshd at each auth). */
  authorizeKey(publicLine: string, user?: string): void;
  /** Everything sshd has logged so far (its -E log file, plus anything on its stderr); kept after stop(). */
  logs(): string;
  /** Kills sshd and every process it started, then removes its dir. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<{ stopSync(): void }>();

function installCleanup(): void {
  onProcessExit(() => {
    for (const r of running) r.stopSync();
  });
}

function renderConfig(defaults: [string, string | readonly string[]][], overrides: Readonly<Record<string, string | readonly string[]>>, extra: readonly string[]): string {
  const entries = new Map<string, [string, readonly string[]]>();
  const put = (k: string, v: string | readonly string[]): void => {
    entries.set(k.toLowerCase(), [k, typeof v === 'string' ? [v] : v]);
  };
  for (const [k, v] of defaults) put(k, v);
  for (const [k, v] of Object.entries(overrides)) put(k, v);
  const lines: string[] = [];
  for (const [k, vs] of entries.values()) for (const v of vs) lines.push(`${k} ${v}`);
  return lines.concat(extra).join('\n') + '\n';
}

/** Starts sshd and waits until its port accepts connections. Throws with its log if it cannot. */
export async function startSshd(options: SshdOptions = {}): Promise<SshdServer> {
  const skip = sshdSkipReason();
  if (skip) throw new Error(`startSshd: ${skip}`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const keys = await testKeys();
  let lastError: Error | undefined;
  // A port can be taken between freePort() and sshd's bind: retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(keys, await freePort(), options);
    } catch (e) {
      lastError = e as Error;
      if (!/Address already in use/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(keys: KeyCache, port: number, options: SshdOptions): Promise<SshdServer> {
  const dir = makeTempDir('fleetssh-sshd-');
  // The test user's sshd reads its authorized_keys as that user: the dir must be traversable.
  chmodSync(dir, 0o755);
  const loaded = options.hostKeys ?? HOST_KEY_NAMES;
  const hostKeys = {} as Record<HostKeyName, HostKey>;
  const hostKeyPaths: string[] = [];
  for (const name of HOST_KEY_NAMES) {
    const k = keys.host[name];
    const privatePath = join(dir, `ssh_host_${name}_key`);
    copyFileSync(k.privatePath, privatePath);
    copyFileSync(k.publicPath, privatePath + '.pub');
    chmodSync(privatePath, 0o600);
    hostKeys[name] = { ...k, privatePath, publicPath: privatePath + '.pub' };
    if (loaded.includes(name)) hostKeyPaths.push(privatePath);
  }
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(
    knownHostsFile,
    loaded.map((n) => `[127.0.0.1]:${port} ${hostKeys[n].publicLine.split(' ').slice(0, 2).join(' ')}\n`).join(''),
  );
  const akDir = join(dir, 'authorized_keys');
  mkdirSync(akDir, { mode: 0o755 });
  chmodSync(akDir, 0o755);
  const authorized = CLIENT_KEY_NAMES.map((n) => keys.client[n].publicLine).concat(options.authorizedKeys ?? []);
  const users = ['root', TEST_USER];
  for (const u of users) writeFileSync(join(akDir, u), authorized.join('\n') + '\n', { mode: 0o644 });

  const defaults: [string, string | readonly string[]][] = [
    ['ListenAddress', '127.0.0.1'],
    ['HostKey', hostKeyPaths],
    ['PidFile', 'none'],
    ['UsePAM', 'yes'],
    ['KbdInteractiveAuthentication', 'yes'],
    ['PasswordAuthentication', 'yes'],
    ['PubkeyAuthentication', 'yes'],
    ['PermitRootLogin', 'yes'],
    ['StrictModes', 'no'],
    ['AuthorizedKeysFile', `${akDir}/%u`],
    ['AcceptEnv', 'FLEETSSH_*'],
    // Debian's bash sources ~/.bashrc for `bash -c` run by sshd unless SHLVL is
    // already set; root's .bashrc on these machines runs `pyenv init -`
    // (~0.5 s per command, and its rehash lock stalled commands for 15 s
    // when sessions overlapped). The tests are about SSH, not that rc file.
    ['SetEnv', 'SHLVL=1'],
    ['Subsystem', 'sftp internal-sftp'],
    ['LogLevel', 'DEBUG1'],
    ['MaxStartups', '500'],
    ['MaxSessions', '100'],
    ['MaxAuthTries', '20'],
    ['LoginGraceTime', '30'],
    ['UseDNS', 'no'],
    ['PrintMotd', 'no'],
    ['PrintLastLog', 'no'],
    ['X11Forwarding', 'no'],
    ['AllowTcpForwarding', 'yes'],
    ['AllowStreamLocalForwarding', 'yes'],
    ['GatewayPorts', 'no'],
  ];
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, renderConfig(defaults, options.config ?? {}, options.extraLines ?? []));

  // -E (log to a file) rather than -e: with -e, the session child's DEBUG1 lines
  // land on the remote command's stderr as seen by the client.
  const sshdArgs = ['-D', '-E', join(dir, 'sshd.log'), '-f', configPath, '-p', String(port)];
  let daemon: ReturnType<typeof spawnDaemon>;
  try {
    daemon = spawnDaemon('startSshd', SSHD_PATH, sshdArgs);
  } catch (e) {
    removeTempDir(dir);
    throw e;
  }
  const pid = daemon.pid;

  const logPath = join(dir, 'sshd.log');
  let finalLog: string | undefined;
  const logs = (): string => {
    if (finalLog !== undefined) return finalLog;
    let text = '';
    try {
      text = readFileSync(logPath, 'utf8');
    } catch {
      // Not created yet.
    }
    return daemon.stderrText() + text;
  };

  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    running.delete(handle);
    daemon.killTreeSync();
    finalLog = logs();
    removeTempDir(dir);
  };
  const handle = { stopSync };
  running.add(handle);
  installCleanup();

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    running.delete(handle);
    await daemon.killTree();
    finalLog = logs();
    removeTempDir(dir);
  };

  // Wait for "Server listening", then for the port itself; fail fast if sshd exits.
  const why = await waitUntilListening(daemon, port, () => /Server listening on/.test(logs()), options.startTimeoutMs ?? 15_000);
  if (why !== null) {
    const log = logs();
    await stop();
    throw new Error(`startSshd: ${SSHD_PATH} ${why}\n--- sshd_config options: ${JSON.stringify(options.config ?? {})}\n--- sshd log:\n${log}`);
  }

  return {
    host: '127.0.0.1',
    port,
    pid,
    dir,
    configPath,
    hostKeys,
    knownHostsFile,
    clientKeys: keys.client,
    authorizeKey(publicLine: string, user = 'root'): void {
      appendFileSync(join(akDir, user), publicLine.trim() + '\n');
    },
    logs,
    stop,
  };
}

/** True when `dir` still exists (for tests of stop()). */
export function pathExists(path: string): boolean {
  return existsSync(path);
}
