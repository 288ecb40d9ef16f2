/**
 * Server accept rate: connections per second a server completes (handshake +
 * auth + exec `true` + close) under the same fleetssh client load
 * (load-client.ts in a child: `concurrency` workers, closed loop, ~`seconds`),
 * fleetssh's server (server-child.ts, its own process) vs OpenSSH sshd.
 * Server CPU: ours from process.cpuUsage() in the child; sshd as the sum over
 * its process tree from /proc (utime+stime of live processes plus
 * cutime+cstime of the reaped ones). Both on the same 2 cores as the load.
 *
 *   node --import tsx load-tests/accept-rate.ts [--seconds=10] [--concurrency=50]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { coreTimes, coreUtil, emit, HERE, numFlag, parseFlags, printTable, round, runChild, startServerChild, treeCpuMs, type Row } from './common.js';
import type { Target } from './peers.js';

const KEX = 'curve25519-sha256';

interface LoadResult {
  completed: number;
  errors: number;
  seconds: number;
  cpuMs: number;
  firstError: string | null;
}

async function load(target: Target, concurrency: number, seconds: number): Promise<LoadResult> {
  const args = { target, kex: KEX, concurrency, seconds, maxConnections: 100_000 };
  const out = await runChild(process.execPath, ['--import', 'tsx', join(HERE, 'load-client.ts')], { FLEETSSH_BENCH_ARGS: JSON.stringify(args) }, (seconds + 60) * 1000);
  const line = out.split('\n').find((l) => l.startsWith('{"completed"'));
  if (!line) throw new Error(`load client: no result (${out.slice(-300)})`);
  return JSON.parse(line) as LoadResult;
}

export async function runAcceptRate(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const seconds = numFlag(flags, 'seconds', 10);
  const concurrency = Math.round(numFlag(flags, 'concurrency', 50));
  const rows: Row[] = [];
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO', MaxStartups: '1000', MaxSessions: '10' } });
  const ours = await startServerChild({ authorizedKeys: [sshd.clientKeys.ed25519.publicLine] });
  try {
    const base: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: null };
    const servers: { impl: string; target: Target; cpu: () => Promise<number> }[] = [
      { impl: 'fleetssh-server', target: { ...base, port: ours.listeners[0]!.port }, cpu: () => ours.cpuMs() },
      { impl: 'openssh-sshd', target: base, cpu: () => Promise.resolve(treeCpuMs(sshd.pid)) },
    ];
    for (const s of servers) {
      const cpuBefore = await s.cpu();
      const cores0 = coreTimes();
      let r: LoadResult;
      try {
        r = await load(s.target, concurrency, seconds);
      } catch (e) {
        console.log(`# accept-rate ${s.impl} failed: ${(e as Error).message}`);
        continue;
      }
      const util = coreUtil(cores0, coreTimes());
      const serverCpu = (await s.cpu()) - cpuBefore;
      const perConn = r.completed > 0 ? serverCpu / r.completed : NaN;
      if (r.firstError) console.log(`# accept-rate ${s.impl}: ${r.errors} errors, first: ${r.firstError}`);
      const params = { concurrency, seconds: round(r.seconds), completed: r.completed, errors: r.errors, serverCpuMsPerConn: round(perConn, 2), loadCpuMsPerConn: round(r.cpuMs / Math.max(1, r.completed), 2), coresPct: util.join('/') };
      rows.push(emit({ bench: 'accept-rate', impl: s.impl, params, value: round(r.completed / r.seconds), unit: 'conn/s' }));
    }
  } finally {
    await ours.stop();
    await sshd.stop();
  }
  printTable('accept rate: connections/s completed by the server (higher is better)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runAcceptRate(process.argv.slice(2));
}
