/**
 * `fleetssh run` next to parallel-ssh (pssh), `pdsh -R ssh` and clush, each
 * running `true` on the same N embedded fleetssh hosts (one child process,
 * 127.0.X.Y:2222), interleaved per repetition. Prints wall time, peak RSS
 * (GNU time's %M: the largest single process of the tool's tree, so tools
 * that fork one ssh per host look smaller than their total) and how many
 * client CPU per host (user + system of the tool and its ssh children; the
 * embedded servers share the machine, so wall time is bounded by them too),
 * hosts succeeded (fleetssh: its JSON summary; pssh: [SUCCESS] lines; pdsh
 * and clush: hosts not named on stderr), as JSON lines and a table.
 * Asserts nothing.
 *
 *   node --import tsx load-tests/fleet-run.ts [--sizes 1000,10000] [--peers fleetssh,pssh,pdsh,clush] [--parallel 64] [--reps 1]
 *
 * OpenSSH-based tools pay ~25 ms of client CPU per host on their own key
 * exchange; they are given curve25519 so the comparison is of the tools, not
 * of sntrup761.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoHosts } from '../src/cli/demo-fleet.js';
import type { DemoHost } from '../src/cli/demo-plan.js';
import { ROOT, emit, fleetBenchArgs, median, printTable, round, timedTool, type Row } from './common.js';

type Peer = 'fleetssh' | 'pssh' | 'pdsh' | 'clush';

const { sizes, peers, parallel, reps, limitS } = fleetBenchArgs<Peer>({ sizes: '1000,10000', peers: 'fleetssh,pssh,pdsh,clush', timeoutS: '900' });

const SSH_OPTS = [
  '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  '-o', 'BatchMode=yes', '-o', 'KexAlgorithms=curve25519-sha256', '-o', 'ConnectTimeout=30',
];

interface Measured {
  wallS: number;
  rssMb: number;
  /** User + system CPU of the tool and every child it waited for (its ssh processes). */
  cpuS: number;
  ok: number;
  status: number | null;
}

async function timed(argv: string[], env: NodeJS.ProcessEnv, countOk: (out: string, err: string) => number): Promise<Measured> {
  const r = await timedTool(argv, limitS, env);
  return { wallS: r.wallS, rssMb: r.rssMb, cpuS: r.cpuS, ok: countOk(r.stdout, r.stderr), status: r.status };
}

function fleetsshArgv(hostsFile: string): string[] {
  const dist = join(ROOT, 'dist/src/cli/main.js');
  const entry = existsSync(dist) ? [process.execPath, dist] : [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
  return [...entry, 'run', '-i', hostsFile, '-l', 'bench', '-p', String(parallel), '--insecure', '--json', '--no-progress', '--retries', '0', 'true'];
}

function runPeer(peer: Peer, hosts: DemoHost[], dir: string): Promise<Measured> {
  const withPort = join(dir, `hosts-${peer}`);
  writeFileSync(withPort, hosts.map((h) => `${h.host}:${h.port}`).join('\n') + '\n');
  const plain = join(dir, `plain-${peer}`);
  writeFileSync(plain, hosts.map((h) => h.host).join('\n') + '\n');
  switch (peer) {
    case 'fleetssh':
      return timed(fleetsshArgv(withPort), {}, (out) => {
        const summary = out.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; succeeded?: number }).find((l) => l.type === 'summary');
        return summary?.succeeded ?? 0;
      });
    case 'pssh':
      return timed(['parallel-ssh', '-h', withPort, '-l', 'bench', '-p', String(parallel), '-t', '60', ...SSH_OPTS.flatMap((o, i) => (i % 2 === 1 ? ['-O', o] : [])), 'true'], {}, (out) =>
        (out.match(/\[SUCCESS\]/g) ?? []).length,
      );
    case 'pdsh':
      // pdsh has no per-host port: every host is on 2222 (the bench hosts' fixed port).
      return timed(['pdsh', '-R', 'ssh', '-f', String(parallel), '-l', 'bench', '-w', `^${plain}`, 'true'], { PDSH_SSH_ARGS_APPEND: ['-p', '2222', ...SSH_OPTS].join(' ') }, (_o, err) =>
        hosts.length - new Set((err.match(/^([^:\s]+): /gm) ?? []).map((s) => s.slice(0, -2))).size,
      );
    case 'clush':
      return timed(['clush', '-f', String(parallel), '-l', 'bench', '--hostfile', plain, '-o', ['-p', '2222', ...SSH_OPTS].join(' '), '-S', 'true'], {}, (_o, err) =>
        hosts.length - new Set((err.match(/^clush: ([^:\s]+): /gm) ?? []).map((s) => s.slice(7, -2))).size,
      );
  }
}

async function main(): Promise<void> {
  const max = Math.max(...sizes);
  process.stderr.write(`starting ${max} embedded hosts...\n`);
  const demo = await startDemoHosts({ count: max, port: 2222, mix: 'bench', base: 1, readyTimeoutMs: 600_000 });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-hosts-'));
  const rows: Row[] = [];
  try {
    const off2222 = demo.hosts.filter((h) => h.port !== 2222).length;
    if (off2222 > 0) process.stderr.write(`note: ${off2222} hosts are not on port 2222 (taken); pdsh and clush will miss them\n`);
    for (const n of sizes) {
      const hosts = demo.hosts.slice(0, n);
      const samples = new Map<Peer, Measured[]>();
      for (let r = 0; r < reps; r++) {
        for (const peer of peers) {
          process.stderr.write(`n=${n} rep ${r + 1}/${reps}: ${peer}...\n`);
          const m = await runPeer(peer, hosts, dir);
          process.stderr.write(`  ${round(m.wallS, 2)} s, ${round(m.cpuS, 2)} s CPU, ${round(m.rssMb)} MB, ${m.ok}/${n} ok, status ${m.status}\n`);
          samples.set(peer, [...(samples.get(peer) ?? []), m]);
        }
      }
      for (const [peer, ms] of samples) {
        const params = { hosts: n, parallel, reps };
        rows.push(emit({ bench: 'fleet-run-true', impl: peer, params, value: round(median(ms.map((m) => m.wallS)), 2), unit: 's wall' }));
        rows.push(emit({ bench: 'fleet-run-true', impl: peer, params, value: round((median(ms.map((m) => m.cpuS)) * 1000) / n, 2), unit: 'ms client CPU/host' }));
        rows.push(emit({ bench: 'fleet-run-true', impl: peer, params, value: round(median(ms.map((m) => m.rssMb))), unit: 'MB peak RSS' }));
        rows.push(emit({ bench: 'fleet-run-true', impl: peer, params, value: median(ms.map((m) => m.ok)), unit: 'hosts ok' }));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await demo.stop();
  }
  printTable('fleet run `true`: fleetssh vs pssh / pdsh / clush (median)', rows);
}

await main();
