/**
 * Child process of `fleetssh demo` (and of the fleet tests): starts N
 * embedded fleetssh servers on 127.0.X.Y that behave like small Linux hosts,
 * a few of them badly (see demo-plan.ts), reports them to the parent over
 * IPC ({type: 'ready', hosts}) and stops on {type: 'stop'} or disconnect.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../actors/server.js';
import type { SSHServerProcess } from '../actors/server-process.js';
import { generatePrivateKey, type SSHKey } from '../crypto/keys/ssh-key.js';
import { demoAddress, demoBehaviour, demoName, type DemoBehaviour, type DemoHost, type DemoMix } from './demo-plan.js';
import { runShell } from './demo-shell.js';

interface Started {
  host: DemoHost;
  close(): Promise<void>;
}

function netListen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 511 }, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function closeNet(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port on `host` that nothing listens on (for 'refuse'). */
async function closedPort(host: string, wanted: number): Promise<number> {
  if (wanted > 0) return wanted;
  const s = createServer();
  const port = await netListen(s, host, 0);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function serveProcess(proc: SSHServerProcess, i: number, behaviour: DemoBehaviour, mix: DemoMix, drop: () => void): void {
  const closed = new Promise<void>((resolve) => proc.stdin.once('close', () => resolve()));
  const hostname = demoName(i);
  const slowMs = behaviour === 'slow' ? (mix === 'demo' ? 1000 + (i % 3) * 1000 : 300) : 0;
  const ctx = { hostname, username: proc.username, index: i, stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr, delayMs: slowMs, closed };
  const command = proc.command ?? 'sh';
  void (async () => {
    if (behaviour === 'hang') return void (await closed);
    if (behaviour === 'drop') {
      proc.stdout.write(`${hostname}: starting ${command.slice(0, 40)}\n`);
      setTimeout(drop, 50);
      return;
    }
    const status = await runShell(command, ctx);
    if (status === null) return;
    if (behaviour === 'fail') {
      proc.stderr.write(`${hostname}: simulated failure: No space left on device\n`);
      return proc.exit(1);
    }
    proc.exit(status);
  })().catch(() => proc.close());
}

async function startHost(i: number, mix: DemoMix, base: number, wantedPort: number, key: SSHKey, sftpRoot?: string): Promise<Started> {
  const addr = demoAddress(i, base);
  const behaviour = demoBehaviour(i, mix);
  const host = (port: number): DemoHost => ({ name: demoName(i), host: addr, port, behaviour });
  if (behaviour === 'refuse') return { host: host(await closedPort(addr, wantedPort)), close: async () => undefined };
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  if (behaviour === 'silent' || behaviour === 'stall-handshake') {
    const server = createServer((s) => {
      track(s);
      if (behaviour === 'stall-handshake') s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
      s.resume();
    });
    const port = await listenWithFallback((p) => netListen(server, addr, p), wantedPort);
    return { host: host(port), close: () => closeNet(server, sockets) };
  }
  // Hosts that drop mid-command keep their raw sockets so they can cut them.
  let ssh: SSHServer | null = null;
  const drop = (): void => {
    for (const s of sockets) s.destroy();
  };
  const chroot = sftpRoot === undefined ? undefined : join(sftpRoot, demoName(i));
  if (chroot !== undefined) mkdirSync(chroot, { recursive: true });
  const options = {
    serverHostKeys: [key],
    handler: { beginAuth: () => false },
    processFactory: (proc: SSHServerProcess) => serveProcess(proc, i, behaviour, mix, drop),
    ...(chroot !== undefined ? { sftpFactory: { chroot } } : {}),
  };
  if (behaviour !== 'drop') {
    const port = await listenWithFallback(async (p) => {
      ssh = await listen({ host: addr, port: p, ...options });
      return ssh.port;
    }, wantedPort);
    return { host: host(port), close: () => ssh!.close() };
  }
  ssh = await listen({ host: addr, port: 0, ...options });
  const front = createServer((s) => {
    track(s);
    s.setNoDelay(true);
    ssh!.handleSocket(s, s.remoteAddress, s.remotePort);
  });
  const port = await listenWithFallback((p) => netListen(front, addr, p), wantedPort);
  return {
    host: host(port),
    close: async () => {
      await closeNet(front, sockets);
      await ssh!.close();
    },
  };
}

async function listenWithFallback(bind: (port: number) => Promise<number>, wanted: number): Promise<number> {
  try {
    return await bind(wanted);
  } catch (err) {
    if (wanted !== 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') return bind(0);
    throw err;
  }
}

async function mainChild(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { count: { type: 'string' }, port: { type: 'string' }, mix: { type: 'string' }, base: { type: 'string' }, 'sftp-root': { type: 'string' } },
  });
  const count = Number(values.count ?? 200);
  const port = Number(values.port ?? 0);
  const base = Number(values.base ?? 1);
  const mix: DemoMix = values.mix === 'test' || values.mix === 'bench' ? values.mix : 'demo';
  const key = generatePrivateKey('ssh-ed25519');
  const started: Started[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => startHost(i + k, mix, base, port, key, values['sftp-root'])));
    started.push(...batch);
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.race([Promise.all(started.map((s) => s.close().catch(() => undefined))), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(0);
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.send?.({ type: 'ready', hosts: started.map((s) => s.host) });
}

mainChild().catch((err: unknown) => {
  process.send?.({ type: 'failed', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
