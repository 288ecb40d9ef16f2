/**
 * Glue between SSH connections and the stream-based SFTP client/server:
 * `startSftpClient(conn)` opens a session channel running the `sftp`
 * subsystem and starts an SFTPClient on it; `withSftp(sftpFactory,
 * processFactory)` builds a server processFactory that serves the `sftp`
 * subsystem with an SFTPServer and hands every other request on.
 *
 * Intended wiring (owned by the connection engineer): in client.ts,
 * `startSftpClient(): Promise<SFTPClient> { return startSftpClient(this) }`;
 * in server.ts, a `sftpFactory?: SFTPFactory` option and, when set,
 * `processFactory = withSftp(options.sftpFactory, options.processFactory)`.
 */
import type { SSHClientChannel, SessionOptions } from './client-session.js';
import type { SSHServerProcess } from './server-process.js';
import { SFTPClient } from './sftp-client.js';
import { SFTPServer, type SFTPServerOptions } from './sftp-server.js';

/** What `createSession` needs from a connection. */
export interface SessionOpener {
  createSession(command: string | null, options?: SessionOptions): Promise<SSHClientChannel>;
}

/** Opens the `sftp` subsystem on a new session channel and starts a client on it. */
export async function startSftpClient(conn: SessionOpener): Promise<SFTPClient> {
  const channel = await conn.createSession(null, { subsystem: 'sftp', encoding: null });
  let client: SFTPClient;
  try {
    client = await SFTPClient.start({ readable: channel.stdout, writable: channel.stdin });
  } catch (e) {
    await channel.close().catch(() => undefined);
    throw e;
  }
  // When the client exits (stdin ended), close the channel once the server has answered with EOF/close.
  void client.waitClosed().then(() => channel.close().catch(() => undefined));
  return client;
}

/**
 * `true`: serve the local file system as the process sees it; options: an
 * SFTPServer configured with them (chroot, fs overrides, limits); a function:
 * called per session with the server process (its `username`, `env`) to
 * return the options or an SFTPServer.
 */
export type SFTPFactory = true | SFTPServerOptions | ((process: SSHServerProcess) => SFTPServerOptions | SFTPServer | Promise<SFTPServerOptions | SFTPServer>);

type ProcessFactory = (process: SSHServerProcess) => unknown;

/** A processFactory that serves the `sftp` subsystem and passes everything else to `next`. */
export function withSftp(factory: SFTPFactory, next?: ProcessFactory): ProcessFactory {
  return async (proc: SSHServerProcess) => {
    if (proc.subsystem !== 'sftp') {
      if (next) return next(proc);
      proc.stderr.write(proc.subsystem !== null ? `subsystem ${proc.subsystem} not available\n` : 'only the sftp subsystem is available\n');
      proc.exit(1);
      return;
    }
    let server: SFTPServer;
    if (factory === true) server = new SFTPServer();
    else if (typeof factory === 'function') {
      const made = await factory(proc);
      server = made instanceof SFTPServer ? made : new SFTPServer(made);
    } else server = new SFTPServer(factory);
    await server.serve({ readable: proc.stdin, writable: proc.stdout });
    proc.exit(0);
  };
}
