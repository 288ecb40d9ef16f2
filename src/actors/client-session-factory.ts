/**
 * AsyncSSH's callback style for client sessions: `createSession(factory,
 * command)` makes a session object whose methods see the channel's data,
 * EOF, exit status and close, the client-side mirror of the server's
 * `sessionFactory`. Built on the channel's streams and events.
 */
import { ExtendedData } from '../protocol/messages.js';
import type { SSHClientChannel } from './client-session.js';
import type { ExitSignal } from './session-wire.js';

/** Callbacks of a client session; all optional. Write with channel.stdin (end() = EOF). */
export interface SSHClientSession {
  connectionMade?(channel: SSHClientChannel): void;
  /** The command, shell or subsystem was accepted. */
  sessionStarted?(): void;
  /** `datatype` is null for stdout and ExtendedData.STDERR (1) for stderr. */
  dataReceived?(data: string | Buffer, datatype: number | null): void;
  eofReceived?(): void;
  exitStatusReceived?(status: number): void;
  exitSignalReceived?(signal: string, coreDumped: boolean, message: string, lang: string): void;
  /** The channel closed: null when cleanly, else the error (a callback's throw included). */
  connectionLost?(err: Error | null): void;
}

/**
 * Feeds `session` from `channel`. A callback that throws closes the channel,
 * and its error is what connectionLost receives.
 */
export function attachClientSession(channel: SSHClientChannel, session: SSHClientSession): void {
  let failure: Error | null = null;
  const guard = (fn: () => void): void => {
    if (failure) return;
    try {
      fn();
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      void channel.close();
    }
  };
  guard(() => session.connectionMade?.(channel));
  guard(() => session.sessionStarted?.());
  channel.stdout.on('data', (d: string | Buffer) => guard(() => session.dataReceived?.(d, null)));
  channel.stderr.on('data', (d: string | Buffer) => guard(() => session.dataReceived?.(d, ExtendedData.STDERR)));
  channel.on('eof', () => guard(() => session.eofReceived?.()));
  channel.on('exitStatus', (s: number) => guard(() => session.exitStatusReceived?.(s)));
  channel.on('exitSignal', (s: ExitSignal) => guard(() => session.exitSignalReceived?.(s.signal, s.coreDumped, s.message, s.lang)));
  const drained = (r: NodeJS.ReadableStream): Promise<void> =>
    new Promise((resolve) => {
      r.once('end', resolve);
      r.once('close', resolve);
    });
  // After the last data: both streams have delivered what they held.
  void Promise.all([channel.waitClosed(), drained(channel.stdout), drained(channel.stderr)]).then(() => {
    const err = failure ?? channel.closeError;
    failure = null;
    guard(() => session.connectionLost?.(err));
  });
}
