/**
 * Child process of the fan-out bench: opens N connections (fleetssh or ssh2)
 * spread over many listeners, at most `inflight` handshakes at a time; each
 * authenticates, runs `true` to completion and stays open until all are up
 * (or `timeoutMs` passed). Then reports and closes everything.
 * Prints {"up","failed","wallMs","rssBase","rssAllUp","peakRss","cpuMs","firstError",
 * "heapUsed","external","arrayBuffers"} (the last three after gc, all up).
 * Arguments in FLEETSSH_BENCH_ARGS (JSON: impl, listeners, n, keyPath, inflight, timeoutMs).
 */
import { readFileSync } from 'node:fs';
import { loadFleetssh, openFleetssh, openImpl, type ImplName, type OpenConn } from './peers.js';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withTimeout } from './common.js';
import { configureWorkRunner } from '../src/actors/work-runner.js';

interface Args {
  impl: ImplName;
  listeners: { host: string; port: number }[];
  n: number;
  keyPath: string;
  inflight: number;
  timeoutMs: number;
  /** fleetssh's handshake executor mode (default: the library's, 'auto'). */
  handshakeMode?: 'auto' | 'inline' | 'pool';
  /** fleetssh from this build directory (absolute, laid out like src/, e.g. a copy of dist/bench/src) instead of the one compiled with this script. */
  lib?: string;
}

const a = JSON.parse(process.env.FLEETSSH_BENCH_ARGS ?? '{}') as Args;

function status(field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}
const peakRss = (): number => status('VmHWM') * 1024;

const lib = a.lib ? await loadFleetssh(a.lib) : undefined;
if (a.handshakeMode) {
  // The executor of the copy that runs the connections.
  const configure = a.lib ? ((await import(pathToFileURL(join(a.lib, 'actors/work-runner.js')).href)) as { configureWorkRunner: typeof configureWorkRunner }).configureWorkRunner : configureWorkRunner;
  configure({ mode: a.handshakeMode });
}

const conns: OpenConn[] = [];
let failed = 0;
let firstError: string | null = null;
let next = 0;
globalThis.gc?.();
const rssBase = process.memoryUsage.rss();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const deadline = t0 + a.timeoutMs;

async function openOne(i: number): Promise<void> {
  const l = a.listeners[i % a.listeners.length]!;
  const target = { host: l.host, port: l.port, username: 'bench', keyPath: a.keyPath, knownHostsFile: null };
  const conn = lib ? await openFleetssh(target, { kex: 'curve25519-sha256' }, lib) : await openImpl(a.impl, target, { kex: 'curve25519-sha256' });
  conns.push(conn);
  const p = await conn.exec('true');
  p.stdin.end();
  p.stdout.resume();
  await withTimeout(p.done, 60_000, 'exec true');
}

async function worker(): Promise<void> {
  while (next < a.n && performance.now() < deadline) {
    const i = next++;
    try {
      await withTimeout(openOne(i), Math.max(1, deadline - performance.now()), `connection ${i}`);
    } catch (e) {
      failed++;
      firstError ??= (e as Error).message;
    }
  }
}

await Promise.all(Array.from({ length: Math.min(a.inflight, a.n) }, () => worker()));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
globalThis.gc?.();
const mem = process.memoryUsage();
// FLEETSSH_BENCH_SNAPSHOT=<file>: a heap snapshot with every connection up (to see what each one holds).
if (process.env.FLEETSSH_BENCH_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.FLEETSSH_BENCH_SNAPSHOT);
const rssAllUp = mem.rss;
console.log(
  JSON.stringify({
    up: a.n - failed - (a.n - next),
    failed: failed + (a.n - next),
    wallMs,
    rssBase,
    rssAllUp,
    peakRss: peakRss(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    firstError,
    // Where the RSS sits once all are up (after gc): JS heap, and off-heap buffers.
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    threads: status('Threads'),
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    // Which V8 spaces the heap's committed size sits in (MB): fragmentation of old space vs the young generation's reserve.
    spaces: Object.fromEntries(
      (await import('node:v8')).getHeapSpaceStatistics().map((sp) => [sp.space_name, { size: Math.round(sp.space_size / 1e5) / 10, used: Math.round(sp.space_used_size / 1e5) / 10 }]),
    ),
  }),
);
await Promise.race([Promise.allSettled(conns.map((c) => c.close())), new Promise((r) => setTimeout(r, 10_000))]);
process.exit(0);
