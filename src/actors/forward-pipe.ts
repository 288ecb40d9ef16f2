/**
 * Joins a local socket and a forwarding channel in both directions with
 * backpressure and half-close (an EOF one way leaves the other way flowing),
 * and the listener objects returned by the forward* calls.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { SSHForwardChannel } from './forward-channel.js';

/** Pipes `local` <-> `chan`; each side's end becomes the other's EOF; resets tear down both. */
export function pipeForward(local: Duplex, chan: SSHForwardChannel): void {
  local.pipe(chan);
  chan.pipe(local);
  const destroyLocal = (): void => {
    if (local.destroyed) return;
    const s = local as Duplex & { destroySoon?: () => void };
    // Output still buffered toward the local peer is written first.
    if (typeof s.destroySoon === 'function') s.destroySoon();
    else local.end(() => local.destroy());
  };
  chan.once('channelClose', () => {
    if (chan.readableEnded) destroyLocal();
    else chan.once('end', destroyLocal);
  });
  chan.on('error', () => local.destroy());
  local.on('error', () => chan.destroy());
  local.once('close', () => {
    // A local side that ended cleanly has its EOF queued behind its data; else it was reset.
    if (!chan.writableEnded) chan.destroy();
  });
}

/** A local TCP connection with half-close allowed, resolved once connected. */
export function dialTcp(host: string, port: number): Promise<Socket> {
  return dial({ host, port });
}

export function dialUnix(path: string): Promise<Socket> {
  return dial({ path });
}

function dial(target: { host: string; port: number } | { path: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ ...target, allowHalfOpen: true, noDelay: true });
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** What every forward* call returns. */
export interface SSHListener {
  /** The bound TCP port (0 for a UNIX socket listener). */
  readonly port: number;
  /** The socket path of a UNIX listener, else null. */
  readonly path: string | null;
  close(): Promise<void>;
  waitClosed(): Promise<void>;
}

/**
 * A local listener (TCP or UNIX) whose accepted sockets go to `onSocket`.
 * Closing it stops accepting; connections already forwarded keep running.
 */
export class LocalListener extends EventEmitter implements SSHListener {
  private closing: Promise<void> | null = null;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly server: Server,
    readonly path: string | null,
  ) {
    super();
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  static async listen(where: { host: string; port: number } | { path: string }, onSocket: (sock: Socket) => void): Promise<LocalListener> {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
      sock.on('error', () => undefined); // reported through the pipe's teardown
      onSocket(sock);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if ('path' in where) server.listen(where.path, done);
      else server.listen(where.port, where.host === '' || where.host === '*' ? undefined : where.host, done);
    });
    server.on('error', () => undefined);
    return new LocalListener(server, 'path' in where ? where.path : null);
  }

  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? (a as AddressInfo).port : 0;
  }

  /** Stops accepting (at once: net.Server's own close waits for every accepted socket). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close();
      if (this.path !== null) {
        try {
          unlinkSync(this.path);
        } catch {
          // already gone
        }
      }
      // Let the close reach the event loop, so a new connect is refused once we resolve.
      setImmediate(() => {
        this.resolveClosed();
        resolve();
      });
    });
    return this.closing;
  }

  waitClosed(): Promise<void> {
    return this.closedPromise;
  }
}
