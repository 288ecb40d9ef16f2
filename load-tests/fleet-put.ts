/**
 * `fleetssh put -r` next to parallel-ssh's `parallel-scp -r`, each copying
 * the same small tree (a config-sized file set and one larger file) to the
 * same N embedded fleetssh hosts (one child process, 127.0.X.Y:2222, each
 * serving SFTP chrooted to its own directory), interleaved per repetition.
 * OpenSSH 9.2's scp, which parallel-scp runs, speaks SFTP by default. Prints
 * wall time, client CPU per host (the tool and its children, GNU time) and
 * how many hosts got every file byte-exact (checked on disk), as JSON lines
 * and a table. Asserts nothing.
 *
 *   node --import tsx load-tests/fleet-put.ts [--sizes 100,500] [--peers fleetssh,pscp] [--parallel 64] [--reps 1]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoHosts } from '../src/cli/demo-fleet.js';
import type { DemoHost } from '../src/cli/demo-plan.js';
import { ROOT, emit, fleetBenchArgs, median, printTable, round, timedTool, type Row, type ToolRun } from './common.js';

type Peer = 'fleetssh' | 'pscp';

const { sizes, peers, parallel, reps, limitS } = fleetBenchArgs<Peer>({ sizes: '100,500', peers: 'fleetssh,pscp', timeoutS: '600' });

const SSH_OPTS = ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR', 'BatchMode=yes', 'KexAlgorithms=curve25519-sha256', 'ConnectTimeout=30'];

function makeTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const add = (rel: string, data: Buffer): void => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), data);
    files.set(rel, data);
  };
  for (let i = 0; i < 20; i++) add(`conf/app-${i}.conf`, randomBytes(2048 + i * 100));
  add('bin/tool', randomBytes(1 << 20));
  return files;
}

/** Hosts whose chroot holds every file of the tree, byte-exact, under `dest`. */
function hostsOk(root: string, hosts: DemoHost[], dest: string, files: Map<string, Buffer>): number {
  let ok = 0;
  for (const h of hosts) {
    const base = join(root, h.name, dest);
    if ([...files].every(([rel, data]) => existsSync(join(base, rel)) && readFileSync(join(base, rel)).equals(data))) ok++;
  }
  return ok;
}

function argvFor(peer: Peer, hostsFile: string, src: string, dest: string): string[] {
  if (peer === 'fleetssh') {
    const dist = join(ROOT, 'dist/src/cli/main.js');
    const entry = existsSync(dist) ? [process.execPath, dist] : [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
    return [...entry, 'put', '-i', hostsFile, '-l', 'bench', '-p', String(parallel), '--insecure', '--json', '--no-progress', '--retries', '0', '-r', src, dest];
  }
  return ['parallel-scp', '-h', hostsFile, '-l', 'bench', '-p', String(parallel), '-t', '120', ...SSH_OPTS.flatMap((o) => ['-O', o]), '-r', src, dest];
}

async function main(): Promise<void> {
  const max = Math.max(...sizes);
  const work = mkdtempSync(join(tmpdir(), 'fleet-put-bench-'));
  const root = join(work, 'hosts');
  process.stderr.write(`starting ${max} embedded hosts with SFTP...\n`);
  const demo = await startDemoHosts({ count: max, port: 2222, mix: 'bench', base: 1, readyTimeoutMs: 600_000, sftpRoot: root });
  const src = join(work, 'tree');
  const files = makeTree(src);
  const rows: Row[] = [];
  try {
    for (const n of sizes) {
      const hosts = demo.hosts.slice(0, n);
      const hostsFile = join(work, `hosts-${n}`);
      writeFileSync(hostsFile, hosts.map((h) => `${h.host}:${h.port}`).join('\n') + '\n');
      const samples = new Map<Peer, (ToolRun & { ok: number })[]>();
      for (let r = 0; r < reps; r++) {
        for (const peer of peers) {
          const dest = `/${peer}-${n}-${r}`;
          process.stderr.write(`n=${n} rep ${r + 1}/${reps}: ${peer}...\n`);
          const m = await timedTool(argvFor(peer, hostsFile, src, dest), limitS);
          // Both copy the directory itself into dest's parent when dest does not exist: tree -> dest.
          const ok = hostsOk(root, hosts, dest, files);
          process.stderr.write(`  ${round(m.wallS, 2)} s, ${round(m.cpuS, 2)} s CPU, ${ok}/${n} hosts complete, status ${m.status}\n`);
          samples.set(peer, [...(samples.get(peer) ?? []), { ...m, ok }]);
        }
      }
      for (const [peer, ms] of samples) {
        const params = { hosts: n, parallel, reps, files: files.size, kib: Math.round([...files.values()].reduce((a, b) => a + b.length, 0) / 1024) };
        rows.push(emit({ bench: 'fleet-put', impl: peer, params, value: round(median(ms.map((m) => m.wallS)), 2), unit: 's wall' }));
        rows.push(emit({ bench: 'fleet-put', impl: peer, params, value: round((median(ms.map((m) => m.cpuS)) * 1000) / n, 2), unit: 'ms client CPU/host' }));
        rows.push(emit({ bench: 'fleet-put', impl: peer, params, value: median(ms.map((m) => m.ok)), unit: 'hosts complete' }));
      }
    }
  } finally {
    await demo.stop();
    rmSync(work, { recursive: true, force: true });
  }
  printTable('fleet put -r of a 21-file tree: fleetssh vs parallel-scp (median)', rows);
}

await main();
