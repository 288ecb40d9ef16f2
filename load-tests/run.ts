/**
 * `npm run bench [-- names...] [--flags]`: runs the benchmarks (all, or the
 * named ones: bulk handshake accept fanout latency crypto), prints the peer
 * versions, each bench's table and JSON lines, then the bar of issue 4 as
 * ratios from this same run. Never asserts a time.
 *
 * Flags are passed to every bench: --size=MiB --reps=N (bulk), --n=N
 * (handshake), --seconds=S --concurrency=C (accept), --fanout=1000,5000
 * --full (fanout: adds 10,000), --rtts=N (latency).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runAcceptRate } from './accept-rate.js';
import { runBulk } from './bulk.js';
import { emit, HERE, printTable, round, runChild, versions, type Row } from './common.js';
import { runFanOut } from './fan-out.js';
import { runHandshake } from './handshake.js';
import { runLatency } from './latency.js';
import { parseFlags } from './common.js';

async function runCrypto(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of ['crypto-bench.ts', 'handshake-crypto-bench.ts']) {
    const path = join(HERE, file);
    if (!existsSync(path)) {
      console.log(`# crypto: ${file} not present, skipped`);
      continue;
    }
    console.log(`\n== crypto: ${file}`);
    try {
      const out = await runChild(process.execPath, ['--import', 'tsx', path], {}, 300_000);
      process.stdout.write(out.trimEnd() + '\n');
    } catch (e) {
      console.log(`# crypto: ${file} failed: ${(e as Error).message}`);
    }
  }
  return rows;
}

const BENCHES: Record<string, (argv: readonly string[]) => Promise<Row[]>> = {
  bulk: runBulk,
  handshake: runHandshake,
  accept: runAcceptRate,
  fanout: runFanOut,
  latency: runLatency,
  crypto: runCrypto,
};

function find(rows: Row[], bench: string, impl: string, match: Record<string, string | number>): number | undefined {
  return rows.find((r) => r.bench === bench && r.impl === impl && Object.entries(match).every(([k, v]) => r.params[k] === v))?.value;
}

/** The bar of issue 4, as ratios from this run (only the parts that ran). */
function bar(rows: Row[]): Row[] {
  const out: Row[] = [];
  const add = (what: string, ratio: number | undefined, target: string, detail: string): void => {
    if (ratio === undefined || !Number.isFinite(ratio)) return;
    out.push(emit({ bench: 'bar', impl: 'fleetssh', params: { what, target, detail }, value: round(ratio, 2), unit: 'ratio' }));
  };
  for (const dir of ['up', 'down']) {
    const c = 'aes128-gcm@openssh.com';
    const ours = find(rows, 'bulk', 'fleetssh', { cipher: c, dir });
    const best = Math.max(find(rows, 'bulk', 'ssh2', { cipher: c, dir }) ?? 0, find(rows, 'bulk', 'openssh', { cipher: c, dir }) ?? 0);
    if (ours !== undefined && best > 0) add(`bulk aes128-gcm ${dir} / faster of ssh2,ssh`, ours / best, '>= 1.25', `${ours} vs ${best} MB/s`);
    const cc = 'chacha20-poly1305@openssh.com';
    const o2 = find(rows, 'bulk', 'fleetssh', { cipher: cc, dir });
    const s2 = find(rows, 'bulk', 'ssh2', { cipher: cc, dir });
    if (o2 !== undefined && s2) add(`bulk chacha20 ${dir} / ssh2`, o2 / s2, '>= 1.0', `${o2} vs ${s2} MB/s`);
  }
  const hsOurs = find(rows, 'handshake', 'fleetssh', { kex: 'curve25519-sha256', server: 'sshd' });
  const hsSsh2 = find(rows, 'handshake', 'ssh2', { kex: 'curve25519-sha256', server: 'sshd' });
  if (hsOurs !== undefined && hsSsh2) add('client CPU per curve25519 handshake / ssh2', hsOurs / hsSsh2, '<= 0.5', `${hsOurs} vs ${hsSsh2} ms`);
  const arOurs = find(rows, 'accept-rate', 'fleetssh-server', {});
  const arSshd = find(rows, 'accept-rate', 'openssh-sshd', {});
  if (arOurs !== undefined && arSshd) add('server accept rate / sshd', arOurs / arSshd, '>= 5', `${arOurs} vs ${arSshd} conn/s`);
  const fan = rows.filter((r) => r.bench === 'fan-out' && r.impl === 'fleetssh' && r.params.metric === 'peakRss');
  const biggest = fan.sort((a, b) => Number(b.params.n) - Number(a.params.n))[0];
  if (biggest) add(`peak client RSS at N=${biggest.params.n} / 400 MB`, biggest.value / 400, '< 1 (at N=10000)', `${biggest.value} MB, ${biggest.params.up} up`);
  const latOurs = find(rows, 'latency', 'fleetssh', { server: 'sshd', stat: 'median' });
  const latSsh = find(rows, 'latency', 'openssh', { server: 'sshd', stat: 'median' });
  if (latOurs !== undefined && latSsh) add('echo RTT median / OpenSSH ssh', latOurs / latSsh, '<= 1.2', `${latOurs} vs ${latSsh} us`);
  return out;
}

const argv = process.argv.slice(2);
const { names } = parseFlags(argv);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(' ')}`);
  process.exit(2);
}
const selected = names.length ? names : Object.keys(BENCHES);
const v = versions();
console.log(`# fleetssh ${v.fleetssh}; node ${v.node}; ssh2 ${v.ssh2} (native addon: ${v.ssh2Native ? 'yes' : 'no'}); ${v.ssh}; ${v.cpus} CPUs`);
emit({ bench: 'versions', impl: 'env', params: { node: v.node, ssh2: v.ssh2, ssh2Native: String(v.ssh2Native), openssh: v.ssh, cpus: v.cpus }, value: 0, unit: '' });
const all: Row[] = [];
const started = performance.now();
for (const name of selected) {
  const t = performance.now();
  try {
    all.push(...(await BENCHES[name]!(argv)));
  } catch (e) {
    console.log(`# ${name} failed: ${(e as Error).stack ?? String(e)}`);
  }
  console.log(`# ${name} took ${round((performance.now() - t) / 1000)} s`);
}
const ratios = bar(all);
if (ratios.length) printTable('the bar of issue 4 (ratios from this run)', ratios);
console.log(`# total ${round((performance.now() - started) / 1000)} s`);
process.exit(0);
