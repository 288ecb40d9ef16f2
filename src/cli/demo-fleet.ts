/** Starts the demo hosts child process and hands back its host list. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DemoHost, DemoMix } from './demo-plan.js';

export interface DemoFleet {
  hosts: DemoHost[];
  pid: number;
  stop(): Promise<void>;
}

/** `sftpRoot`: each host also serves SFTP, chrooted to `<sftpRoot>/<host name>` (the fleet put bench). */
export function startDemoHosts(options: { count: number; port?: number; mix?: DemoMix; base?: number; readyTimeoutMs?: number; sftpRoot?: string }): Promise<DemoFleet> {
  // Same extension as this module: .ts under tsx, .js once compiled.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const script = fileURLToPath(new URL(`./demo-hosts${ext}`, import.meta.url));
  const child: ChildProcess = fork(
    script,
    ['--count', String(options.count), '--port', String(options.port ?? 0), '--mix', options.mix ?? 'demo', '--base', String(options.base ?? 1),
      ...(options.sftpRoot ? ['--sftp-root', options.sftpRoot] : [])],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: process.execArgv },
  );
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (child.connected) child.send({ type: 'stop' });
      else child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error('demo hosts did not start in time'));
    }, options.readyTimeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo hosts exited early (status ${code})`));
    });
    child.on('message', (m: { type?: string; hosts?: DemoHost[]; message?: string }) => {
      if (m.type === 'ready' && m.hosts) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ hosts: m.hosts, pid: child.pid ?? 0, stop });
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`demo hosts failed: ${m.message}`));
      }
    });
  });
}
