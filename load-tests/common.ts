/**
 * Shared pieces of the benchmarks: result rows (JSON lines + a human table),
 * statistics, versions of the peers, CPU readings from /proc, and the child
 * process that hosts fleetssh servers (load-tests/server-child.ts).
 * Nothing here asserts a time; every wait is bounded.
 */
import { parseArgs } from 'node:util';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..');

export interface Row {
  bench: string;
  impl: string;
  params: Record<string, string | number>;
  value: number;
  unit: string;
}

/** Prints one result as a JSON line (prefixed by nothing, so `grep '^{'` collects them). */
export function emit(row: Row): Row {
  console.log(JSON.stringify(row));
  return row;
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A fixed-width table of rows; params flattened as k=v. */
export function printTable(title: string, rows: readonly Row[]): void {
  const cells = rows.map((r) => [r.impl, Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' '), String(r.value), r.unit]);
  const head = ['impl', 'params', 'value', 'unit'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 2 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ');
  console.log(`\n== ${title}`);
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const c of cells) console.log(line(c));
  console.log('');
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects after ms with `what` in the message; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    t.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export interface Versions {
  node: string;
  ssh: string;
  ssh2: string;
  ssh2Native: boolean;
  fleetssh: string;
  cpus: number;
}

export function versions(): Versions {
  const req = createRequire(import.meta.url);
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  let ssh2Native = false;
  try {
    req('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
    ssh2Native = true;
  } catch {
    ssh2Native = false;
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const cpuCount = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
  return {
    node: process.version,
    ssh: (ssh.stderr || ssh.stdout || 'unknown').trim(),
    ssh2: (req('ssh2/package.json') as { version: string }).version,
    ssh2Native,
    fleetssh: pkg.version,
    cpus: cpuCount,
  };
}

// ---- CPU from /proc ---------------------------------------------------------

const CLK_TCK = 100;

/** utime+stime (+ cutime+cstime of reaped children) of one pid, in ms; null if gone. */
export function procCpuMs(pid: number, withChildren = true): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    const t = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    return (t * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Every live descendant of pid (by /proc ppid links). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [c, pp] of parent) if (pp === p) (out.push(c), frontier.push(c));
  }
  return out;
}

/** CPU ms of a process tree: the root with its reaped children, plus live descendants. */
export function treeCpuMs(pid: number): number {
  let total = procCpuMs(pid) ?? 0;
  for (const d of descendants(pid)) total += procCpuMs(d) ?? 0;
  return total;
}

/** Per-core busy/total jiffies from /proc/stat. */
export function coreTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    out.push({ busy: total - idle, total });
  }
  return out;
}

/** Utilisation % per core between two coreTimes() readings. */
export function coreUtil(a: { busy: number; total: number }[], b: { busy: number; total: number }[]): number[] {
  return b.map((x, i) => {
    const dt = x.total - (a[i]?.total ?? 0);
    return dt > 0 ? round((100 * (x.busy - (a[i]?.busy ?? 0))) / dt, 0) : 0;
  });
}

// ---- the fleetssh server child ------------------------------------------------

export interface ServerChildOptions {
  /** Addresses to listen on (one listener each, port chosen by the OS); default ['127.0.0.1']. */
  hosts?: string[];
  /** Public key lines accepted for every user. */
  authorizedKeys: string[];
  kexAlgs?: string[];
  /** Raise the fd limit of the child (bash ulimit -n). */
  nofile?: number;
}

export interface ServerChild {
  listeners: { host: string; port: number }[];
  /** process.cpuUsage() of the child since it started, in ms (user+system). */
  cpuMs(): Promise<number>;
  rssBytes(): Promise<number>;
  stop(): Promise<void>;
  child: ChildProcess;
}

/** Starts load-tests/server-child.ts in its own process; resolves once every listener is up. */
export async function startServerChild(o: ServerChildOptions): Promise<ServerChild> {
  const arg = JSON.stringify({ hosts: o.hosts ?? ['127.0.0.1'], authorizedKeys: o.authorizedKeys, kexAlgs: o.kexAlgs });
  const script = join(HERE, 'server-child.ts');
  const nodeCmd = [process.execPath, '--import', 'tsx', script];
  const child = o.nofile
    ? spawn('bash', ['-c', `ulimit -n ${o.nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"`, 'bash', ...nodeCmd], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, FLEETSSH_SERVER_ARGS: arg } })
    : spawn(nodeCmd[0]!, nodeCmd.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, FLEETSSH_SERVER_ARGS: arg } });
  const rl = createInterface({ input: child.stdout! });
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  rl.on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    waiting.shift()?.(msg);
  });
  const next = (what: string, ms = 30_000): Promise<Record<string, unknown>> => withTimeout(new Promise((r) => waiting.push(r)), ms, `server child ${what}`);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await Promise.race([next('start', 60_000), exited.then(() => ({ error: 'server child exited' }))]);
  if ('error' in ready) throw new Error(String(ready.error));
  const ask = async (cmd: string): Promise<Record<string, unknown>> => {
    const p = next(cmd);
    child.stdin!.write(cmd + '\n');
    return p;
  };
  return {
    child,
    listeners: ready.listeners as { host: string; port: number }[],
    cpuMs: async () => Number((await ask('cpu')).cpuMs),
    rssBytes: async () => Number((await ask('rss')).rss),
    stop: async () => {
      child.stdin!.end('stop\n');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

let compiled: boolean | null = null;

/**
 * Node arguments that run a bench child script (e.g. 'fanout-client'): its
 * tsc-compiled form (load-tests/tsconfig.bench.json -> dist/bench, built
 * once per run from the current tree) unless `tsx` is set or the build
 * fails, then the TypeScript source under tsx. Memory and CPU figures of
 * the library should come from compiled code: tsx's transform gives every
 * closure a property dictionary (esbuild keepNames).
 */
export function childScript(name: string, tsx = false): string[] {
  if (!tsx && compiled === null) {
    const r = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(HERE, 'tsconfig.bench.json')], { cwd: ROOT, encoding: 'utf8' });
    compiled = r.status === 0;
    if (!compiled) console.log(`# bench build failed, running ${name} under tsx: ${(r.stdout + r.stderr).slice(0, 300)}`);
  }
  return !tsx && compiled ? [join(ROOT, 'dist/bench/load-tests', `${name}.js`)] : ['--import', 'tsx', join(HERE, `${name}.ts`)];
}

/** Runs a command to completion (killed after timeoutMs); resolves with stdout + stderr, rejects on a non-zero exit. */
export function runChild(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c));
    child.stderr!.on('data', (c: Buffer) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out + '\n' + err);
      else reject(new Error(`${cmd} exited ${code}: ${err.slice(-400)}`));
    });
  });
}

// ---- arguments ----------------------------------------------------------------

/** Positional names plus `--name=value` / `--flag` options. */
export function parseFlags(argv: readonly string[]): { names: string[]; flags: Map<string, string | true> } {
  const names: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      names.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else flags.set(a.slice(2), true);
  }
  return { names, flags };
}

export function numFlag(flags: Map<string, string | true>, name: string, dflt: number): number {
  const v = flags.get(name);
  if (typeof v !== 'string') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name}: expected a positive number, got ${v}`);
  return n;
}

/** Busy CPU ms of the whole machine (all cores, every process: our client, sshd, sftp-server, the kernel). */
export function boxBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (f.reduce((a, b) => a + b, 0) - idle) * 10;
}

export interface ToolRun {
  wallS: number;
  /** GNU time's %M: the largest single process of the tool's tree, MB. */
  rssMb: number;
  /** User + system CPU of the tool and every child it waited for. */
  cpuS: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs a command under /usr/bin/time, killed after `limitS`; its wall time, peak RSS, CPU and output. */
export function timedTool(argv: string[], limitS: number, env: NodeJS.ProcessEnv = {}): Promise<ToolRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const timeFile = join(dir, 'time');
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.once('close', (status) => {
      clearTimeout(kill);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const [rssKb = NaN, user = NaN, sys = NaN] = (readFileSync(timeFile, 'utf8').trim().split('\n').at(-1) ?? '').split(' ').map(Number);
      rmSync(dir, { recursive: true, force: true });
      resolve({ wallS, rssMb: rssKb / 1024, cpuS: user + sys, stdout, stderr, status });
    });
  });
}

/** The flags of the fleet benches (fleet-run.ts, fleet-put.ts): host counts, tools, parallelism, repetitions, a time limit per tool run. */
export interface FleetBenchArgs<P extends string> {
  sizes: number[];
  peers: P[];
  parallel: number;
  reps: number;
  limitS: number;
}

/** Parses `--sizes a,b --peers x,y --parallel N --reps N --timeout-s S` from the command line, with the bench's defaults. */
export function fleetBenchArgs<P extends string>(defaults: { sizes: string; peers: string; timeoutS: string }): FleetBenchArgs<P> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: defaults.sizes },
      peers: { type: 'string', default: defaults.peers },
      parallel: { type: 'string', default: '64' },
      reps: { type: 'string', default: '1' },
      'timeout-s': { type: 'string', default: defaults.timeoutS },
    },
  });
  return {
    sizes: values.sizes!.split(',').map(Number),
    peers: values.peers!.split(',') as P[],
    parallel: Number(values.parallel),
    reps: Number(values.reps),
    limitS: Number(values['timeout-s']),
  };
}
