/**
 * SFTP throughput, no SSH in the way: 256 MiB get and put against OpenSSH's
 * /usr/lib/openssh/sftp-server over stdio, fleetssh's SFTPClient vs OpenSSH
 * `sftp -D` (same server binary), interleaved in one run, medians of N
 * rounds. Prints one JSON line per result and a summary.
 *   node --import tsx load-tests/sftp-bench.ts [--mib 256] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFTPClient } from '../src/actors/sftp-client.js';

const SERVER = '/usr/lib/openssh/sftp-server';
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const mib = arg('--mib', 256);
const rounds = arg('--rounds', 3);
const dir = mkdtempSync(join(tmpdir(), 'sftp-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// A file of incompressible bytes, written in 1 MiB blocks (memory flat).
const src = join(dir, 'src.bin');
const fd = openSync(src, 'w');
const block = randomBytes(1024 * 1024);
for (let i = 0; i < mib; i++) writeSync(fd, block.map((b) => b ^ i));
closeSync(fd);
const bytes = statSync(src).size;

async function fleetssh(direction: 'get' | 'put'): Promise<number> {
  const child = spawn(SERVER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const c = await SFTPClient.start({ readable: child.stdout, writable: child.stdin });
  const dst = join(dir, `fleet-${direction}.bin`);
  const t0 = process.hrtime.bigint();
  if (direction === 'get') await c.get(src, dst);
  else await c.put(src, dst);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  c.exit();
  await new Promise((r) => child.once('exit', r));
  if (statSync(dst).size !== bytes) throw new Error(`fleetssh ${direction}: size mismatch`);
  rmSync(dst);
  return secs;
}

async function openssh(direction: 'get' | 'put'): Promise<number> {
  const dst = join(dir, `openssh-${direction}.bin`);
  const batch = join(dir, 'batch');
  writeFileSync(batch, direction === 'get' ? `get ${src} ${dst}\n` : `put ${src} ${dst}\n`);
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('sftp', ['-q', '-b', batch, '-D', SERVER], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sftp exited ${code}`))));
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (statSync(dst).size !== bytes) throw new Error(`openssh ${direction}: size mismatch`);
  rmSync(dst);
  return secs;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const direction of ['get', 'put'] as const) {
    for (const [name, fn] of [['fleetssh', fleetssh], ['openssh-sftp', openssh]] as const) {
      const secs = await fn(direction);
      const mbps = bytes / 1048576 / secs;
      (results[`${name} ${direction}`] ??= []).push(mbps);
      console.log(JSON.stringify({ bench: 'sftp-stdio', impl: name, direction, round: r, mib, seconds: +secs.toFixed(3), mibPerSec: +mbps.toFixed(1), rssMiB: Math.round(process.memoryUsage().rss / 1048576) }));
    }
  }
}
for (const direction of ['get', 'put']) {
  const f = median(results[`fleetssh ${direction}`]!);
  const o = median(results[`openssh-sftp ${direction}`]!);
  console.log(JSON.stringify({ bench: 'sftp-stdio', summary: direction, fleetsshMiBps: +f.toFixed(1), opensshMiBps: +o.toFixed(1), ratio: +(f / o).toFixed(2) }));
}
