/**
 * Client CPU per connection: connect + auth (ed25519 key) + exec `true` +
 * close, N sequential connections, per kex, CPU of the client process only
 * (so sshd's forking does not count).
 *   fleetssh, ssh2: a child process each (handshake-client.ts), process.cpuUsage()
 *     deltas after a warm-up (includes the worker-pool threads).
 *   OpenSSH ssh: `ssh ... true` N times in a bash loop; CPU = the loop's
 *     children's user+sys from bash `times` (getrusage of the reaped children).
 * mlkem768x25519-sha256 runs against our own server (server-child.ts):
 * OpenSSH 9.2's sshd/ssh and ssh2 do not implement it.
 *
 *   node --import tsx load-tests/handshake.ts [--n=50] [--reps=1] [--kex=a,b] [--impls=fleetssh,ssh2,openssh] [--server=sshd,fleetssh] [--tsx]
 *     [--fleetssh=before=DIR1,after=DIR2]   (builds laid out like src/, e.g. a copy of dist/bench/src, interleaved)
 * The library children run the tsc-compiled build (dist/bench) unless --tsx.
 */
import { pathToFileURL } from 'node:url';
import { startSshd } from '../test/helpers/openssh.js';
import { childScript, emit, median, numFlag, parseFlags, printTable, round, runChild, startServerChild, type Row } from './common.js';
import { fleetsshBuilds } from './handshake-builds.js';
import { sshArgv, type ImplName, type Target } from './peers.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';

interface Measured {
  n: number;
  cpuMs: number;
  wallMs: number;
  /** User and system CPU ms per connection (the libraries only). */
  userMs?: number;
  sysMs?: number;
}

async function measureLibrary(impl: ImplName, target: Target, kex: string, n: number, tsx: boolean, lib?: string): Promise<Measured> {
  const args = { impl, target, kex, n, warmup: 5, budgetMs: 60_000, lib };
  const out = await runChild(process.execPath, childScript('handshake-client', tsx), { FLEETSSH_BENCH_ARGS: JSON.stringify(args) }, 120_000);
  const line = out.split('\n').find((l) => l.startsWith('{"n"'));
  if (!line) throw new Error(`${impl}: no result (${out.slice(-300)})`);
  return JSON.parse(line) as Measured;
}

const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** Parses bash `times` (second line: children's user and sys, e.g. "0m1.234s 0m0.456s"). */
function parseTimes(text: string): number {
  const lines = text.split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const children = lines[1];
  if (!children) throw new Error(`no bash times output in ${JSON.stringify(text.slice(-200))}`);
  let ms = 0;
  for (const m of children.matchAll(/(\d+)m([\d.]+)s/g)) ms += (Number(m[1]) * 60 + Number(m[2])) * 1000;
  return ms;
}

async function measureOpenssh(target: Target, kex: string, n: number): Promise<Measured> {
  const cmd = `ssh ${sshArgv(target, { kex }, 'true').map(q).join(' ')}`;
  // Warm-up outside the measured loop (page cache), then N runs and `times`.
  const script = `${cmd} || exit 1; s=$(date +%s%N); for i in $(seq ${n}); do ${cmd} || exit 1; done; e=$(date +%s%N); echo "wall $(( (e - s) / 1000 ))"; times`;
  const before = await runChild('bash', ['-c', `${cmd} || exit 1; times`], {}, 30_000);
  const out = await runChild('bash', ['-c', script], {}, 180_000);
  const cpu = parseTimes(out) - parseTimes(before);
  const wallUs = Number(/wall (\d+)/.exec(out)?.[1] ?? NaN);
  return { n, cpuMs: cpu / n, wallMs: wallUs / 1000 / n };
}

export async function runHandshake(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const n = Math.round(numFlag(flags, 'n', 50));
  // --reps=R: R interleaved runs of every case, median reported; --kex= / --impls= filter (comma lists).
  const reps = Math.round(numFlag(flags, 'reps', 1));
  const only = (name: string): ((v: string) => boolean) => {
    const f = flags.get(name);
    return typeof f === 'string' ? (v) => f.split(',').includes(v) : () => true;
  };
  const kexOk = only('kex');
  const implOk = only('impls');
  const serverOk = only('server');
  const tsx = flags.has('tsx');
  const builds = fleetsshBuilds(flags.get('fleetssh'));
  const rows: Row[] = [];
  // --delay-ms=D: every connection goes through a relay that holds each chunk D ms per
  // direction (a 2D ms round trip), and wall time per connection is reported too.
  const delayMs = numFlag(flags, 'delay-ms', 0);
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
  const ours = await startServerChild({ authorizedKeys: [sshd.clientKeys.ed25519.publicLine] });
  const proxies: DelayProxy[] = [];
  const via = async (port: number): Promise<number> => {
    if (delayMs <= 0) return port;
    const p = await startDelayProxy('127.0.0.1', port, delayMs);
    proxies.push(p);
    return p.port;
  };
  try {
    const vsSshd: Target = { host: '127.0.0.1', port: await via(sshd.port), username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: delayMs > 0 ? null : sshd.knownHostsFile };
    const vsOurs: Target = { ...vsSshd, port: await via(ours.listeners[0]!.port), knownHostsFile: null };
    const cases: { kex: string; server: 'sshd' | 'fleetssh'; target: Target; impls: ImplName[] }[] = [
      { kex: 'curve25519-sha256', server: 'sshd', target: vsSshd, impls: ['fleetssh', 'ssh2', 'openssh'] },
      { kex: 'ecdh-sha2-nistp256', server: 'sshd', target: vsSshd, impls: ['fleetssh', 'ssh2', 'openssh'] },
      { kex: 'curve25519-sha256', server: 'fleetssh', target: vsOurs, impls: ['fleetssh', 'ssh2', 'openssh'] },
      { kex: 'mlkem768x25519-sha256', server: 'fleetssh', target: vsOurs, impls: ['fleetssh'] },
    ];
    for (const c of cases) {
      if (!kexOk(c.kex) || !serverOk(c.server)) continue;
      const runs = c.impls.filter(implOk).flatMap((impl): { impl: ImplName; label: string; lib?: string }[] => (impl === 'fleetssh' ? builds.map((b) => ({ impl, ...b })) : [{ impl, label: impl }]));
      const got = new Map<string, Measured[]>();
      for (let r = 0; r < reps; r++) {
        // Rotate the order each rep so no implementation always runs first (warm caches, load drift).
        for (let k = 0; k < runs.length; k++) {
          const { impl, label, lib } = runs[(k + r) % runs.length]!;
          try {
            const m = impl === 'openssh' ? await measureOpenssh(c.target, c.kex, n) : await measureLibrary(impl, c.target, c.kex, n, tsx, lib);
            got.set(label, [...(got.get(label) ?? []), m]);
          } catch (e) {
            console.log(`# handshake ${label} ${c.kex} vs ${c.server} failed: ${(e as Error).message}`);
          }
        }
      }
      for (const { label } of runs) {
        const ms = got.get(label);
        if (!ms) continue;
        const cpu = median(ms.map((m) => m.cpuMs));
        const split: Record<string, number> = ms[0]!.userMs !== undefined ? { userMs: round(median(ms.map((m) => m.userMs ?? NaN)), 2), sysMs: round(median(ms.map((m) => m.sysMs ?? NaN)), 2) } : {};
        const wallMs = round(median(ms.map((m) => m.wallMs)));
        const params = { kex: c.kex, server: c.server, n: ms[0]!.n, wallMs, ...split, ...(reps > 1 ? { reps: ms.length } : {}), ...(delayMs > 0 ? { delayMs } : {}) };
        rows.push(emit({ bench: 'handshake', impl: label, params, value: round(cpu, 2), unit: 'client CPU ms/conn' }));
        if (delayMs > 0) rows.push(emit({ bench: 'handshake-wall', impl: label, params: { kex: c.kex, server: c.server, delayMs }, value: wallMs, unit: 'wall ms/conn' }));
      }
    }
  } finally {
    for (const p of proxies) await p.close();
    await ours.stop();
    await sshd.stop();
  }
  printTable('handshake: client CPU per connect+auth+exec true+close (lower is better)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runHandshake(process.argv.slice(2));
}
