/**
 * SFTP through SSH against OpenSSH sshd (curve25519, aes128-gcm), in one
 * run, interleaved, medians of N rounds:
 *  - one big file (default 256 MiB) get and put: fleetssh get/put vs
 *    OpenSSH `sftp -b` get/put vs `scp` vs ssh2 fastGet/fastPut;
 *  - a tree of small files (default 10,000 of 1-8 KiB): fleetssh
 *    put/get with recurse vs `sftp -r` vs `scp -r`.
 * Each client runs in its own process, so its peak RSS is its own (VmHWM
 * for the Node clients, /usr/bin/time for OpenSSH sftp/scp). The Node
 * clients time the transfer alone; OpenSSH's tools are timed whole, minus
 * the fastest of three `sftp -b` runs of an empty batch (connect, start the
 * subsystem, exit) taken before each round.
 *   node --import tsx load-tests/sftp-ssh-bench.ts [--mib=256] [--files=10000] [--rounds=3]
 *     [--only=big|tree] [--impls=fleetssh,openssh-sftp,openssh-scp,ssh2] [--dist] [--dir=/dev/shm]
 * --dist runs the fleetssh client from the compiled build (`npm run build`);
 * --base=DIR adds `fleetssh-base`, the client from another compiled tree (a
 * copy of dist/ taken before a change), run just before fleetssh in every
 * round: the A/B of a change, interleaved in one run;
 * --max-requests / --max-files / --block-size pass those options to fleetssh's transfers;
 * --prof=DIR writes a CPU profile of each Node client there (node --cpu-prof);
 * --dir puts the files (and sshd's dir) under another directory: on this
 * machine's ext4 creating a file costs ~0.6 ms of kernel CPU, which bounds
 * any tree transfer; tmpfs (/dev/shm) shows the protocol instead.
 * Prints one JSON line per measurement and a summary table; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { boxBusyMs, emit, median, numFlag, parseFlags, printTable, round, ROOT, type Row } from './common.js';
import { startSshd } from '../test/helpers/openssh.js';
import { makeTempDir } from '../test/helpers/ssh-client.js';

type Impl = 'fleetssh-base' | 'fleetssh' | 'openssh-sftp' | 'openssh-scp' | 'ssh2';
type Result = { seconds: number; cpuMs?: number; threadMs?: Record<string, number>; boxMs?: number; peakMiB: number; baseMiB?: number; peak?: Record<string, number> };
type Job = { impl: Impl; op: 'get' | 'put'; kind: 'big' | 'tree' };

const { flags } = parseFlags(process.argv.slice(2));
const mib = numFlag(flags, 'mib', 256);
const fileCount = numFlag(flags, 'files', 10_000);
const rounds = numFlag(flags, 'rounds', 3);
const only = flags.get('only');
const impls = new Set(String(flags.get('impls') ?? 'fleetssh,openssh-sftp,openssh-scp,ssh2').split(','));
const dist = flags.has('dist');
const base = flags.get('base') ? String(flags.get('base')) : null;
if (base) impls.add('fleetssh-base');
if (flags.get('dir')) process.env.TMPDIR = String(flags.get('dir'));

/** Runs one transfer in a child: resolves with seconds and the child's peak RSS (MiB). */
function runChild(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const prof = flags.get('prof') ? ['--cpu-prof', `--cpu-prof-dir=${String(flags.get('prof'))}`] : [];
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(ROOT, 'load-tests/sftp-ssh-client.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`client ${args.join(' ')} exited ${code}: ${out.slice(-500)}`));
      resolve(JSON.parse(last) as Result);
    });
  });
}

/** An OpenSSH tool timed whole; its peak RSS is read by /usr/bin/time. */
function runTool(tool: string, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const box0 = boxBusyMs();
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', tool, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${tool} exited ${code}: ${err.slice(-500)}`));
      const m = /MAXRSS (\d+)/.exec(err);
      resolve({ seconds, peakMiB: m ? Math.round(Number(m[1]) / 1024) : -1, boxMs: boxBusyMs() - box0 });
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
    if (dist) target.push('--dist');
    for (const f of ['max-requests', 'max-files', 'block-size']) if (flags.get(f)) target.push(`--${f}=${String(flags.get(f))}`);
    const sshOpts = ['-q', '-F', 'none', '-i', key, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
      '-o', 'Ciphers=aes128-gcm@openssh.com', '-o', 'KexAlgorithms=curve25519-sha256', '-o', 'IdentityAgent=none'];
    const sftpArgs = [...sshOpts, '-P', String(sshd.port), 'root@127.0.0.1'];
    const scpArgs = [...sshOpts, '-P', String(sshd.port)];
    const remote = (p: string): string => `root@127.0.0.1:${p}`;
    const emptyBatch = join(work, 'empty-batch');
    writeFileSync(emptyBatch, '');

    const jobs: Job[] = [];
    if (only !== 'tree') for (const op of ['get', 'put'] as const) for (const impl of ['fleetssh-base', 'fleetssh', 'openssh-sftp', 'openssh-scp', 'ssh2'] as const) jobs.push({ impl, op, kind: 'big' });
    if (only !== 'big') for (const op of ['put', 'get'] as const) for (const impl of ['fleetssh-base', 'fleetssh', 'openssh-sftp', 'openssh-scp'] as const) jobs.push({ impl, op, kind: 'tree' });
    const results = new Map<string, { mibps: number[]; seconds: number[]; peak: number[]; base: number[]; cpu: number[] }>();
    for (let r = 0; r < rounds; r++) {
      let connectSecs = Infinity;
      for (let i = 0; i < 3; i++) connectSecs = Math.min(connectSecs, (await runTool('sftp', ['-b', emptyBatch, ...sftpArgs])).seconds);
      console.log(JSON.stringify({ bench: 'sftp-ssh', round: r, opensshConnectSeconds: round(connectSecs, 3) }));
      for (const job of jobs.filter((j) => impls.has(j.impl))) {
        const src = job.kind === 'big' ? big : tree;
        const dst = join(work, `out-${job.impl}-${job.op}-${job.kind}`);
        rmSync(dst, { recursive: true, force: true });
        // get reads the source from the server side; put writes it there: both are local paths of the same machine.
        const [from, to] = [src, dst];
        let res: Result;
        if (job.impl === 'openssh-sftp') {
          const batch = join(work, 'batch');
          const rflag = job.kind === 'tree' ? ' -r' : '';
          writeFileSync(batch, `${job.op}${rflag} ${from} ${to}\n`);
          res = await runTool('sftp', ['-b', batch, ...sftpArgs]);
          res.seconds = Math.max(1e-3, res.seconds - connectSecs);
        } else if (job.impl === 'openssh-scp') {
          const rflag = job.kind === 'tree' ? ['-r'] : [];
          res = await runTool('scp', [...rflag, ...scpArgs, ...(job.op === 'get' ? [remote(from), to] : [from, remote(to)])]);
          res.seconds = Math.max(1e-3, res.seconds - connectSecs);
        } else if (job.impl === 'fleetssh-base') {
          res = await runChild(['fleetssh', job.op, from, to, ...target, `--lib=${base!}`]);
        } else {
          res = await runChild([job.impl, job.op, from, to, ...target]);
        }
        const bytes = job.kind === 'big' ? mib * 1048576 : treeBytes;
        if (job.kind === 'big' && statSync(to).size !== mib * 1048576) throw new Error(`${job.impl} ${job.op}: size mismatch`);
        if (job.kind === 'tree' && readdirSync(to, { recursive: true }).length !== fileCount + Math.ceil(fileCount / 500)) throw new Error(`${job.impl} ${job.op}: file count mismatch`);
        rmSync(dst, { recursive: true, force: true });
        const mibps = bytes / 1048576 / res.seconds;
        const key2 = `${job.kind} ${job.op} ${job.impl}`;
        const e = results.get(key2) ?? { mibps: [], seconds: [], peak: [], base: [], cpu: [] };
        if (res.cpuMs !== undefined) e.cpu.push(res.cpuMs);
        e.mibps.push(mibps);
        e.seconds.push(res.seconds);
        e.peak.push(res.peakMiB);
        if (res.baseMiB !== undefined) e.base.push(res.baseMiB);
        results.set(key2, e);
        console.log(JSON.stringify({ bench: 'sftp-ssh', round: r, ...job, seconds: round(res.seconds, 3), mibPerSec: round(mibps), cpuMs: res.cpuMs, threadMs: res.threadMs, boxMs: res.boxMs, peakRssMiB: res.peakMiB, baseRssMiB: res.baseMiB, peakDuring: res.peak }));
      }
    }
    const rows: Row[] = [];
    for (const [k, v] of results) {
      const [kind, op, impl] = k.split(' ');
      const params: Record<string, string | number> = { kind: kind!, op: op!, files: kind === 'tree' ? fileCount : 1, mib: kind === 'big' ? mib : round(treeBytes / 1048576), rounds, peakRssMiB: Math.max(...v.peak) };
      if (v.base.length) params.growthMiB = Math.max(...v.peak.map((p, i) => p - v.base[i]!));
      // Client CPU (all threads) during the transfer: steadier than wall time on a shared machine.
      if (v.cpu.length) params[kind === 'tree' ? 'cpuMsPerFile' : 'cpuMsPerMiB'] = round(median(v.cpu) / (kind === 'tree' ? fileCount : mib), 3);
      if (kind === 'tree') params.filesPerSec = Math.round(fileCount / median(v.seconds));
      rows.push(emit({ bench: 'sftp-ssh', impl: impl!, params, value: round(kind === 'tree' ? median(v.seconds) : median(v.mibps), kind === 'tree' ? 2 : 1), unit: kind === 'tree' ? 's' : 'MiB/s' }));
    }
    printTable(`SFTP over SSH vs sshd (aes128-gcm, curve25519), median of ${rounds}`, rows);
    for (const kind of ['big', 'tree']) {
      for (const op of ['get', 'put']) {
        const f = results.get(`${kind} ${op} fleetssh`);
        const o = results.get(`${kind} ${op} openssh-sftp`);
        const c = results.get(`${kind} ${op} openssh-scp`);
        const s2 = results.get(`${kind} ${op} ssh2`);
        const b = results.get(`${kind} ${op} fleetssh-base`);
        const ratio = (x: typeof f): number | undefined => (f && x ? round(median(x.seconds) / median(f.seconds), 2) : undefined);
        if (f) console.log(JSON.stringify({ bench: 'sftp-ssh', summary: `${kind} ${op}`, ratioVsSftp: ratio(o), ratioVsScp: ratio(c), ratioVsSsh2: ratio(s2), ratioVsBase: ratio(b) }));
      }
    }
  } finally {
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
