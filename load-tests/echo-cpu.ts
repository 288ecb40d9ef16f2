/**
 * Client CPU per 1-byte echo round trip (through `cat` against OpenSSH sshd),
 * the in-process figure behind latency.ts: on a busy machine the wall-clock
 * round trip is mostly scheduling, while the client's own CPU per round trip
 * (`process.cpuUsage()`, all threads) still separates two builds. Three
 * passes, implementations interleaved in the order given, 300 unrecorded
 * echoes on each connection first.
 *
 *   node --import tsx load-tests/echo-cpu.ts before=/work/base4/dist/src after=dist/src ssh2 [--n=3000] [--cipher=NAME]
 */
import { startSshd } from '../test/helpers/openssh.js';
import { median, numFlag, parseFlags } from './common.js';
import { loadFleetssh, openFleetssh, openImpl, type Target } from './peers.js';

const BYTE = Buffer.from('x');
const { names, flags } = parseFlags(process.argv.slice(2));
const n = Math.round(numFlag(flags, 'n', 3000));
const cipher = typeof flags.get('cipher') === 'string' ? String(flags.get('cipher')) : 'aes128-gcm@openssh.com';
const sshd = await startSshd({ hostKeys: ['ed25519'], config: { LogLevel: 'INFO' } });
const t: Target = { host: '127.0.0.1', port: sshd.port, username: 'root', keyPath: sshd.clientKeys.ed25519.privatePath, knownHostsFile: sshd.knownHostsFile };
try {
  for (let pass = 0; pass < 3; pass++) {
    for (const a of names) {
      const eq = a.indexOf('=');
      const label = eq < 0 ? a : a.slice(0, eq);
      const spec = { kex: 'curve25519-sha256', cipher };
      const conn = eq < 0 ? await openImpl(a as 'ssh2', t, spec) : await openFleetssh(t, spec, await loadFleetssh(a.slice(eq + 1)));
      const p = await conn.exec('cat');
      let waiter: (() => void) | null = null;
      p.stdout.on('data', () => {
        const w = waiter;
        waiter = null;
        w?.();
      });
      const rtt = (): Promise<void> =>
        new Promise<void>((resolve) => {
          waiter = resolve;
          p.stdin.write(BYTE);
        });
      for (let i = 0; i < 300; i++) await rtt();
      const samples: number[] = [];
      const c0 = process.cpuUsage();
      const deadline = performance.now() + 60_000;
      for (let i = 0; i < n && performance.now() < deadline; i++) {
        const t0 = performance.now();
        await rtt();
        samples.push((performance.now() - t0) * 1000);
      }
      const c = process.cpuUsage(c0);
      const k = samples.length;
      console.log(JSON.stringify({ bench: 'echo-cpu', impl: label, params: { cipher, pass, rtts: k, medianUs: Math.round(median(samples)), userUs: Math.round(c.user / k), sysUs: Math.round(c.system / k) }, value: Number(((c.user + c.system) / k).toFixed(1)), unit: 'us/rtt' }));
      p.stdin.end();
      await p.done;
      await conn.close();
    }
  }
} finally {
  await sshd.stop();
}
