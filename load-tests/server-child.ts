/**
 * A fleetssh server in its own process, for the benchmarks (so client and
 * server each get their own event loop and cores are used fairly).
 * Configuration comes in FLEETSSH_SERVER_ARGS (JSON: hosts, authorizedKeys,
 * kexAlgs). It prints {"listeners":[{host,port}...]} once listening, then
 * answers stdin lines: "cpu" -> {"cpuMs"}, "rss" -> {"rss"}, "stop" -> exits.
 *
 * Commands understood by its processFactory (what the benchmarks send):
 *   true | cat | cat > /dev/null | head -c N /dev/zero
 */
import { createInterface } from 'node:readline';
import { listen, type SSHServer } from '../src/actors/server.js';
import type { SSHServerProcess } from '../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey } from '../src/crypto/keys/ssh-key.js';

interface Args {
  hosts: string[];
  authorizedKeys: string[];
  kexAlgs?: string[];
}

const args = JSON.parse(process.env.FLEETSSH_SERVER_ARGS ?? '{}') as Args;
const ZERO = Buffer.alloc(256 * 1024);

function writeZeros(proc: SSHServerProcess, total: number): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, ZERO.length);
      left -= n;
      if (!proc.stdout.write(n === ZERO.length ? ZERO : ZERO.subarray(0, n))) {
        proc.stdout.once('drain', pump);
        return;
      }
    }
    proc.exit(0);
  };
  pump();
}

function runCommand(proc: SSHServerProcess): void {
  const cmd = (proc.command ?? '').trim();
  const head = /^head -c (\d+) \/dev\/zero$/.exec(cmd);
  if (cmd === 'true') return proc.exit(0);
  if (head) return writeZeros(proc, Number(head[1]));
  if (cmd === 'cat > /dev/null') {
    proc.stdin.on('data', () => undefined);
    proc.stdin.once('end', () => proc.exit(0));
    return;
  }
  if (cmd === 'cat') {
    proc.stdin.pipe(proc.stdout, { end: false });
    proc.stdin.once('end', () => proc.exit(0));
    return;
  }
  proc.stderr.write(`server-child: unknown command ${JSON.stringify(cmd)}\n`);
  proc.exit(127);
}

const hostKey = generatePrivateKey('ssh-ed25519');
const servers: SSHServer[] = [];
for (const host of args.hosts) {
  servers.push(
    await listen({
      host,
      port: 0,
      serverHostKeys: [hostKey],
      authorizedClientKeys: args.authorizedKeys.map((l) => importPublicKey(l)),
      encoding: null,
      ...(args.kexAlgs ? { kexAlgs: args.kexAlgs } : {}),
      processFactory: runCommand,
    }),
  );
}
for (const s of servers) s.on('error', () => undefined);

const cpuAtStart = process.cpuUsage();
console.log(JSON.stringify({ listeners: servers.map((s, i) => ({ host: args.hosts[i], port: s.port })) }));

const rl = createInterface({ input: process.stdin });
const stop = async (): Promise<void> => {
  rl.close();
  await Promise.race([Promise.all(servers.map((s) => s.close())), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(0);
};
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'cpu') {
    const u = process.cpuUsage(cpuAtStart);
    console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000 }));
  } else if (cmd === 'rss') {
    console.log(JSON.stringify({ rss: process.memoryUsage.rss() }));
  } else if (cmd === 'stop') {
    void stop();
  }
});
rl.once('close', () => void stop());
