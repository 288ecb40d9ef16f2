/**
 * Small-packet latency: round trip of a 1-byte echo on an open channel
 * running `cat`, µs, median and p99 of `rtts` round trips (after 100 warm-up
 * ones, bounded to 60 s per case). fleetssh vs ssh2 vs OpenSSH `ssh` (driven
 * through its stdin/stdout pipes, so its figure includes two pipe hops the
 * libraries do not have), against OpenSSH sshd and against fleetssh's server.
 *
 * Every implementation first runs one unrecorded pass (200 round trips on
 * a fresh connection). `--fleetssh=before=DIR1,after=DIR2` runs builds (laid out like `src/`,
 * e.g. `dist/src`) as separate implementations; `--reps=R` runs every case R
 * times with the order rotated each rep, and reports the median of each
 * rep's median (and each rep's figures in `all`); `--servers=sshd` and
 * `--peers=ssh2` narrow a run; `--cipher=` (default aes128-gcm@openssh.com).
 *
 *   node --import tsx load-tests/latency.ts [--rtts=2000] [--reps=1] [--fleetssh=a=DIR,b=DIR] [--servers=sshd,fleetssh] [--peers=ssh2,openssh] [--cipher=NAME]
 */
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { emit, median, numFlag, parseFlags, percentile, printTable, round, startServerChild, withTimeout, type Row } from './common.js';
import { loadFleetssh, openFleetssh, openImpl, type FleetsshLib, type ImplName, type RemoteProc, type Target } from './peers.js';

/** One implementation under test: a peer, or one copy of fleetssh. */
interface Impl {
  label: string;
  kind: ImplName;
  lib?: FleetsshLib;
}
const BYTE = Buffer.from('x');

/** Sends one byte, resolves when one byte came back; µs per round trip. */
async function echoLoop(p: RemoteProc, count: number, budgetMs: number): Promise<number[]> {
  let waiter: (() => void) | null = null;
  let pending = 0;
  p.stdout.on('data', (c: Buffer) => {
    pending += c.length;
    if (pending > 0 && waiter) {
      pending--;
      const w = waiter;
      waiter = null;
      w();
    }
  });
  const rtt = (): Promise<void> =>
    new Promise<void>((resolve) => {
      waiter = resolve;
      p.stdin.write(BYTE);
    });
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < count && performance.now() < end) {
    const t = performance.now();
    await withTimeout(rtt(), 10_000, 'echo round trip');
    samples.push((performance.now() - t) * 1000);
  }
  return samples;
}

async function measure(impl: Impl, t: Target, rtts: number, cipher: string): Promise<number[]> {
  const spec = { kex: 'curve25519-sha256', cipher };
  const conn = impl.lib ? await openFleetssh(t, spec, impl.lib) : await openImpl(impl.kind, t, spec);
  try {
    const p = await conn.exec('cat');
    await echoLoop(p, 100, 10_000);
    const samples = await echoLoop(p, rtts, 60_000);
    p.stdin.end();
    await withTimeout(p.done, 10_000, `${impl.label} cat exit`);
    return samples;
  } finally {
    await conn.close();
  }
}

export async function runLatency(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const rtts = Math.round(numFlag(flags, 'rtts', 2000));
  const reps = Math.round(numFlag(flags, 'reps', 1));
  const list = (name: string, dflt: string[]): string[] =>
    typeof flags.get(name) === 'string' ? String(flags.get(name)).split(',').filter(Boolean) : dflt;
  const impls: Impl[] = [];
  for (const b of list('fleetssh', ['src'])) {
    const eq = b.indexOf('=');
    impls.push({ label: eq < 0 ? 'fleetssh' : `fleetssh:${b.slice(0, eq)}`, kind: 'fleetssh', lib: await loadFleetssh(eq < 0 ? b : b.slice(eq + 1)) });
  }
  for (const p of list('peers', ['ssh2', 'openssh']) as ImplName[]) impls.push({ label: p, kind: p });
  const servers = list('servers', ['sshd', 'fleetssh']);
  const cipher = typeof flags.get('cipher') === 'string' ? String(flags.get('cipher')) : 'aes128-gcm@openssh.com';
  const rows: Row[] = [];
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
  const ours = await startServerChild({ authorizedKeys: [sshd.clientKeys.ed25519.publicLine] });
  try {
    const vsSshd: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: sshd.knownHostsFile };
    const vsOurs: Target = { ...vsSshd, port: ours.listeners[0]!.port, knownHostsFile: null };
    for (const [server, t] of [['sshd', vsSshd], ['fleetssh', vsOurs]] as const) {
      if (!servers.includes(server)) continue;
      const medians = new Map<Impl, number[]>(impls.map((i) => [i, []]));
      const p99s = new Map<Impl, number[]>(impls.map((i) => [i, []]));
      const counts = new Map<Impl, number>(impls.map((i) => [i, 0]));
      // One unrecorded pass first: the first connections of this process ran
      // up to 2x slower (JIT, the server child still starting), and before
      // the rotation that was always fleetssh's turn.
      for (const impl of impls) await measure(impl, t, 200, cipher).catch(() => undefined);
      for (let r = 0; r < reps; r++) {
        // Rotating the order so no implementation always goes first.
        for (let k = 0; k < impls.length; k++) {
          const impl = impls[(k + r) % impls.length]!;
          let s: number[];
          try {
            s = await measure(impl, t, rtts, cipher);
          } catch (e) {
            console.log(`# latency ${impl.label} vs ${server} failed: ${(e as Error).message}`);
            continue;
          }
          medians.get(impl)!.push(median(s));
          p99s.get(impl)!.push(percentile(s, 99));
          counts.set(impl, counts.get(impl)! + s.length);
        }
      }
      for (const impl of impls) {
        const m = medians.get(impl)!;
        if (m.length === 0) continue;
        const params = { server, cipher, rtts: counts.get(impl)!, reps: m.length };
        const all = (v: number[]): string => v.map((x) => round(x, 0)).join(' ');
        rows.push(emit({ bench: 'latency', impl: impl.label, params: { ...params, stat: 'median', all: all(m) }, value: round(median(m), 0), unit: 'us' }));
        const p = p99s.get(impl)!;
        rows.push(emit({ bench: 'latency', impl: impl.label, params: { ...params, stat: 'p99', all: all(p) }, value: round(median(p), 0), unit: 'us' }));
      }
    }
  } finally {
    await ours.stop();
    await sshd.stop();
  }
  printTable('latency: 1-byte echo round trip on an open channel (lower is better)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runLatency(process.argv.slice(2));
}
