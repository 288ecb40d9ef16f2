/**
 * Bulk throughput on one channel against OpenSSH sshd: upload
 * (`cat > /dev/null`) and download (`head -c N /dev/zero`), per cipher,
 * fleetssh vs ssh2 vs OpenSSH `ssh`, runs interleaved, median MB/s (1e6 B/s).
 *
 * fleetssh/ssh2: timed from the open channel to its close (handshake excluded),
 * with the CPU time this process spent meanwhile (`process.cpuUsage()`, all
 * threads: the library under test, its GC helpers and the idle harness) as
 * ms per MB. The machine is shared: CPU per MB varies less than MB/s.
 * `ssh`: `head -c N /dev/zero | ssh -c C ... 'cat > /dev/null'` (and the
 * reverse) timed whole, minus the fastest of three `ssh ... true` run just
 * before each group, so its handshake is excluded too.
 *
 *   node --import tsx load-tests/bulk.ts [--size=MiB] [--reps=N] [--ciphers=a,b]
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { emit, median, numFlag, parseFlags, printTable, round, withTimeout, type Row } from './common.js';
import { openImpl, sshArgv, type ImplName, type Target } from './peers.js';

export const BULK_CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
const IMPLS: ImplName[] = ['fleetssh', 'ssh2', 'openssh'];
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
async function libraryTransfer(impl: ImplName, t: Target, cipher: string, dir: 'up' | 'down', bytes: number): Promise<{ secs: number; cpuMs: number }> {
  const conn = await openImpl(impl, t, { kex: KEX, cipher });
  try {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const proc = await conn.exec(dir === 'up' ? 'cat > /dev/null' : `head -c ${bytes} /dev/zero`);
    let got = 0;
    proc.stdout.on('data', (c: Buffer) => (got += c.length));
    if (dir === 'up') writeAll(proc.stdin, bytes);
    else proc.stdin.end();
    await withTimeout(proc.done, 120_000, `${impl} ${dir} ${cipher}`);
    const secs = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (dir === 'down' && got !== bytes) throw new Error(`${impl}: received ${got} of ${bytes} bytes`);
    return { secs, cpuMs: (cpu.user + cpu.system) / 1000 };
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
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
  const rows: Row[] = [];
  const cpuRows: Row[] = [];
  try {
    const t: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: sshd.knownHostsFile };
    console.log(`# bulk: ${mib} MiB each way, ${reps} interleaved reps per cipher and direction`);
    for (const cipher of ciphers) {
      for (const dir of ['up', 'down'] as const) {
        // The handshake part of an `ssh` transfer, to subtract: the fastest of 3
        // `ssh -c C ... true` right before this group (conservative: it never
        // credits ssh with more than its quickest connect).
        const hs: number[] = [];
        for (let i = 0; i < 3; i++) hs.push(await bashTimed(`ssh ${sshArgv(t, { kex: KEX, cipher }, 'true').map(q).join(' ')}`, 20_000));
        const overhead = Math.min(...hs);
        const samples = new Map<ImplName, number[]>(IMPLS.map((i) => [i, []]));
        const cpuPerMB = new Map<ImplName, number[]>(IMPLS.map((i) => [i, []]));
        for (let r = 0; r < reps; r++) {
          // Interleave, rotating the order so no implementation always goes first.
          for (let k = 0; k < IMPLS.length; k++) {
            const impl = IMPLS[(k + r) % IMPLS.length]!;
            try {
              if (impl === 'openssh') samples.get(impl)!.push(bytes / 1e6 / (await sshTransfer(t, cipher, dir, bytes, overhead)));
              else {
                const { secs, cpuMs } = await libraryTransfer(impl, t, cipher, dir, bytes);
                samples.get(impl)!.push(bytes / 1e6 / secs);
                cpuPerMB.get(impl)!.push(cpuMs / (bytes / 1e6));
              }
            } catch (e) {
              console.log(`# bulk ${impl} ${cipher} ${dir} failed: ${(e as Error).message}`);
            }
          }
        }
        for (const impl of IMPLS) {
          const s = samples.get(impl)!;
          if (s.length === 0) continue;
          const extra: Record<string, number> = impl === 'openssh' ? { sshConnectMsSubtracted: round(overhead * 1000, 0) } : {};
          rows.push(emit({ bench: 'bulk', impl, params: { cipher, dir, mib, runs: s.length, ...extra }, value: round(median(s), 0), unit: 'MB/s' }));
        }
        for (const impl of IMPLS) {
          const c = cpuPerMB.get(impl)!;
          if (c.length === 0) continue;
          cpuRows.push(emit({ bench: 'bulk-cpu', impl, params: { cipher, dir, mib, runs: c.length }, value: round(median(c), 2), unit: 'ms/MB' }));
        }
      }
    }
  } finally {
    await sshd.stop();
  }
  printTable('bulk: one channel, median MB/s (higher is better)', rows);
  printTable('bulk: client CPU per MB moved, median ms/MB (lower is better; libraries only)', cpuRows);
  return [...rows, ...cpuRows];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runBulk(process.argv.slice(2));
}
