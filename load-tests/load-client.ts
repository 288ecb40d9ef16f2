/**
 * Child process of the accept-rate bench: a closed-loop load of `concurrency`
 * workers, each repeating connect + auth + exec `true` + close with the
 * fleetssh client, for `seconds` (bounded: also at most `maxConnections`).
 * Prints {"completed","errors","seconds","cpuMs","firstError"}.
 * Arguments in FLEETSSH_BENCH_ARGS (JSON: target, kex, concurrency, seconds, maxConnections).
 */
import { openImpl, type Target } from './peers.js';
import { withTimeout } from './common.js';

interface Args {
  target: Target;
  kex: string;
  concurrency: number;
  seconds: number;
  maxConnections: number;
}

const a = JSON.parse(process.env.FLEETSSH_BENCH_ARGS ?? '{}') as Args;
let completed = 0;
let errors = 0;
let started = 0;
let firstError: string | null = null;

async function once(): Promise<void> {
  const conn = await openImpl('fleetssh', a.target, { kex: a.kex });
  try {
    const p = await conn.exec('true');
    p.stdin.end();
    p.stdout.resume();
    await withTimeout(p.done, 30_000, 'exec true');
  } finally {
    await conn.close();
  }
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const deadline = t0 + a.seconds * 1000;
async function worker(): Promise<void> {
  while (performance.now() < deadline && started < a.maxConnections) {
    started++;
    try {
      await once();
      completed++;
    } catch (e) {
      errors++;
      firstError ??= (e as Error).message;
    }
  }
}
await Promise.all(Array.from({ length: a.concurrency }, () => worker()));
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ completed, errors, seconds: secs, cpuMs: (cpu.user + cpu.system) / 1000, firstError }));
process.exit(0);
