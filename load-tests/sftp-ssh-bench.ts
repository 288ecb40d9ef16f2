/**
 * SFTP through SSH against OpenSSH sshd (curve25519, aes128-gcm), in one
 * run, interleaved, medians of N rounds:
 *  - one big file (default 256 MiB) get and put: fleetssh get/put vs
 *    OpenSSH `sftp -b` get/put vs ssh2 fastGet/fastPut;
 *  - a tree of small files (default 10,000 of 1-8 KiB): fleetssh
 *    put/get with recurse vs `sftp -r`.
 * Each client runs in its own process, so its peak RSS is its own (VmHWM
 * for the Node clients, /usr/bin/time for OpenSSH sftp).
 *   node --import tsx load-tests/sftp-ssh-bench.ts [--mib=256] [--files=10000] [--rounds=3] [--only=big|tree]
 * Prints one JSON line per measurement and a summary table; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { emit, median, numFlag, parseFlags, printTable, round, ROOT, type Row } from './common.js';
import { startSshd } from '../test/helpers/openssh.js';
import { makeTempDir } from '../test/helpers/ssh-client.js';

type Impl = 'fleetssh' | 'openssh-sftp' | 'ssh2';
type Job = { impl: Impl; op: 'get' | 'put'; kind: 'big' | 'tree' };

const { flags } = parseFlags(process.argv.slice(2));
const mib = numFlag(flags, 'mib', 256);
const fileCount = numFlag(flags, 'files', 10_000);
const rounds = numFlag(flags, 'rounds', 3);
const only = flags.get('only');

/** Runs one transfer in a child: resolves with seconds and the child's peak RSS (MiB). */
function runChild(args: string[]): Promise<{ seconds: number; peakMiB: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'load-tests/sftp-ssh-client.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`client ${args.join(' ')} exited ${code}: ${out.slice(-500)}`));
      resolve(JSON.parse(last) as { seconds: number; peakMiB: number });
    });
  });
}

/** OpenSSH sftp -b in batch mode; its peak RSS is read by /usr/bin/time when present, else reported as -1. */
function runSftp(args: string[], batch: string): Promise<{ seconds: number; peakMiB: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', 'sftp', '-b', batch, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`sftp exited ${code}: ${err.slice(-500)}`));
      const m = /MAXRSS (\d+)/.exec(err);
      resolve({ seconds, peakMiB: m ? Math.round(Number(m[1]) / 1024) : -1 });
    });
  });
}

async function main(): Promise<void> {
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { Ciphers: 'aes128-gcm@openssh.com', KexAlgorithms: 'curve25519-sha256' } });
  const work = makeTempDir('sftp-ssh-bench-');
  try {
    const big = join(work, 'big.bin');
    const fd = openSync(big, 'w');
    const block = randomBytes(1 << 20);
    for (let i = 0; i < mib; i++) writeSync(fd, block.map((b) => b ^ i));
    closeSync(fd);
    const tree = join(work, 'tree');
    for (let i = 0; i < fileCount; i++) {
      const d = join(tree, `d${Math.floor(i / 500)}`);
      if (i % 500 === 0) mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), randomBytes(1024 + ((i * 7919) % 7169)));
    }
    const treeBytes = fileCount * (1024 + 3584);
    const key = sshd.clientKeys.ed25519.privatePath;
    const target = [`--port=${sshd.port}`, `--key=${key}`, `--known=${sshd.knownHostsFile}`];
    const sftpArgs = ['-q', '-F', 'none', '-P', String(sshd.port), '-i', key, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
      '-o', 'Ciphers=aes128-gcm@openssh.com', '-o', 'KexAlgorithms=curve25519-sha256', '-o', 'IdentityAgent=none', 'root@127.0.0.1'];

    const jobs: Job[] = [];
    if (only !== 'tree') for (const op of ['get', 'put'] as const) for (const impl of ['fleetssh', 'openssh-sftp', 'ssh2'] as const) jobs.push({ impl, op, kind: 'big' });
    if (only !== 'big') for (const op of ['put', 'get'] as const) for (const impl of ['fleetssh', 'openssh-sftp'] as const) jobs.push({ impl, op, kind: 'tree' });
    const results = new Map<string, { mibps: number[]; seconds: number[]; peak: number[] }>();
    for (let r = 0; r < rounds; r++) {
      for (const job of jobs) {
        const src = job.kind === 'big' ? big : tree;
        const dst = join(work, `out-${job.impl}-${job.op}-${job.kind}`);
        rmSync(dst, { recursive: true, force: true });
        // get reads the source from the server side; put writes it there: both are local paths of the same machine.
        const [from, to] = [src, dst];
        let res: { seconds: number; peakMiB: number };
        if (job.impl === 'openssh-sftp') {
          const batch = join(work, 'batch');
          const rflag = job.kind === 'tree' ? ' -r' : '';
          writeFileSync(batch, `${job.op}${rflag} ${from} ${to}\n`);
          res = await runSftp(sftpArgs, batch);
        } else {
          res = await runChild([job.impl, job.op, from, to, ...target]);
        }
        const bytes = job.kind === 'big' ? mib * 1048576 : treeBytes;
        if (job.kind === 'big' && statSync(to).size !== mib * 1048576) throw new Error(`${job.impl} ${job.op}: size mismatch`);
        if (job.kind === 'tree' && readdirSync(to, { recursive: true }).length !== fileCount + Math.ceil(fileCount / 500)) throw new Error(`${job.impl} ${job.op}: file count mismatch`);
        rmSync(dst, { recursive: true, force: true });
        const mibps = bytes / 1048576 / res.seconds;
        const key2 = `${job.kind} ${job.op} ${job.impl}`;
        const e = results.get(key2) ?? { mibps: [], seconds: [], peak: [] };
        e.mibps.push(mibps);
        e.seconds.push(res.seconds);
        e.peak.push(res.peakMiB);
        results.set(key2, e);
        console.log(JSON.stringify({ bench: 'sftp-ssh', round: r, ...job, seconds: round(res.seconds, 3), mibPerSec: round(mibps), peakRssMiB: res.peakMiB }));
      }
    }
    const rows: Row[] = [];
    for (const [k, v] of results) {
      const [kind, op, impl] = k.split(' ');
      rows.push(emit({ bench: 'sftp-ssh', impl: impl!, params: { kind: kind!, op: op!, files: kind === 'tree' ? fileCount : 1, mib: kind === 'big' ? mib : round(treeBytes / 1048576), rounds, peakRssMiB: Math.max(...v.peak) }, value: round(kind === 'tree' ? median(v.seconds) : median(v.mibps), kind === 'tree' ? 2 : 1), unit: kind === 'tree' ? 's' : 'MiB/s' }));
    }
    printTable(`SFTP over SSH vs sshd (aes128-gcm, curve25519), median of ${rounds}`, rows);
    for (const kind of ['big', 'tree']) {
      for (const op of ['get', 'put']) {
        const f = results.get(`${kind} ${op} fleetssh`);
        const o = results.get(`${kind} ${op} openssh-sftp`);
        if (f && o) console.log(JSON.stringify({ bench: 'sftp-ssh', summary: `${kind} ${op}`, ratioVsOpenssh: round(median(o.seconds) / median(f.seconds), 2) }));
      }
    }
  } finally {
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
