/**
 * Forwarding throughput, MB/s of a hashed upload (digest returned after EOF)
 * through a local port forward to a loopback hash server, fleetssh vs OpenSSH
 * `ssh -L` on the same path, in two shapes:
 *   direct:    client -> sshd B -> hash server
 *   tunnelled: client -> sshd A -> (direct-tcpip) -> sshd B -> hash server
 *              (fleetssh: connect(B, {tunnel: connA}); OpenSSH: ssh -J A -L ... B)
 * plus the tunnelled/direct ratio per implementation. Runs are interleaved
 * and the median of --runs is reported (curve25519, aes128-gcm everywhere).
 *
 *   node --import tsx load-tests/forward-bench.ts [--mib=128] [--runs=3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type SSHClientConnection } from '../src/actors/client.js';
import { importPrivateKey } from '../src/crypto/keys/ssh-key.js';
import { startSshd, type SshdServer } from '../test/helpers/openssh.js';
import { freePort, makeTempDir, removeTempDir } from '../test/helpers/ssh-client.js';
import { dialTcp, startHashServer, uploadThrough } from '../test/integration/forward-helpers.js';
import { emit, median, numFlag, parseFlags, printTable, round, withTimeout, type Row } from './common.js';

const ALGS = { kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'] };

async function timedUpload(port: number, bytes: number): Promise<number> {
  const t = performance.now();
  const r = await withTimeout(uploadThrough(await dialTcp(port), bytes), 120_000, 'upload');
  if (r.echoed !== r.sent) throw new Error('digest mismatch through the forward');
  return bytes / 1e6 / ((performance.now() - t) / 1000);
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
    '  Ciphers aes128-gcm@openssh.com',
    '  KexAlgorithms curve25519-sha256',
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
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function runForwardBench(argv: readonly string[]): Promise<Row[]> {
  const { flags } = parseFlags(argv);
  const bytes = Math.round(numFlag(flags, 'mib', 128)) * 1024 * 1024;
  const runs = Math.max(1, Math.round(numFlag(flags, 'runs', 3)));
  const [a, b] = await Promise.all([startSshd({ hostKeys: ['ed25519'] }), startSshd({ hostKeys: ['ed25519'] })]);
  const hash = await startHashServer();
  const dir = makeTempDir('fleetssh-fwd-bench-');
  const config = writeConfig(dir, a, b);
  const key = importPrivateKey(readFileSync(a.clientKeys.ed25519.privatePath, 'utf8'));
  const conns: SSHClientConnection[] = [];
  const children: ChildProcess[] = [];
  const samples = new Map<string, number[]>();
  const add = (k: string, v: number): void => void samples.set(k, [...(samples.get(k) ?? []), v]);
  try {
    // fleetssh: direct to B, and to B through a connection to A.
    const direct = await connect('127.0.0.1', { port: b.port, username: 'root', clientKeys: [key], knownHosts: b.knownHostsFile, ...ALGS });
    const bastion = await connect('127.0.0.1', { port: a.port, username: 'root', clientKeys: [key], knownHosts: a.knownHostsFile, ...ALGS });
    const tunnelled = await connect('127.0.0.1', { port: b.port, username: 'root', clientKeys: [key], knownHosts: b.knownHostsFile, tunnel: bastion, ...ALGS });
    conns.push(tunnelled, bastion, direct);
    const ours = {
      direct: (await direct.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', hash.port)).port,
      tunnelled: (await tunnelled.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', hash.port)).port,
    };
    const sshDirect = await startOpenSshForward(config, false, hash.port);
    const sshJump = await startOpenSshForward(config, true, hash.port);
    children.push(sshDirect.child, sshJump.child);
    const paths: [string, number][] = [
      ['fleetssh/direct', ours.direct],
      ['openssh/direct', sshDirect.port],
      ['fleetssh/tunnelled', ours.tunnelled],
      ['openssh/tunnelled', sshJump.port],
    ];
    await timedUpload(ours.direct, 8 * 1024 * 1024); // warm-up
    for (let i = 0; i < runs; i++) for (const [k, port] of paths) add(k, await timedUpload(port, bytes));
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const c of conns) await c.close().catch(() => undefined);
    await hash.close();
    await Promise.all([a.stop(), b.stop()]);
    removeTempDir(dir);
  }
  const rows: Row[] = [];
  const mbs = (k: string): number => median(samples.get(k) ?? [0]);
  for (const impl of ['fleetssh', 'openssh']) {
    for (const shape of ['direct', 'tunnelled']) {
      rows.push(emit({ bench: 'forward', impl, params: { shape, mib: bytes / 1024 / 1024, runs }, value: round(mbs(`${impl}/${shape}`)), unit: 'MB/s' }));
    }
    rows.push(emit({ bench: 'forward', impl, params: { shape: 'tunnelled/direct' }, value: round(mbs(`${impl}/tunnelled`) / mbs(`${impl}/direct`), 2), unit: 'ratio' }));
  }
  printTable('forward: hashed upload through a local port forward (higher is better)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runForwardBench(process.argv.slice(2));
}
