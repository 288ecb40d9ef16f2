/**
 * AsyncSSH's lower-level server API: `sessionFactory` returns a session object
 * whose callbacks see each request and each chunk of data, instead of the
 * stream-based process that `processFactory` receives. Built on the same
 * session machinery: the session object talks to a small channel facade.
 */
import type { SSHServerProcess } from './server-process.js';

/** What a session object can do with its channel (AsyncSSH's SSHServerChannel, in short). */
export interface SSHServerSessionChannel {
  write(data: string | Uint8Array): void;
  writeStderr(data: string | Uint8Array): void;
  writeEof(): void;
  exit(status: number): void;
  exitWithSignal(signal: string, coreDumped?: boolean, message?: string): void;
  close(): void;
  readonly username: string;
  readonly env: Record<string, string>;
  readonly termType: string | null;
  readonly termSize: readonly number[] | null;
}

/** Callbacks of a server session; all optional. A *Requested method returning false refuses that request. */
export interface SSHServerSession {
  connectionMade?(channel: SSHServerSessionChannel): void;
  shellRequested?(): boolean | void;
  execRequested?(command: string): boolean | void;
  subsystemRequested?(subsystem: string): boolean | void;
  sessionStarted?(): void;
  dataReceived?(data: string | Uint8Array, datatype: number | null): void;
  eofReceived?(): void;
  terminalSizeChanged?(cols: number, rows: number, widthPx: number, heightPx: number): void;
  signalReceived?(signal: string): void;
  breakReceived?(msec: number): void;
  connectionLost?(err: Error | null): void;
}

export type SessionFactory = (process: SSHServerProcess) => SSHServerSession;

/** A processFactory that drives a session object. */
export function sessionFactoryAdapter(factory: SessionFactory): (process: SSHServerProcess) => void {
  return (proc) => {
    const session = factory(proc);
    const channel: SSHServerSessionChannel = {
      write: (d) => void proc.stdout.write(d),
      writeStderr: (d) => void proc.stderr.write(d),
      writeEof: () => void proc.stdout.end(),
      exit: (status) => proc.exit(status),
      exitWithSignal: (signal, coreDumped, message) => proc.exitWithSignal(signal, coreDumped, message),
      close: () => proc.close(),
      username: proc.username,
      env: proc.env,
      termType: proc.termType,
      termSize: proc.termSize,
    };
    session.connectionMade?.(channel);
    const accepted =
      proc.subsystem !== null
        ? session.subsystemRequested?.(proc.subsystem)
        : proc.command !== null
          ? session.execRequested?.(proc.command)
          : session.shellRequested?.();
    if (accepted === false || accepted === undefined) {
      // Not handled by the session object: as AsyncSSH, an unhandled request is refused.
      proc.stderr.write(proc.subsystem !== null ? `subsystem ${proc.subsystem} refused\n` : 'request refused\n');
      proc.exit(1);
      return;
    }
    proc.on('terminalSizeChanged', (c: number, r: number, w: number, h: number) => session.terminalSizeChanged?.(c, r, w, h));
    proc.on('signal', (s: string) => session.signalReceived?.(s));
    proc.on('break', (ms: number) => session.breakReceived?.(ms));
    proc.on('close', () => session.connectionLost?.(null));
    proc.stdin.on('data', (d: string | Uint8Array) => session.dataReceived?.(d, null));
    proc.stdin.on('end', () => session.eofReceived?.());
    session.sessionStarted?.();
  };
}
