/**
 * Small-packet latency: round trip of a 1-byte echo on an open channel
 * running `cat`, µs, median and p99 of `rtts` round trips (after 100 warm-up
 * ones, bounded to 60 s per case). fleetssh vs ssh2 vs OpenSSH `ssh` (driven
 * through its stdin/stdout pipes, so its figure includes two pipe hops the
 * libraries do not have), against OpenSSH sshd and against fleetssh's server.
 *
 *   node --import tsx load-tests/latency.ts [--rtts=2000]
 */
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { emit, median, numFlag, parseFlags, percentile, printTable, round, startServerChild, withTimeout, type Row } from './common.js';
import { openImpl, type ImplName, type RemoteProc, type Target } from './peers.js';

const IMPLS: ImplName[] = ['fleetssh', 'ssh2', 'openssh'];
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

async function measure(impl: ImplName, t: Target, rtts: number): Promise<number[]> {
  const conn = await openImpl(impl, t, { kex: 'curve25519-sha256', cipher: 'aes128-gcm@openssh.com' });
  try {
    const p = await conn.exec('cat');
    await echoLoop(p, 100, 10_000);
    const samples = await echoLoop(p, rtts, 60_000);
    p.stdin.end();
    await withTimeout(p.done, 10_000, `${impl} cat exit`);
    return samples;
  } finally {
    await conn.close();
  }
}

export async function runLatency(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const rtts = Math.round(numFlag(flags, 'rtts', 2000));
  const rows: Row[] = [];
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
  const ours = await startServerChild({ authorizedKeys: [sshd.clientKeys.ed25519.publicLine] });
  try {
    const vsSshd: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: sshd.knownHostsFile };
    const vsOurs: Target = { ...vsSshd, port: ours.listeners[0]!.port, knownHostsFile: null };
    for (const [server, t] of [['sshd', vsSshd], ['fleetssh', vsOurs]] as const) {
      for (const impl of IMPLS) {
        let s: number[];
        try {
          s = await measure(impl, t, rtts);
        } catch (e) {
          console.log(`# latency ${impl} vs ${server} failed: ${(e as Error).message}`);
          continue;
        }
        const params = { server, rtts: s.length };
        rows.push(emit({ bench: 'latency', impl, params: { ...params, stat: 'median' }, value: round(median(s), 0), unit: 'us' }));
        rows.push(emit({ bench: 'latency', impl, params: { ...params, stat: 'p99' }, value: round(percentile(s, 99), 0), unit: 'us' }));
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
