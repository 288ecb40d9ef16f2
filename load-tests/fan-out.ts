/**
 * Fan-out: N concurrent connections from one client process (fanout-client.ts,
 * a child) to embedded fleetssh servers in another child (server-child.ts)
 * listening on many 127.0.1.x addresses (so no address pair runs out of
 * ephemeral ports). Each connection authenticates, runs `true`, and stays open
 * until all are up. Reported: wall time to all up, client RSS (peak, and per
 * connection above the baseline), client CPU, each core's utilisation
 * (/proc/stat deltas), server RSS. fleetssh vs ssh2 on the same servers.
 *
 *   node --import tsx load-tests/fan-out.ts [--fanout=1000,5000] [--full] [--inflight=200] [--timeout=180] [--impls=fleetssh,ssh2] [--tsx]
 *     [--fleetssh=before=DIR1,after=DIR2]   (builds laid out like src/, e.g. a copy of dist/bench/src: one run each, labelled)
 * Default N: 1,000 and 5,000; --full adds 10,000. The client child runs the
 * tsc-compiled build (dist/bench) unless --tsx.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { testKeys } from '../test/helpers/openssh.js';
import { childScript, coreTimes, coreUtil, emit, numFlag, parseFlags, printTable, round, runChild, sleep, startServerChild, type Row } from './common.js';
import type { ImplName } from './peers.js';
import { fleetsshBuilds } from './handshake-builds.js';

interface FanoutResult {
  up: number;
  failed: number;
  wallMs: number;
  rssBase: number;
  rssAllUp: number;
  peakRss: number;
  cpuMs: number;
  firstError: string | null;
  heapUsed?: number;
  heapTotal?: number;
  threads?: number;
  external?: number;
  arrayBuffers?: number;
  spaces?: Record<string, { size: number; used: number }>;
}

const MB = 1024 * 1024;

export async function runFanOut(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const list = typeof flags.get('fanout') === 'string' ? String(flags.get('fanout')).split(',').map(Number) : flags.has('full') ? [1000, 5000, 10000] : [1000, 5000];
  const inflight = Math.round(numFlag(flags, 'inflight', 200));
  const timeoutS = numFlag(flags, 'timeout', 180);
  // --handshake-mode=inline,auto runs fleetssh once per executor mode (default: the library default only).
  const modeFlag = flags.get('handshake-mode');
  const modes = typeof modeFlag === 'string' ? modeFlag.split(',') : [undefined];
  const builds = fleetsshBuilds(flags.get('fleetssh'));
  const maxN = Math.max(...list);
  const nofile = 2 * maxN + 1024;
  const keys = await testKeys();
  const addresses = Math.max(4, Math.ceil(maxN / 2000));
  const hosts = Array.from({ length: addresses }, (_, i) => `127.0.1.${i + 1}`);
  const rows: Row[] = [];
  for (const n of list) {
    const impls = typeof flags.get('impls') === 'string' ? String(flags.get('impls')).split(',') : ['fleetssh', 'ssh2'];
    const runs: { impl: ImplName; label: string; lib?: string; mode: string | undefined }[] = [
      ...(impls.includes('fleetssh') ? builds.flatMap((b) => modes.map((mode) => ({ impl: 'fleetssh' as ImplName, ...b, mode }))) : []),
      ...(impls.includes('ssh2') ? [{ impl: 'ssh2' as ImplName, label: 'ssh2', mode: undefined }] : []),
    ];
    for (const { impl, label, lib, mode } of runs) {
      // A fresh server process per run, so one run's leftovers do not weigh on the next.
      const server = await startServerChild({ hosts, authorizedKeys: [keys.client.ed25519.publicLine], nofile });
      try {
        const args = { impl, lib, listeners: server.listeners, n, keyPath: keys.client.ed25519.privatePath, inflight, timeoutMs: timeoutS * 1000, handshakeMode: mode };
        const cores0 = coreTimes();
        const cmd = `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$@"`;
        let out: string;
        try {
          out = await runChild('bash', ['-c', cmd, 'bash', process.execPath, '--expose-gc', ...childScript('fanout-client', flags.has('tsx'))], { FLEETSSH_BENCH_ARGS: JSON.stringify(args) }, (timeoutS + 60) * 1000);
        } catch (e) {
          console.log(`# fan-out ${label} N=${n} failed: ${(e as Error).message}`);
          continue;
        }
        const util = coreUtil(cores0, coreTimes());
        const line = out.split('\n').find((l) => l.startsWith('{"up"'));
        if (!line) {
          console.log(`# fan-out ${label} N=${n}: no result (${out.slice(-300)})`);
          continue;
        }
        const r = JSON.parse(line) as FanoutResult;
        if (r.spaces) console.log(`# fan-out ${label} N=${n} V8 spaces MB (committed/used): ${Object.entries(r.spaces).map(([k, v]) => `${k} ${v.size}/${v.used}`).join(', ')}`);
        if (r.firstError) console.log(`# fan-out ${label} N=${n}: ${r.failed} failed, first: ${r.firstError}`);
        const params = { n, up: r.up, inflight, coresPct: util.join('/'), ...(r.threads ? { threads: r.threads } : {}), ...(mode ? { mode } : {}) };
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'wall' }, value: round(r.wallMs / 1000, 2), unit: 's' }));
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'rate' }, value: round(r.up / (r.wallMs / 1000)), unit: 'conn/s' }));
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'peakRss' }, value: round(r.peakRss / MB), unit: 'MB' }));
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'rssAllUp' }, value: round(r.rssAllUp / MB), unit: 'MB' }));
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'rssPerConn' }, value: r.up ? round((r.rssAllUp - r.rssBase) / r.up / 1024) : NaN, unit: 'KiB/conn' }));
        if (r.heapUsed !== undefined && r.up) {
          rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'heapPerConn' }, value: round(r.heapUsed / r.up / 1024), unit: 'KiB/conn' }));
          rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'heapTotalPerConn' }, value: round((r.heapTotal ?? 0) / r.up / 1024), unit: 'KiB/conn' }));
          rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'externalPerConn' }, value: round((r.external ?? 0) / r.up / 1024), unit: 'KiB/conn' }));
        }
        rows.push(emit({ bench: 'fan-out', impl: label, params: { ...params, metric: 'clientCpuPerConn' }, value: r.up ? round(r.cpuMs / r.up, 2) : NaN, unit: 'ms/conn' }));
      } finally {
        await server.stop();
        await sleep(500);
      }
    }
  }
  printTable('fan-out: N concurrent connections from one client process', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runFanOut(process.argv.slice(2));
}
