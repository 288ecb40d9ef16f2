/**
 * Child process of the handshake bench: N sequential connect + auth + exec
 * `true` + close with one client library, after a short warm-up, and prints
 * {"cpuMs": per connection, "wallMs": per connection, "n"} measured with
 * process.cpuUsage() (all threads of this process, the worker pool included).
 * Arguments in FLEETSSH_BENCH_ARGS (JSON: impl, target, kex, n, warmup, budgetMs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadFleetssh, openFleetssh, openImpl, type ImplName, type Target } from './peers.js';

interface Args {
  impl: ImplName;
  target: Target;
  kex: string;
  n: number;
  warmup: number;
  budgetMs: number;
  /** fleetssh from this build directory (laid out like src/) instead of the one compiled with this script. */
  lib?: string;
}

const a = JSON.parse(process.env.FLEETSSH_BENCH_ARGS ?? '{}') as Args;

const lib = a.lib ? await loadFleetssh(a.lib) : undefined;

async function once(): Promise<void> {
  const conn = lib ? await openFleetssh(a.target, { kex: a.kex }, lib) : await openImpl(a.impl, a.target, { kex: a.kex });
  const p = await conn.exec('true');
  p.stdin.end();
  p.stdout.resume();
  await p.done;
  await conn.close();
}

/** CPU ms (user+sys) of each thread of this process, by thread name (summed over threads of one name). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

for (let i = 0; i < a.warmup; i++) await once();
const threads0 = threadCpu();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let n = 0;
while (n < a.n && performance.now() - t0 < a.budgetMs) {
  await once();
  n++;
}
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
// Per thread (ms per connection, 10 ms ticks, so coarse): where the process's CPU goes (main JS thread, V8 helpers, libuv pool, workers).
const perThread: Record<string, number> = {};
for (const [name, ms] of threadCpu()) {
  const d = (ms - (threads0.get(name) ?? 0)) / n;
  if (d > 0) perThread[name] = Math.round(d * 100) / 100;
}
console.log(JSON.stringify({ n, cpuMs: (cpu.user + cpu.system) / 1000 / n, wallMs: wall / n, userMs: cpu.user / 1000 / n, sysMs: cpu.system / 1000 / n, perThread }));
process.exit(0);
