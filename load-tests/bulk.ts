/**
 * Bulk throughput on one channel against OpenSSH sshd: upload
 * (`cat > /dev/null`) and download (`head -c N /dev/zero`), per cipher,
 * fleetssh vs ssh2 vs OpenSSH `ssh`, runs interleaved, median MB/s (1e6 B/s).
 *
 * fleetssh/ssh2: timed from the open channel to its close (handshake excluded),
 * with the CPU time this process spent meanwhile (`process.cpuUsage()`, all
 * threads: the library under test, its GC helpers and the idle harness) as
 * ms per MB, and sshd's CPU per MB (its process tree). Each library first
 * moves --size MiB each way unrecorded, so that JIT warm-up is not measured. The machine is shared: CPU per MB varies less than MB/s.
 * `ssh`: `head -c N /dev/zero | ssh -c C ... 'cat > /dev/null'` (and the
 * reverse) timed whole, minus the fastest of three `ssh ... true` run just
 * before each group, so its handshake is excluded too.
 *
 * `--fleetssh=DIR` loads fleetssh from DIR instead of the sources (`dist/src`
 * after `npm run build`: the compiled build, without tsx's per-closure
 * overhead); `--fleetssh=old=/tmp/old/dist/src,new=dist/src` runs several
 * builds as separate, interleaved implementations (a before/after in one run).
 * `--peers=ssh2,openssh` picks the other implementations (default both).
 *
 *   node --import tsx load-tests/bulk.ts [--size=MiB] [--reps=N] [--ciphers=a,b] [--fleetssh=dist/src] [--dirs=up,down]
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { descendants, emit, median, numFlag, parseFlags, printTable, procCpuMs, round, withTimeout, type Row } from './common.js';
import { loadFleetssh, openFleetssh, openImpl, sshArgv, type FleetsshLib, type ImplName, type Target } from './peers.js';

export const BULK_CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
/** One implementation under test: a peer, or one copy of fleetssh. */
interface Impl {
  label: string;
  kind: ImplName;
  lib?: FleetsshLib;
}
const KEX = 'curve25519-sha256';
const ZERO = Buffer.alloc(256 * 1024);

function writeAll(stdin: NodeJS.WritableStream, total: number): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, ZERO.length);
      left -= n;
      if (!stdin.write(n === ZERO.length ? ZERO : ZERO.subarray(0, n))) {
        stdin.once('drain', pump);
        return;
      }
    }
    stdin.end();
  };
  pump();
}

/** Seconds and client CPU ms for one transfer with fleetssh or ssh2 (channel open -> close). */
/** CPU ms of each live process below sshd's listener (with its reaped children, such as `cat`). */
function sessionCpu(sshdPid: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of descendants(sshdPid)) {
    const ms = procCpuMs(pid);
    if (ms !== null) m.set(pid, ms);
  }
  return m;
}

/**
 * CPU the sshd sessions spent between two sessionCpu() readings. The
 * listener's own counters are left out: they include whole earlier
 * connections when it reaps them.
 */
function sessionCpuSince(before: Map<number, number>, sshdPid: number): number {
  let ms = 0;
  for (const [pid, now] of sessionCpu(sshdPid)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/**
 * Seconds, client CPU ms and the server's CPU ms (sshd's process tree: the
 * session's sshd and `cat`/`head`) for one transfer with a library.
 */
async function libraryTransfer(impl: Impl, t: Target, sshdPid: number, cipher: string, dir: 'up' | 'down', bytes: number): Promise<{ secs: number; cpuMs: number; serverMs: number }> {
  const spec = { kex: KEX, cipher };
  const conn = await (impl.lib ? withTimeout(openFleetssh(t, spec, impl.lib), 30_000, `${impl.label} connect`) : openImpl(impl.kind, t, spec));
  try {
    const server0 = sessionCpu(sshdPid);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const proc = await conn.exec(dir === 'up' ? 'cat > /dev/null' : `head -c ${bytes} /dev/zero`);
    let got = 0;
    proc.stdout.on('data', (c: Buffer) => (got += c.length));
    if (dir === 'up') writeAll(proc.stdin, bytes);
    else proc.stdin.end();
    await withTimeout(proc.done, 120_000, `${impl.label} ${dir} ${cipher}`);
    const secs = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverMs = sessionCpuSince(server0, sshdPid);
    if (dir === 'down' && got !== bytes) throw new Error(`${impl.label}: received ${got} of ${bytes} bytes`);
    return { secs, cpuMs: (cpu.user + cpu.system) / 1000, serverMs };
  } finally {
    await conn.close();
  }
}

function bashTimed(script: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve((performance.now() - start) / 1000);
      else reject(new Error(`bash -c ${script}: exit ${code}`));
    });
  });
}

const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

async function sshTransfer(t: Target, cipher: string, dir: 'up' | 'down', bytes: number, overhead: number): Promise<number> {
  const argv = sshArgv(t, { kex: KEX, cipher }, dir === 'up' ? 'cat > /dev/null' : `head -c ${bytes} /dev/zero`).map(q).join(' ');
  const script = dir === 'up' ? `head -c ${bytes} /dev/zero | ssh ${argv}` : `ssh ${argv} | wc -c | grep -qx ${bytes}`;
  const secs = await bashTimed(script, 120_000);
  return Math.max(secs - overhead, 1e-3);
}

export async function runBulk(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const mib = numFlag(flags, 'size', 256);
  const reps = Math.max(3, numFlag(flags, 'reps', 3));
  const ciphers = typeof flags.get('ciphers') === 'string' ? String(flags.get('ciphers')).split(',') : BULK_CIPHERS;
  const bytes = Math.round(mib * 1024 * 1024);
  const dirs = (typeof flags.get('dirs') === 'string' ? String(flags.get('dirs')).split(',') : ['up', 'down']) as ('up' | 'down')[];
  const builds = typeof flags.get('fleetssh') === 'string' ? String(flags.get('fleetssh')).split(',') : ['src'];
  const peers = (typeof flags.get('peers') === 'string' ? String(flags.get('peers')).split(',').filter(Boolean) : ['ssh2', 'openssh']) as ImplName[];
  const IMPLS: Impl[] = [];
  for (const b of builds) {
    const eq = b.indexOf('=');
    const label = eq < 0 ? 'fleetssh' : `fleetssh:${b.slice(0, eq)}`;
    IMPLS.push({ label, kind: 'fleetssh', lib: await loadFleetssh(eq < 0 ? b : b.slice(eq + 1)) });
  }
  for (const p of peers) IMPLS.push({ label: p, kind: p });
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
  const rows: Row[] = [];
  const cpuRows: Row[] = [];
  const serverRows: Row[] = [];
  try {
    const t: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: sshd.knownHostsFile };
    // One unrecorded transfer each way per library first: the first transfers
    // of a process pay for JIT compilation (up to 2x the CPU per MB).
    const warm = bytes;
    for (const impl of IMPLS) {
      if (impl.kind === 'openssh') continue;
      for (const dir of dirs) await libraryTransfer(impl, t, sshd.pid, ciphers[0]!, dir, warm);
    }
    console.log(`# bulk: ${mib} MiB each way, ${reps} interleaved reps per cipher and direction; fleetssh from ${builds.join(', ')}`);
    for (const cipher of ciphers) {
      for (const dir of dirs) {
        // The handshake part of an `ssh` transfer, to subtract: the fastest of 3
        // `ssh -c C ... true` right before this group (conservative: it never
        // credits ssh with more than its quickest connect).
        const hs: number[] = [];
        if (peers.includes('openssh')) for (let i = 0; i < 3; i++) hs.push(await bashTimed(`ssh ${sshArgv(t, { kex: KEX, cipher }, 'true').map(q).join(' ')}`, 20_000));
        const overhead = hs.length > 0 ? Math.min(...hs) : 0;
        const samples = new Map<Impl, number[]>(IMPLS.map((i) => [i, []]));
        const cpuPerMB = new Map<Impl, number[]>(IMPLS.map((i) => [i, []]));
        const serverPerMB = new Map<Impl, number[]>(IMPLS.map((i) => [i, []]));
        // OpenSSH's reps first, then the libraries interleaved among themselves.
        // Measured on this VM: whatever runs right after an `ssh` transfer (or
        // after ~1 s idle) pays up to 2x the CPU per MB; with `ssh` inside a
        // rotation the same library was always the one after it. One
        // unrecorded library transfer absorbs that before the recorded ones.
        const record = async (impl: Impl, keep: boolean): Promise<void> => {
          try {
            if (impl.kind === 'openssh') {
              samples.get(impl)!.push(bytes / 1e6 / (await sshTransfer(t, cipher, dir, bytes, overhead)));
              return;
            }
            const { secs, cpuMs, serverMs } = await libraryTransfer(impl, t, sshd.pid, cipher, dir, bytes);
            if (!keep) return;
            samples.get(impl)!.push(bytes / 1e6 / secs);
            cpuPerMB.get(impl)!.push(cpuMs / (bytes / 1e6));
            serverPerMB.get(impl)!.push(serverMs / (bytes / 1e6));
          } catch (e) {
            console.log(`# bulk ${impl.label} ${cipher} ${dir} failed: ${(e as Error).message}`);
          }
        };
        const libs = IMPLS.filter((i) => i.kind !== 'openssh');
        for (const impl of IMPLS.filter((i) => i.kind === 'openssh')) for (let r = 0; r < reps; r++) await record(impl, true);
        if (libs.length > 0) await record(libs[0]!, false);
        for (let r = 0; r < reps; r++) {
          // Rotating the order so no library always goes first.
          for (let k = 0; k < libs.length; k++) await record(libs[(k + r) % libs.length]!, true);
        }
        for (const impl of IMPLS) {
          const s = samples.get(impl)!;
          if (s.length === 0) continue;
          const extra: Record<string, number> = impl.kind === 'openssh' ? { sshConnectMsSubtracted: round(overhead * 1000, 0) } : {};
          const all = s.map((x) => round(x, 0)).join(' ');
          rows.push(emit({ bench: 'bulk', impl: impl.label, params: { cipher, dir, mib, runs: s.length, ...extra, all }, value: round(median(s), 0), unit: 'MB/s' }));
        }
        for (const impl of IMPLS) {
          const c = cpuPerMB.get(impl)!;
          if (c.length === 0) continue;
          const all = c.map((x) => round(x, 2)).join(' ');
          cpuRows.push(emit({ bench: 'bulk-cpu', impl: impl.label, params: { cipher, dir, mib, runs: c.length, all }, value: round(median(c), 2), unit: 'ms/MB' }));
        }
        for (const impl of IMPLS) {
          const c = serverPerMB.get(impl)!;
          if (c.length === 0) continue;
          serverRows.push(emit({ bench: 'bulk-server-cpu', impl: impl.label, params: { cipher, dir, mib, runs: c.length }, value: round(median(c), 2), unit: 'ms/MB' }));
        }
      }
    }
  } finally {
    await sshd.stop();
  }
  printTable('bulk: one channel, median MB/s (higher is better)', rows);
  printTable('bulk: client CPU per MB moved, median ms/MB (lower is better; libraries only)', cpuRows);
  printTable('bulk: sshd CPU per MB moved (its session process and cat/head), median ms/MB (libraries only)', serverRows);
  return [...rows, ...cpuRows, ...serverRows];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runBulk(process.argv.slice(2));
}
