/**
 * Test helpers around the OpenSSH command-line tools and the local machine:
 * running `ssh` (and any other program) with a deadline, free ports, temp
 * dirs removed at exit, keys made by ssh-keygen, skip reasons for missing
 * binaries, and file hashing.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RunResult {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** True when the deadline passed and the process was killed. */
  timedOut: boolean;
}

export interface RunOptions {
  /** Bytes written to stdin, which is then closed (stdin is closed at once without it). */
  input?: string | Uint8Array;
  /** Deadline; the process gets SIGKILL when it passes. Default 20 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a program to completion (or its deadline) and collects its output. */
export function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      // The program may exit without reading its input (EPIPE): not our error.
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Where and how `ssh` connects: becomes the standard option prefix. */
export interface SshTarget {
  port: number;
  host?: string;
  user?: string;
  /** Private key for `-i` (IdentitiesOnly is set, so no other key is tried). */
  identityFile?: string;
  /** Default /dev/null (with StrictHostKeyChecking=no). */
  knownHostsFile?: string;
  strictHostKeyChecking?: 'yes' | 'no' | 'accept-new';
  /**
   * ssh's LogLevel. Default INFO (negotiation failures are logged at INFO) when a
   * knownHostsFile is given; ERROR without one, which hides the "Permanently
   * added ... to the list of known hosts" warning that /dev/null would cause.
   */
  logLevel?: string;
  /** More `-o Key=Value` options (these win over the defaults above). */
  options?: Readonly<Record<string, string>>;
}

/**
 * The `ssh` arguments up to and including the destination, isolated from the
 * user's config, agent and keys: -F none, BatchMode, IdentitiesOnly.
 */
export function sshArgs(target: SshTarget): string[] {
  const known = target.knownHostsFile ?? '/dev/null';
  const strict = target.strictHostKeyChecking ?? (target.knownHostsFile ? 'yes' : 'no');
  // ssh keeps the first value it sees for an option, so the caller's options go first.
  const args = ['-F', 'none'];
  for (const [k, v] of Object.entries(target.options ?? {})) args.push('-o', `${k}=${v}`);
  args.push(
    '-p', String(target.port),
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${known}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `StrictHostKeyChecking=${strict}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'ConnectTimeout=10',
    '-o', `LogLevel=${target.logLevel ?? (target.knownHostsFile ? 'INFO' : 'ERROR')}`,
  );
  if (target.identityFile) args.push('-i', target.identityFile);
  args.push(`${target.user ?? 'root'}@${target.host ?? '127.0.0.1'}`);
  return args;
}

export interface RunSshOptions extends RunOptions {
  /** When given, `sshArgs(target)` goes before `args` (which is then the remote command). */
  target?: SshTarget;
}

/** Runs OpenSSH `ssh` with a deadline: `ssh [sshArgs(target)] ...args`. */
export function runSsh(args: readonly string[], options: RunSshOptions = {}): Promise<RunResult> {
  const full = options.target ? [...sshArgs(options.target), ...args] : [...args];
  return runProcess('ssh', full, options);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

const tempDirs = new Set<string>();
const exitHooks = new Set<() => void>();
let exitHookInstalled = false;

function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

function runExitHooks(): void {
  for (const f of exitHooks) {
    try {
      f();
    } catch {
      // Best effort: one failing cleanup must not stop the others.
    }
  }
  exitHooks.clear();
}

/**
 * Runs `fn` synchronously when the process exits, or when SIGINT/SIGTERM/SIGHUP
 * would end it (the signal is then re-raised with its default action).
 */
export function onProcessExit(fn: () => void): void {
  exitHooks.add(fn);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', runExitHooks);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      runExitHooks();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function makeTempDir(prefix = 'fleetssh-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  onProcessExit(removeTempDirs);
  return dir;
}

/** Removes a dir made by makeTempDir now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa' | 'dsa';

export interface KeyFiles {
  type: KeyType;
  bits: number | undefined;
  privatePath: string;
  publicPath: string;
  /** The public key line as ssh-keygen wrote it: "<algorithm> <base64> <comment>". */
  publicLine: string;
}

export interface KeygenOptions {
  dir?: string;
  name?: string;
  comment?: string;
  /** Empty (the default) means unencrypted. */
  passphrase?: string;
  /** Private key format: OpenSSH's own (default), PEM or PKCS8. */
  format?: 'openssh' | 'PEM' | 'PKCS8';
}

let keyCounter = 0;

/** Generates a key pair with ssh-keygen. ecdsa bits: 256/384/521; rsa default 2048 here (fast). */
export async function keygen(type: KeyType, bits?: number, options: KeygenOptions = {}): Promise<KeyFiles> {
  const dir = options.dir ?? makeTempDir('fleetssh-key-');
  const name = options.name ?? `id_${type}${bits ? '_' + bits : ''}_${keyCounter++}`;
  const privatePath = join(dir, name);
  const effectiveBits = bits ?? (type === 'rsa' ? 2048 : undefined);
  const args = ['-q', '-t', type, '-N', options.passphrase ?? '', '-C', options.comment ?? `fleetssh-test-${type}`, '-f', privatePath];
  if (effectiveBits !== undefined) args.push('-b', String(effectiveBits));
  if (options.format && options.format !== 'openssh') args.push('-m', options.format);
  const r = await runProcess('ssh-keygen', args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  const publicPath = privatePath + '.pub';
  const publicLine = readFileSync(publicPath, 'utf8').trim();
  return { type, bits: effectiveBits, privatePath, publicPath, publicLine };
}

/** Finds a program on PATH (or checks an absolute path); null when absent. */
export function findBinary(name: string): string | null {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not here; try the next directory.
    }
  }
  return null;
}

const printedSkips = new Set<string>();

/** Prints a SKIPPED line to stdout once per distinct reason. */
export function announceSkip(reason: string): void {
  if (printedSkips.has(reason)) return;
  printedSkips.add(reason);
  process.stdout.write(reason + '\n');
}

/**
 * undefined when `name` is installed, else a skip reason such as
 * "SKIPPED: needs /usr/sbin/sshd (Debian package openssh-server)", which is
 * also printed to stdout. Use as `test('...', { skip: requireBinary(...) }, fn)`.
 */
export function requireBinary(name: string, debianPackage: string): string | undefined {
  if (findBinary(name)) return undefined;
  const reason = `SKIPPED: needs ${name} (Debian package ${debianPackage})`;
  announceSkip(reason);
  return reason;
}

/** SHA-256 of a file's contents, hex. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Writes `bytes` random bytes to `path`; resolves to their SHA-256 (hex). */
export async function randomFile(path: string, bytes: number): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    let left = bytes;
    while (left > 0) {
      const chunk = randomBytes(Math.min(left, 1 << 20));
      h.update(chunk);
      await fh.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
