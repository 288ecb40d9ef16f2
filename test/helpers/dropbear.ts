/**
 * Dropbear (Debian package dropbear-bin) as a test peer: host and client keys
 * made by dropbearkey or converted with dropbearconvert, a `dropbear` server on
 * a free loopback port, and `dbclient` runs isolated from the caller's HOME.
 *
 * This dropbear (2022.83) has no option for an authorized_keys path: it reads
 * ~/.ssh/authorized_keys of the user from /etc/passwd. The server logs in the
 * `fleetssh-test` user (made by scripts/ci-setup-peers.sh), whose
 * ~/.ssh/authorized_keys is written while a server runs and put back as it was
 * (or removed) when the last one stops, or when the process exits.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testUser } from './openssh.js';
import { spawnDaemon, waitUntilListening } from './daemon.js';
import {
  announceSkip,
  findBinary,
  freePort,
  makeTempDir,
  onProcessExit,
  removeTempDir,
  runProcess,
  type RunOptions,
  type RunResult,
} from './ssh-client.js';

export const DROPBEAR_PATH = '/usr/sbin/dropbear';

/** Key types dropbearkey makes; a server loads at most one key per family (ed25519, ecdsa, rsa). */
export type DropbearKeyName = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa';

export interface DropbearKey {
  name: DropbearKeyName;
  /** The key in dropbear's own format. */
  path: string;
  /** "<type> <base64> <comment>", from `dropbearkey -y`. */
  publicLine: string;
  /** The key type on the wire (ssh-rsa for RSA). */
  keyType: string;
}

function skipIf(reason: string | undefined): string | undefined {
  if (reason) announceSkip(reason);
  return reason;
}

/** Why the dropbear server tests cannot run here (also printed), else undefined. */
export function dropbearSkipReason(): string | undefined {
  if (!findBinary(DROPBEAR_PATH)) return skipIf(`SKIPPED: needs ${DROPBEAR_PATH} (Debian package dropbear-bin)`);
  if (!findBinary('dropbearkey')) return skipIf('SKIPPED: needs dropbearkey (Debian package dropbear-bin)');
  if (process.getuid?.() !== 0) return skipIf(`SKIPPED: needs root to run ${DROPBEAR_PATH} (it switches to the login user)`);
  if (!testUser()) return skipIf('SKIPPED: needs Unix user fleetssh-test (run scripts/ci-setup-peers.sh as root)');
  return undefined;
}

/** Why the dbclient tests cannot run here (also printed), else undefined. */
export function dbclientSkipReason(): string | undefined {
  for (const bin of ['dbclient', 'dropbearkey', 'dropbearconvert']) {
    if (!findBinary(bin)) return skipIf(`SKIPPED: needs ${bin} (Debian package dropbear-bin)`);
  }
  return undefined;
}

/** `dropbear -V` first line, e.g. "Dropbear v2022.83". */
export async function dropbearVersion(): Promise<string> {
  const r = await runProcess(DROPBEAR_PATH, ['-V'], { timeoutMs: 5_000 });
  return r.stderr.trim().split('\n')[0] ?? '';
}

/** Reads the public half of a dropbear-format key file. */
export async function dropbearPublicLine(path: string): Promise<string> {
  const r = await runProcess('dropbearkey', ['-y', '-f', path], { timeoutMs: 10_000 });
  const line = r.stdout.toString().split('\n').find((l) => /^(ssh-|ecdsa-)/.test(l));
  if (r.code !== 0 || !line) throw new Error(`dropbearkey -y -f ${path} failed (${r.code}): ${r.stderr}`);
  return line.trim();
}

const KEYGEN_ARGS: Record<DropbearKeyName, string[]> = {
  ed25519: ['-t', 'ed25519'],
  ecdsa256: ['-t', 'ecdsa', '-s', '256'],
  ecdsa384: ['-t', 'ecdsa', '-s', '384'],
  ecdsa521: ['-t', 'ecdsa', '-s', '521'],
  rsa: ['-t', 'rsa', '-s', '2048'],
};

/** Makes a key with dropbearkey in `dir`. */
export async function dropbearKeygen(name: DropbearKeyName, dir: string, fileName = `dropbear_${name}`): Promise<DropbearKey> {
  const path = join(dir, fileName);
  const r = await runProcess('dropbearkey', [...KEYGEN_ARGS[name], '-f', path], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`dropbearkey ${KEYGEN_ARGS[name].join(' ')} failed (${r.code}): ${r.stderr}`);
  const publicLine = await dropbearPublicLine(path);
  return { name, path, publicLine, keyType: publicLine.split(' ')[0] ?? '' };
}

/** Converts an OpenSSH-format private key to dropbear's format (`dropbearconvert openssh dropbear`). */
export async function convertToDropbear(opensshPrivatePath: string, outPath: string): Promise<void> {
  const r = await runProcess('dropbearconvert', ['openssh', 'dropbear', opensshPrivatePath, outPath], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`dropbearconvert openssh dropbear ${opensshPrivatePath} failed (${r.code}): ${r.stderr}`);
}

// ---- the test user's authorized_keys, shared by the servers that run at once ----

interface SavedAuthorizedKeys {
  path: string;
  sshDir: string;
  madeSshDir: boolean;
  previous: Buffer | null;
}
const activeKeySets = new Map<number, readonly string[]>();
let saved: SavedAuthorizedKeys | null = null;
let nextKeySetId = 1;

function writeAuthorizedKeys(home: string, uid: number, gid: number): void {
  if (!saved) {
    const sshDir = join(home, '.ssh');
    const path = join(sshDir, 'authorized_keys');
    const madeSshDir = !existsSync(sshDir);
    if (madeSshDir) {
      mkdirSync(sshDir, { mode: 0o700 });
      chownSync(sshDir, uid, gid);
    }
    saved = { path, sshDir, madeSshDir, previous: existsSync(path) ? readFileSync(path) : null };
    onProcessExit(restoreAuthorizedKeys);
  }
  const lines = [...activeKeySets.values()].flat();
  const prefix = saved.previous ? saved.previous.toString('utf8').replace(/\n?$/, '\n') : '';
  writeFileSync(saved.path, prefix + lines.map((l) => l.trim() + '\n').join(''), { mode: 0o600 });
  chmodSync(saved.path, 0o600);
  chownSync(saved.path, uid, gid);
}

function restoreAuthorizedKeys(): void {
  if (!saved) return;
  const s = saved;
  saved = null;
  activeKeySets.clear();
  if (s.previous) writeFileSync(s.path, s.previous);
  else rmSync(s.path, { force: true });
  if (s.madeSshDir) {
    try {
      rmdirSync(s.sshDir);
    } catch {
      // Something else was put there meanwhile; leave it.
    }
  }
}

// ---- the server ----

export interface DropbearOptions {
  /** Host keys to make and load (one per family); default ed25519, ecdsa256, rsa. */
  hostKeys?: readonly DropbearKeyName[];
  /** Public key lines for the test user's authorized_keys while this server runs. */
  authorizedKeys?: readonly string[];
  /** More dropbear arguments (e.g. ['-s'] to refuse passwords). */
  extraArgs?: readonly string[];
  /** Bound on the wait for the port; default 10 s. */
  startTimeoutMs?: number;
}

export interface DropbearServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  readonly hostKeys: readonly DropbearKey[];
  /** `[127.0.0.1]:port type base64` per host key. */
  readonly knownHostsFile: string;
  /** The login user (fleetssh-test) and its password. */
  readonly user: { name: string; password: string; home: string };
  /** What dropbear wrote to stderr (-E) so far; kept after stop(). */
  logs(): string;
  /** Kills dropbear and its session children, removes its dir, restores authorized_keys. Idempotent. */
  stop(): Promise<void>;
}

/** Starts dropbear in the foreground on a free loopback port and waits until it accepts connections. */
export async function startDropbear(options: DropbearOptions = {}): Promise<DropbearServer> {
  const skip = dropbearSkipReason();
  if (skip) throw new Error(`startDropbear: ${skip}`);
  const user = testUser()!;
  const st = statSync(user.home);
  const dir = makeTempDir('fleetssh-dropbear-');
  const hostKeys = await Promise.all((options.hostKeys ?? ['ed25519', 'ecdsa256', 'rsa']).map((n) => dropbearKeygen(n, dir)));
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const keySet = nextKeySetId++;
    activeKeySets.set(keySet, options.authorizedKeys ?? []);
    writeAuthorizedKeys(user.home, st.uid, st.gid);
    try {
      return await startOnce(dir, port, hostKeys, user, keySet, options);
    } catch (e) {
      releaseKeySet(keySet);
      lastError = e as Error;
      if (!/Address already in use|Failed listening/i.test(lastError.message)) break;
    }
  }
  removeTempDir(dir);
  throw lastError!;
}

function releaseKeySet(id: number): void {
  activeKeySets.delete(id);
  if (activeKeySets.size === 0) restoreAuthorizedKeys();
  else {
    const user = testUser();
    if (user) {
      const st = statSync(user.home);
      writeAuthorizedKeys(user.home, st.uid, st.gid);
    }
  }
}

async function startOnce(
  dir: string,
  port: number,
  hostKeys: readonly DropbearKey[],
  user: { name: string; password: string; home: string },
  keySet: number,
  options: DropbearOptions,
): Promise<DropbearServer> {
  const knownHostsFile = join(dir, `known_hosts_${port}`);
  writeFileSync(knownHostsFile, hostKeys.map((k) => `[127.0.0.1]:${port} ${k.publicLine.split(' ').slice(0, 2).join(' ')}\n`).join(''));
  // -F foreground, -E log to stderr, -m no motd, -P a pid file of our own (not /var/run).
  const args = ['-F', '-E', '-m', '-p', `127.0.0.1:${port}`, '-P', join(dir, `dropbear_${port}.pid`)];
  for (const k of hostKeys) args.push('-r', k.path);
  args.push(...(options.extraArgs ?? []));
  const daemon = spawnDaemon('startDropbear', DROPBEAR_PATH, args);
  const pid = daemon.pid;
  const logs = daemon.stderrText;
  onProcessExit(daemon.killTreeSync);
  let released = false;
  const stop = async (): Promise<void> => {
    await daemon.killTree();
    if (released) return;
    released = true;
    releaseKeySet(keySet);
    removeTempDir(dir);
  };

  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const why = await waitUntilListening(daemon, port, () => /Not backgrounding/.test(logs()), timeoutMs);
  if (why !== null) {
    const text = logs();
    await daemon.killTree();
    throw new Error(`startDropbear: ${DROPBEAR_PATH} ${why}\n--- dropbear log:\n${text}`);
  }
  return { host: '127.0.0.1', port, pid, dir, hostKeys, knownHostsFile, user, logs, stop };
}

// ---- the client ----

export interface DbclientOptions extends RunOptions {
  /** HOME for dbclient (its ~/.ssh/known_hosts lives there); default a fresh temp dir. */
  home?: string;
  /** Sent through DROPBEAR_PASSWORD (dbclient reads the password from it, no tty needed). */
  password?: string;
}

/**
 * Runs `dbclient ...args` with a deadline and a HOME of its own, so no file of
 * the caller is read or written. It runs in a new session (setsid) with no
 * controlling terminal, so an unknown host key fails at once instead of
 * waiting for an answer on /dev/tty.
 */
export function runDbclient(args: readonly string[], options: DbclientOptions = {}): Promise<RunResult> {
  const home = options.home ?? makeTempDir('fleetssh-dbclient-home-');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...(options.env ?? {}) };
  if (options.password !== undefined) env.DROPBEAR_PASSWORD = options.password;
  const setsid = findBinary('setsid');
  return setsid ? runProcess(setsid, ['dbclient', ...args], { ...options, env }) : runProcess('dbclient', args, { ...options, env });
}

/**
 * Writes `$home/.ssh/known_hosts` for dbclient, one "127.0.0.1 <type> <base64>"
 * line per key: dropbear 2022.83 looks hosts up by name only (no "[host]:port"
 * form), so a home serves one port.
 */
export function writeDbclientKnownHosts(home: string, publicLines: readonly string[], host = '127.0.0.1'): void {
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const lines = publicLines.map((l) => `${host} ${l.trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
  writeFileSync(join(home, '.ssh', 'known_hosts'), lines.join(''));
}
