/**
 * Forwarding throughput: MB/s of a hashed upload (the hash server replies
 * with the sha256 of what it got after EOF; --dirs=up,down adds a checked
 * download of random bytes) through a local port forward,
 * fleetssh vs OpenSSH `ssh -L` on the same path, in two shapes:
 *   direct:    client -> sshd B -> hash server
 *   tunnelled: client -> sshd A -> (direct-tcpip) -> sshd B -> hash server
 *              (fleetssh: connect(B, {tunnel: connA}); OpenSSH: ssh -J A -L ... B)
 * and the tunnelled/direct ratio of each implementation. The fleetssh client
 * runs in its own process (forward-bench-client.ts; the compiled build when
 * dist/ is fresh), as `ssh` does. Reps are interleaved with a rotating order;
 * medians are reported, and CPU ms per MB of the client and of the whole
 * path (client + sshd A + sshd B; the uploader and hash server are excluded).
 * curve25519 and aes128-gcm everywhere.
 *
 *   npm run build && node --import tsx load-tests/forward-bench.ts [--mib=128] [--reps=5] [--lib=auto|dist|src]
 *     [--dirs=up,down] [--paths=fleetssh/tunnelled,...] [--base=DIR (another build, as impl fleetssh-base)] [--profile=DIR (node --cpu-prof of the fleetssh client)]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { startSshd, type SshdServer } from '../test/helpers/openssh.js';
import { freePort, makeTempDir, removeTempDir } from '../test/helpers/ssh-client.js';
import { dialTcp, readAll, startHashServer } from '../test/integration/forward-helpers.js';
import { HERE, ROOT, emit, median, numFlag, parseFlags, printTable, round, sleep, treeCpuMs, withTimeout, type Row } from './common.js';

const KEX = ['curve25519-sha256'];
const CIPHERS = ['aes128-gcm@openssh.com'];
const BLOCK = randomBytes(1024 * 1024);

/** Sends 'U' + `bytes` (BLOCK repeated), half-closes, checks the digest; returns MB/s. */
async function timedUpload(port: number, bytes: number, digest: string): Promise<number> {
  const t = performance.now();
  const sock = await dialTcp(port);
  const reading = readAll(sock);
  const write = (b: Buffer): Promise<void> | null => (sock.write(b) ? null : new Promise((r) => sock.once('drain', () => r())));
  await write(Buffer.from('U'));
  for (let left = bytes; left > 0; left -= BLOCK.length) await write(left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left));
  sock.end();
  const r = await withTimeout(reading, 120_000, 'upload');
  if (r.text !== digest) throw new Error(`digest mismatch through the forward on port ${port}`);
  return bytes / 1e6 / ((performance.now() - t) / 1000);
}

/** Asks the hash server for `bytes` random bytes through the forward and checks them; returns MB/s. */
async function timedDownload(port: number, bytes: number, sentDigests: () => string[]): Promise<number> {
  const t = performance.now();
  const sock = await dialTcp(port);
  const reading = readAll(sock);
  const req = Buffer.alloc(5);
  req[0] = 0x44;
  req.writeUInt32BE(bytes, 1);
  sock.write(req);
  const r = await withTimeout(reading, 120_000, 'download');
  if (r.bytes !== bytes || r.sha256 !== sentDigests().at(-1)) throw new Error(`download through the forward on port ${port} is not byte-exact`);
  return bytes / 1e6 / ((performance.now() - t) / 1000);
}

function digestOf(bytes: number): string {
  const h = createHash('sha256');
  for (let left = bytes; left > 0; left -= BLOCK.length) h.update(left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left));
  return h.digest('hex');
}

function writeConfig(dir: string, a: SshdServer, b: SshdServer): string {
  const path = join(dir, 'ssh_config');
  const host = (name: string, s: SshdServer): string[] => [
    `Host ${name}`,
    '  HostName 127.0.0.1',
    `  Port ${s.port}`,
    '  User root',
    `  IdentityFile ${s.clientKeys.ed25519.privatePath}`,
    `  UserKnownHostsFile ${s.knownHostsFile}`,
  ];
  const lines = [
    ...host('jumpA', a),
    ...host('targetB', b),
    'Host *',
    '  BatchMode yes',
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    '  GlobalKnownHostsFile /dev/null',
    `  Ciphers ${CIPHERS.join(',')}`,
    `  KexAlgorithms ${KEX.join(',')}`,
    '  ExitOnForwardFailure yes',
    '  LogLevel ERROR',
    '',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

/** Starts `ssh -N -L` (optionally with -J) and resolves once its listener accepts. */
async function startOpenSshForward(config: string, jump: boolean, hashPort: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const args = ['-F', config, '-N', '-L', `127.0.0.1:${port}:127.0.0.1:${hashPort}`, ...(jump ? ['-J', 'jumpA'] : []), 'targetB'];
  const child = spawn('ssh', args, { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      (await dialTcp(port)).destroy();
      return { port, child };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`ssh ${args.join(' ')} did not start its forward`);
      }
      await sleep(50);
    }
  }
}

interface ClientChild {
  lib: string;
  direct: number;
  tunnelled: number;
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts forward-bench-client.ts; resolves once both of its forwards listen. */
async function startClientChild(a: SshdServer, b: SshdServer, hashPort: number, lib: string, profileDir: string | null): Promise<ClientChild> {
  const env = {
    ...process.env,
    FLEETSSH_FWD_ARGS: JSON.stringify({
      a: { port: a.port, knownHosts: a.knownHostsFile },
      b: { port: b.port, knownHosts: b.knownHostsFile },
      keyPath: a.clientKeys.ed25519.privatePath,
      hashPort,
      lib,
      kexAlgs: KEX,
      encryptionAlgs: CIPHERS,
    }),
  };
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', join(HERE, 'forward-bench-client.ts')], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: ((msg: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.shift()?.(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not ours
    }
  });
  const next = (what: string): Promise<Record<string, unknown>> => withTimeout(new Promise((r) => lines.push(r)), 30_000, `client child ${what}`);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await Promise.race([next('start'), exited.then(() => null)]);
  if (ready === null) throw new Error('client child exited before its forwards listened');
  return {
    lib: String(ready.lib),
    direct: Number(ready.direct),
    tunnelled: Number(ready.tunnelled),
    cpuMs: async () => {
      const p = next('cpu');
      child.stdin!.write('cpu\n');
      return Number((await p).cpuMs);
    },
    stop: async () => {
      child.stdin!.end('stop\n');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

interface Path {
  key: string;
  port: number;
  /** CPU ms of the client so far. */
  clientCpu: () => Promise<number>;
}

export async function runForwardBench(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const bytes = Math.round(numFlag(flags, 'mib', 128)) * 1024 * 1024;
  const reps = Math.max(1, Math.round(numFlag(flags, 'reps', numFlag(flags, 'runs', 5))));
  const lib = String(flags.get('lib') ?? 'auto');
  if (!['auto', 'dist', 'src'].includes(lib)) throw new RangeError(`--lib: expected auto, dist or src, got ${lib}`);
  // --base=DIR: a second fleetssh client from another build (e.g. `cp -r dist /tmp/base`), for before/after in one run.
  const base = typeof flags.get('base') === 'string' ? join(String(flags.get('base')), 'src/index.js') : null;
  const profileDir = typeof flags.get('profile') === 'string' ? String(flags.get('profile')) : null;
  const only = typeof flags.get('paths') === 'string' ? String(flags.get('paths')).split(',') : null;
  const dirs = typeof flags.get('dirs') === 'string' ? String(flags.get('dirs')).split(',') : ['up'];
  if (dirs.some((d) => d !== 'up' && d !== 'down')) throw new RangeError(`--dirs: expected up and/or down, got ${String(flags.get('dirs'))}`);
  const digest = digestOf(bytes);
  const load = [loadavg()[0]!];
  const [a, b] = await Promise.all([startSshd({ hostKeys: ['ed25519'] }), startSshd({ hostKeys: ['ed25519'] })]);
  const hash = await startHashServer();
  const dir = makeTempDir('fleetssh-fwd-bench-');
  const config = writeConfig(dir, a, b);
  const children: ChildProcess[] = [];
  let ours: ClientChild | null = null;
  let theirs: ClientChild | null = null;
  const mbs = new Map<string, number[]>();
  const clientMsPerMB = new Map<string, number[]>();
  const pathMsPerMB = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, v: number): void => void m.set(k, [...(m.get(k) ?? []), v]);
  try {
    ours = await startClientChild(a, b, hash.port, lib, profileDir);
    const sshDirect = await startOpenSshForward(config, false, hash.port);
    const sshJump = await startOpenSshForward(config, true, hash.port);
    children.push(sshDirect.child, sshJump.child);
    if (base) theirs = await startClientChild(a, b, hash.port, base, null);
    const child = ours;
    const baseChild = theirs;
    const sshCpu = (c: ChildProcess) => async (): Promise<number> => treeCpuMs(c.pid!);
    const all: Path[] = [
      { key: 'fleetssh/direct', port: ours.direct, clientCpu: () => child.cpuMs() },
      { key: 'openssh/direct', port: sshDirect.port, clientCpu: sshCpu(sshDirect.child) },
      { key: 'fleetssh/tunnelled', port: ours.tunnelled, clientCpu: () => child.cpuMs() },
      { key: 'openssh/tunnelled', port: sshJump.port, clientCpu: sshCpu(sshJump.child) },
      ...(baseChild
        ? [
            { key: 'fleetssh-base/direct', port: baseChild.direct, clientCpu: () => baseChild.cpuMs() },
            { key: 'fleetssh-base/tunnelled', port: baseChild.tunnelled, clientCpu: () => baseChild.cpuMs() },
          ]
        : []),
    ];
    const paths = all.filter((p) => only === null || only.includes(p.key));
    const warm = 16 * 1024 * 1024;
    for (const p of paths) await timedUpload(p.port, warm, digestOf(warm));
    const mb = bytes / 1e6;
    for (let i = 0; i < reps; i++) {
      for (const dir of dirs) {
        for (let j = 0; j < paths.length; j++) {
          const p = paths[(i + j) % paths.length]!;
          const k = `${dir}:${p.key}`;
          const [c0, a0, b0] = [await p.clientCpu(), treeCpuMs(a.pid), treeCpuMs(b.pid)];
          add(mbs, k, dir === 'up' ? await timedUpload(p.port, bytes, digest) : await timedDownload(p.port, bytes, () => hash.sent));
          const [c1, a1, b1] = [await p.clientCpu(), treeCpuMs(a.pid), treeCpuMs(b.pid)];
          add(clientMsPerMB, k, (c1 - c0) / mb);
          add(pathMsPerMB, k, (c1 - c0 + (a1 - a0) + (b1 - b0)) / mb);
        }
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await ours?.stop();
    await theirs?.stop();
    await hash.close();
    await Promise.all([a.stop(), b.stop()]);
    removeTempDir(dir);
  }
  load.push(loadavg()[0]!);
  const rows: Row[] = [];
  const med = (m: Map<string, number[]>, k: string): number => median(m.get(k) ?? []);
  const params = { mib: bytes / 1024 / 1024, reps, lib: ours.lib };
  for (const dir of dirs) {
    for (const impl of ['fleetssh', 'fleetssh-base', 'openssh']) {
      const key = (shape: string): string => `${dir}:${impl}/${shape}`;
      for (const shape of ['direct', 'tunnelled']) {
        const k = key(shape);
        if (!mbs.has(k)) continue;
        rows.push(emit({ bench: 'forward', impl, params: { dir, shape, ...params }, value: round(med(mbs, k)), unit: 'MB/s' }));
        rows.push(emit({ bench: 'forward-cpu', impl, params: { dir, shape, side: 'client' }, value: round(med(clientMsPerMB, k), 2), unit: 'ms/MB' }));
        rows.push(emit({ bench: 'forward-cpu', impl, params: { dir, shape, side: 'client+sshds' }, value: round(med(pathMsPerMB, k), 2), unit: 'ms/MB' }));
      }
      if (!mbs.has(key('tunnelled')) || !mbs.has(key('direct'))) continue;
      const perRep = (mbs.get(key('tunnelled')) ?? []).map((t, i) => t / (mbs.get(key('direct')) ?? [])[i]!);
      rows.push(emit({ bench: 'forward', impl, params: { dir, shape: 'tunnelled/direct', of: 'medians' }, value: round(med(mbs, key('tunnelled')) / med(mbs, key('direct')), 2), unit: 'ratio' }));
      rows.push(emit({ bench: 'forward', impl, params: { dir, shape: 'tunnelled/direct', of: 'worst rep' }, value: round(Math.min(...perRep), 2), unit: 'ratio' }));
      // What the ratio would be if throughput were set by total CPU alone (client + both sshds per MB).
      rows.push(emit({ bench: 'forward', impl, params: { dir, shape: 'direct/tunnelled', of: 'path CPU per MB' }, value: round(med(pathMsPerMB, key('direct')) / med(pathMsPerMB, key('tunnelled')), 2), unit: 'ratio' }));
    }
  }
  printTable(`forward: hashed transfers through a local port forward (MB/s higher is better, ms/MB lower); load average ${load.map((l) => l.toFixed(2)).join(' -> ')}`, rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runForwardBench(process.argv.slice(2));
}
