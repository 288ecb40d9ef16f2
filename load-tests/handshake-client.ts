/**
 * Child process of the handshake bench: N sequential connect + auth + exec
 * `true` + close with one client library, after a short warm-up, and prints
 * {"cpuMs": per connection, "wallMs": per connection, "n"} measured with
 * process.cpuUsage() (all threads of this process, the worker pool included).
 * Arguments in FLEETSSH_BENCH_ARGS (JSON: impl, target, kex, n, warmup, budgetMs).
 */
import { openImpl, type ImplName, type Target } from './peers.js';

interface Args {
  impl: ImplName;
  target: Target;
  kex: string;
  n: number;
  warmup: number;
  budgetMs: number;
}

const a = JSON.parse(process.env.FLEETSSH_BENCH_ARGS ?? '{}') as Args;

async function once(): Promise<void> {
  const conn = await openImpl(a.impl, a.target, { kex: a.kex });
  const p = await conn.exec('true');
  p.stdin.end();
  p.stdout.resume();
  await p.done;
  await conn.close();
}

for (let i = 0; i < a.warmup; i++) await once();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let n = 0;
while (n < a.n && performance.now() - t0 < a.budgetMs) {
  await once();
  n++;
}
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
console.log(JSON.stringify({ n, cpuMs: (cpu.user + cpu.system) / 1000 / n, wallMs: wall / n, userMs: cpu.user / 1000 / n, sysMs: cpu.system / 1000 / n }));
process.exit(0);
