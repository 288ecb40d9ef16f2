/**
 * One SFTP transfer in its own process, for sftp-ssh-bench.ts:
 *   sftp-ssh-client.ts fleetssh|ssh2 get|put <from> <to> --port=N --key=PATH --known=PATH
 * Connects (curve25519, aes128-gcm), times only the transfer, and prints
 * {"seconds": s, "peakMiB": VmHWM of this process, "baseMiB": RSS once
 * connected, before the transfer, "peak": the largest heapUsed/external/
 * arrayBuffers sampled every 20 ms during the transfer (MiB), "cpuMs": user +
 * system CPU of the whole process (all threads) during the transfer,
 * "threadMs": the same split by thread name, "boxMs": busy CPU of the whole
 * machine (both cores, sshd and sftp-server included) during the transfer}.
 * With --dist, fleetssh comes from the compiled build (dist/, `npm run build`);
 * with --lib=DIR from another compiled tree (a copy of dist/ taken before a change);
 * --max-requests / --max-files / --block-size set the transfer's options (defaults otherwise).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Client as Ssh2Client, type SFTPWrapper } from 'ssh2';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { boxBusyMs, parseFlags, ROOT } from './common.js';

const { names, flags } = parseFlags(process.argv.slice(2));
const [impl, op, from, to] = names as [string, 'get' | 'put', string, string];
const port = Number(flags.get('port'));
const keyPath = String(flags.get('key'));
const known = String(flags.get('known'));
const lib = flags.get('lib') ? String(flags.get('lib')) : flags.has('dist') ? join(ROOT, 'dist') : null;
const src = lib !== null ? (p: string): string => pathToFileURL(join(lib, p.replace(/\.ts$/, '.js'))).href : (p: string): string => pathToFileURL(join(ROOT, p)).href;
const { connect } = (await import(src('src/actors/client.ts'))) as typeof import('../src/actors/client.js');
const { importPrivateKey } = (await import(src('src/crypto/keys/ssh-key.ts'))) as typeof import('../src/crypto/keys/ssh-key.js');

function statusMiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

/** CPU ms (user + system) of each thread of this process, by thread name (main, libuv-worker, V8 ...). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 1000 / 100; // USER_HZ
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try { stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'); } catch { continue; }
    const close = stat.lastIndexOf(')');
    const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, close).replace(/[^A-Za-z_-].*$/, '');
    const f = stat.slice(close + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * tick);
  }
  return out;
}

let box0 = 0;
let boxMs = -1;
let baseMiB = -1;
let threads0: Map<string, number> | null = null;
const threadMs: Record<string, number> = {};
let cpu0: NodeJS.CpuUsage | null = null;
let cpuMs = -1;
const peak = { heapUsed: 0, external: 0, arrayBuffers: 0 };
/** Starts sampling memory; call once connected, just before the transfer. */
function startSampling(): () => void {
  baseMiB = statusMiB('VmRSS');
  threads0 = threadCpu();
  box0 = boxBusyMs();
  cpu0 = process.cpuUsage();
  const sample = (): void => {
    const m = process.memoryUsage();
    for (const k of ['heapUsed', 'external', 'arrayBuffers'] as const) peak[k] = Math.max(peak[k], m[k]);
  };
  const t = setInterval(sample, 20);
  return () => {
    sample();
    clearInterval(t);
    boxMs = boxBusyMs() - box0;
    const c = process.cpuUsage(cpu0 ?? undefined);
    cpuMs = Math.round((c.user + c.system) / 1000);
    for (const [name, ms] of threadCpu()) {
      const d = ms - (threads0?.get(name) ?? 0);
      if (d > 0) threadMs[name] = d;
    }
  };
}

async function fleetssh(): Promise<number> {
  const conn = await connect('127.0.0.1', {
    port, username: 'root', clientKeys: [importPrivateKey(readFileSync(keyPath, 'utf8'))], knownHosts: known,
    kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'], agentPath: null, config: null,
  });
  const sftp = await conn.startSftpClient();
  const recurse = op === 'put' ? statSync(from).isDirectory() : await sftp.isdir(from);
  const stop = startSampling();
  const t0 = process.hrtime.bigint();
  const opts = {
    recurse,
    ...(flags.get('max-requests') ? { maxRequests: Number(flags.get('max-requests')) } : {}),
    ...(flags.get('max-files') ? { maxFiles: Number(flags.get('max-files')) } : {}),
    ...(flags.get('block-size') ? { blockSize: Number(flags.get('block-size')) } : {}),
  };
  if (op === 'get') await sftp.get(from, to, opts);
  else await sftp.put(from, to, opts);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  stop();
  sftp.exit();
  conn.close();
  return secs;
}

function ssh2(): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = new Ssh2Client();
    c.once('error', reject);
    c.once('ready', () => {
      c.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) return reject(err);
        const stop = startSampling();
        const t0 = process.hrtime.bigint();
        const done = (e?: Error | null): void => {
          if (e) return reject(e);
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          stop();
          c.end();
          resolve(secs);
        };
        if (op === 'get') sftp.fastGet(from, to, {}, done);
        else sftp.fastPut(from, to, {}, done);
      });
    });
    c.connect({
      host: '127.0.0.1', port, username: 'root', privateKey: readFileSync(keyPath),
      algorithms: { kex: ['curve25519-sha256'], cipher: ['aes128-gcm@openssh.com'] } as never, readyTimeout: 20_000,
    });
  });
}

const seconds = impl === 'ssh2' ? await ssh2() : await fleetssh(); // fleetssh or fleetssh-base (--lib)
const mib = (n: number): number => Math.round(n / 104857.6) / 10;
console.log(JSON.stringify({ seconds, cpuMs, peakMiB: statusMiB('VmHWM'), baseMiB, threadMs, boxMs, peak: { heapUsed: mib(peak.heapUsed), external: mib(peak.external), arrayBuffers: mib(peak.arrayBuffers) } }));
process.exit(0);
