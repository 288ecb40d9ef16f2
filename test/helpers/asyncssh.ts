/**
 * AsyncSSH (Debian package python3-asyncssh) as a test peer, driven through
 * the scripts in test/helpers/py: a server (asyncssh.listen with a process
 * factory, host keys of every type) that runs until stopped, and a client
 * that runs a list of cases in one interpreter and reports them as JSON.
 * Debian's /usr/bin/python3 is used: the pyenv python3 on PATH lacks it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, signalAll } from './process-tree.js';
import { announceSkip, findBinary, makeTempDir, onProcessExit, runProcess } from './ssh-client.js';

export const PYTHON = '/usr/bin/python3';
const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));
const SERVER_SCRIPT = join(PY_DIR, 'asyncssh_server.py');
const CLIENT_SCRIPT = join(PY_DIR, 'asyncssh_client.py');

/** Why the AsyncSSH tests cannot run here (also printed), else undefined. */
export function asyncsshSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!findBinary(PYTHON)) reason = `SKIPPED: needs ${PYTHON} (Debian package python3)`;
  else if (spawnSync(PYTHON, ['-W', 'ignore', '-c', 'import asyncssh'], { timeout: 20_000, stdio: 'ignore' }).status !== 0) {
    reason = 'SKIPPED: needs python3 asyncssh (Debian package python3-asyncssh)';
  }
  if (reason) announceSkip(reason);
  return reason;
}

export interface AsyncsshServerOptions {
  /** username -> password accepted by password auth. */
  users?: Record<string, string>;
  /** Public key lines accepted by publickey auth (any user). */
  authorizedKeys?: readonly string[];
  /** Users let in without authentication (begin_auth returns False: "none" succeeds). */
  noAuthUsers?: readonly string[];
  /** Bound on the wait for the port line; default 20 s. */
  startTimeoutMs?: number;
}

export interface AsyncsshServer {
  readonly port: number;
  /** asyncssh.__version__ */
  readonly version: string;
  /** The kex methods this AsyncSSH implements (GSS ones left out). */
  readonly kex: readonly string[];
  /** True when this AsyncSSH has mlkem768x25519-sha256. */
  readonly mlkem: boolean;
  /** Public key lines of its host keys (ed25519, ecdsa 256/384/521, rsa). */
  readonly hostKeys: readonly string[];
  /** `[127.0.0.1]:port type base64` per host key. */
  readonly knownHostsFile: string;
  /** What the script wrote to stderr so far. */
  logs(): string;
  /** Closes stdin (the script then closes its listener and exits); SIGKILL after 3 s. Idempotent. */
  stop(): Promise<void>;
}

interface ServerHello {
  port: number;
  version: string;
  kex: string[];
  mlkem: boolean;
  hostKeys: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the AsyncSSH server script and waits for the line with its port. */
export async function startAsyncsshServer(options: AsyncsshServerOptions = {}): Promise<AsyncsshServer> {
  const dir = makeTempDir('fleetssh-asyncssh-');
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, (options.authorizedKeys ?? []).map((l) => l.trim() + '\n').join(''));
  const setpriv = findBinary('setpriv');
  const args = ['-W', 'ignore', SERVER_SCRIPT];
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'SIGTERM', PYTHON, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`startAsyncsshServer: could not spawn ${PYTHON}`);
  const errText: string[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => {
    if (errText.length < 2000) errText.push(t);
  });
  const logs = (): string => errText.join('');
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  onProcessExit(() => {
    if (!exited) signalAll([pid], 'SIGKILL');
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.stdin!.end();
    await Promise.race([exitPromise, sleep(3000)]);
    if (!exited && isAlive(pid)) {
      signalAll([pid], 'SIGKILL');
      await Promise.race([exitPromise, sleep(2000)]);
    }
  };
  child.stdin!.on('error', () => {
    // The script may be gone already.
  });
  child.stdin!.write(JSON.stringify({ users: options.users ?? {}, authorizedKeys, noAuthUsers: options.noAuthUsers ?? [] }) + '\n');

  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let hello: ServerHello;
  try {
    hello = await new Promise<ServerHello>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`no port line within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (t: string) => {
        buf += t;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(buf.slice(0, nl)) as ServerHello);
          } catch (e) {
            reject(e as Error);
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before listening`));
      });
    });
  } catch (e) {
    await stop();
    throw new Error(`startAsyncsshServer: ${(e as Error).message}\n--- stderr:\n${logs()}`);
  }
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, hello.hostKeys.map((l) => `[127.0.0.1]:${hello.port} ${l.split(' ').slice(0, 2).join(' ')}\n`).join(''));
  return { ...hello, knownHostsFile, logs, stop };
}

/** Algorithm restrictions, by AsyncSSH's connect() keyword names. */
export type AsyncsshAlgs = Partial<Record<'kex_algs' | 'encryption_algs' | 'mac_algs' | 'compression_algs' | 'server_host_key_algs', string[]>>;

export interface AsyncsshCase {
  name: string;
  user?: string;
  password?: string;
  /** An OpenSSH-format private key file. */
  keyFile?: string;
  command: string;
  inputHex?: string;
  /** Send this many random bytes as stdin (their hash comes back as inputSha256). */
  inputSize?: number;
  env?: Record<string, string>;
  termType?: string;
  termSize?: [cols: number, rows: number];
  /** Open the process, then close the channel at once without sending EOF. */
  closeWithoutEof?: boolean;
  algs?: AsyncsshAlgs;
}

export interface AsyncsshCaseResult {
  name: string;
  error?: string;
  kex?: string | null;
  cipher?: [string, string];
  mac?: [string, string];
  compression?: [string, string];
  hostKeyType?: string;
  serverVersion?: string;
  inputSha256?: string;
  /** Present when stdout was at most 64 KiB. */
  stdout?: string;
  stdoutSha256?: string;
  stdoutLength?: number;
  stderr?: string;
  status?: number | null;
  signal?: string | null;
  /** Set by closeWithoutEof cases once the channel closed. */
  closed?: boolean;
}

/** Runs the cases with the AsyncSSH client script (one interpreter, one connection per case). */
export async function runAsyncsshClient(
  port: number,
  knownHostsFile: string,
  cases: readonly AsyncsshCase[],
  timeoutMs = 60_000,
): Promise<{ version: string; results: Map<string, AsyncsshCaseResult> }> {
  const r = await runProcess(PYTHON, ['-W', 'ignore', CLIENT_SCRIPT], {
    input: JSON.stringify({ port, knownHosts: knownHostsFile, cases }),
    timeoutMs,
  });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`asyncssh client script failed (code ${r.code}, timedOut ${r.timedOut}):\n${r.stderr}\n${r.stdout.toString().slice(0, 2000)}`);
  }
  const out = JSON.parse(r.stdout.toString()) as { version: string; results: AsyncsshCaseResult[] };
  return { version: out.version, results: new Map(out.results.map((x) => [x.name, x])) };
}

/** asyncssh.__version__ and whether it has mlkem768x25519-sha256 (null when AsyncSSH is missing). */
export function asyncsshInfo(): { version: string; mlkem: boolean } | null {
  const code = 'import asyncssh\nfrom asyncssh.kex import get_kex_algs\nprint(asyncssh.__version__, b"mlkem768x25519-sha256" in get_kex_algs())';
  const r = spawnSync(PYTHON, ['-W', 'ignore', '-c', code], { timeout: 20_000, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [version, mlkem] = r.stdout.trim().split(' ');
  return { version: version ?? '', mlkem: mlkem === 'True' };
}
