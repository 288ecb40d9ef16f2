/**
 * The client side of forwarding for one connection: outgoing direct-tcpip and
 * direct-streamlocal channels, remote listeners (tcpip-forward and
 * streamlocal-forward) whose forwarded-* channels come back here, the
 * local/remote port and path forwards built on them, and SOCKS. Incoming
 * forwarded channels that match no listener we asked for are refused.
 * Everything is closed when the connection closes.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { OpenFailure } from '../protocol/messages.js';
import { ChannelListenError, ConnectionLost } from '../protocol/errors.js';
import { decodeForwardPort, encodeTcpipForward } from '../protocol/global-requests.js';
import { decodeTcpipChannelData, encodeTcpipChannelData } from '../protocol/session-requests.js';
import type { ConnectionActor } from './connection-actor.js';
import { acceptForwardChannel, openForwardChannel, type ForwardChannelInfo, type SSHForwardChannel } from './forward-channel.js';
import { dialTcp, dialUnix, LocalListener, pipeForward, type SSHListener } from './forward-pipe.js';
import {
  CANCEL_STREAMLOCAL_FORWARD,
  DIRECT_STREAMLOCAL,
  FORWARDED_STREAMLOCAL,
  STREAMLOCAL_FORWARD,
  decodeForwardedStreamlocal,
  encodeDirectStreamlocal,
  encodeStreamlocalForward,
} from '../protocol/streamlocal.js';
import { serveSocks } from './socks-server.js';

/** Receives each connection a remote listener accepted, as a stream. */
export type ForwardedConnectionHandler = (stream: SSHForwardChannel, info: ForwardChannelInfo) => void;

/** Decides on one incoming forwarded channel: a function that takes the accepted stream, or null to refuse. */
type Acceptor = (info: ForwardChannelInfo) => Promise<((chan: SSHForwardChannel) => void) | null>;

interface RemoteEntry {
  accept: Acceptor;
  listener: RemoteListener;
}

/** A listener on the server side of the connection (tcpip-forward / streamlocal-forward). */
export class RemoteListener implements SSHListener {
  private closing: Promise<void> | null = null;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  /** @internal */
  constructor(
    private readonly owner: ClientForwarding,
    readonly listenHost: string,
    readonly port: number,
    readonly path: string | null,
  ) {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** Cancels the forward on the server; connections already forwarded keep running. */
  close(): Promise<void> {
    this.closing ??= this.owner.cancelRemote(this).finally(() => this.resolveClosed());
    return this.closing;
  }

  waitClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** @internal the connection is gone. */
  gone(): void {
    this.closing ??= Promise.resolve();
    this.resolveClosed();
  }
}

function checkHost(name: string, v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a host name or address`);
  return v;
}

function checkPort(name: string, v: unknown, allowZero: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) {
    throw new RangeError(`${name}: expected a port number ${allowZero ? '0' : '1'}..65535`);
  }
  return v;
}

function checkPath(name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new TypeError(`${name}: expected a socket path`);
  return v;
}

export class ClientForwarding {
  private readonly remote = new Map<string, RemoteEntry>();
  private readonly locals = new Set<LocalListener>();
  /** tcpip-forward requests sent and not yet answered (their port may still be unknown). */
  private pendingRemote = 0;
  /** Handles incoming x11 channels when X11 forwarding was requested. */
  x11Handler: ((id: number, typeData: Uint8Array) => void) | null = null;

  constructor(private readonly actor: ConnectionActor) {
    actor.once('close', () => {
      for (const l of this.locals) void l.close();
      this.locals.clear();
      for (const e of this.remote.values()) e.listener.gone();
      this.remote.clear();
    });
  }

  /**
   * Whether this connection's TCP socket keeps the process alive (net.Socket
   * ref/unref). A shared jump host with no user left is unref'd while it
   * lingers (tunnel.ts). No effect on a connection that runs over a channel.
   */
  keepProcessAlive(on: boolean): void {
    const s = this.actor.socket as Duplex & { ref?: () => unknown; unref?: () => unknown };
    if (on) s.ref?.();
    else s.unref?.();
  }

  // ---- outgoing channels ----------------------------------------------------

  /** A direct-tcpip channel to destHost:destPort as seen from the server. */
  openConnection(destHost: string, destPort: number, origHost = '127.0.0.1', origPort = 0): Promise<SSHForwardChannel> {
    checkHost('destHost', destHost);
    checkPort('destPort', destPort, false);
    checkHost('origHost', origHost);
    checkPort('origPort', origPort, true);
    const typeData = encodeTcpipChannelData({ host: destHost, port: destPort, originatorAddress: origHost, originatorPort: origPort });
    return openForwardChannel(this.actor, 'direct-tcpip', typeData, { channelType: 'direct-tcpip', destHost, destPort, origHost, origPort });
  }

  /** A direct-streamlocal@openssh.com channel to a UNIX socket on the server. */
  openUnixConnection(destPath: string): Promise<SSHForwardChannel> {
    checkPath('destPath', destPath);
    const info = { channelType: DIRECT_STREAMLOCAL, destHost: destPath, destPort: 0, origHost: '', origPort: 0 };
    return openForwardChannel(this.actor, DIRECT_STREAMLOCAL, encodeDirectStreamlocal(destPath), info);
  }

  // ---- remote listeners -------------------------------------------------------

  /** Asks the server to listen on listenHost:listenPort (0 = any port); connections go to `handler`. */
  startServer(handler: ForwardedConnectionHandler, listenHost: string, listenPort: number): Promise<RemoteListener> {
    if (typeof handler !== 'function') throw new TypeError('handler: expected a function');
    return this.listenRemoteTcp(listenHost, listenPort, async (info) => (chan) => handler(chan, info));
  }

  /** Asks the server to listen on a UNIX socket path; connections go to `handler`. */
  startUnixServer(handler: ForwardedConnectionHandler, listenPath: string): Promise<RemoteListener> {
    if (typeof handler !== 'function') throw new TypeError('handler: expected a function');
    return this.listenRemoteUnix(listenPath, async (info) => (chan) => handler(chan, info));
  }

  private async listenRemoteTcp(listenHost: string, listenPort: number, accept: Acceptor): Promise<RemoteListener> {
    checkHost('listenHost', listenHost);
    checkPort('listenPort', listenPort, true);
    this.pendingRemote++;
    let reply: { ok: boolean; data?: Uint8Array };
    try {
      reply = await this.actor.globalRequest('tcpip-forward', true, encodeTcpipForward({ address: listenHost, port: listenPort }));
    } finally {
      this.pendingRemote--;
    }
    if (!reply.ok) throw new ChannelListenError(`remote listener on ${listenHost}:${listenPort} refused by the server`);
    const port = listenPort === 0 ? decodeForwardPort(reply.data ?? new Uint8Array(0)) : listenPort;
    const listener = new RemoteListener(this, listenHost, port, null);
    this.remote.set(`tcp:${port}`, { accept, listener });
    return listener;
  }

  private async listenRemoteUnix(listenPath: string, accept: Acceptor): Promise<RemoteListener> {
    checkPath('listenPath', listenPath);
    const listener = new RemoteListener(this, '', 0, listenPath);
    // Registered first: the server may connect back before we see its reply.
    this.remote.set(`unix:${listenPath}`, { accept, listener });
    const reply = await this.actor.globalRequest(STREAMLOCAL_FORWARD, true, encodeStreamlocalForward(listenPath)).catch((e: Error) => {
      this.remote.delete(`unix:${listenPath}`);
      throw e;
    });
    if (!reply.ok) {
      this.remote.delete(`unix:${listenPath}`);
      throw new ChannelListenError(`remote listener on ${listenPath} refused by the server`);
    }
    return listener;
  }

  /** @internal */
  async cancelRemote(l: RemoteListener): Promise<void> {
    const key = l.path !== null ? `unix:${l.path}` : `tcp:${l.port}`;
    if (this.remote.get(key)?.listener !== l) return;
    this.remote.delete(key);
    if (this.actor.closed) return;
    const req =
      l.path !== null
        ? this.actor.globalRequest(CANCEL_STREAMLOCAL_FORWARD, true, encodeStreamlocalForward(l.path))
        : this.actor.globalRequest('cancel-tcpip-forward', true, encodeTcpipForward({ address: l.listenHost, port: l.port }));
    await req.catch(() => undefined);
  }

  // ---- forwards ---------------------------------------------------------------

  private async listenLocal(where: { host: string; port: number } | { path: string }, open: (sock: Socket) => Promise<SSHForwardChannel>): Promise<SSHListener> {
    if (this.actor.closed) throw this.actor.error ?? new ConnectionLost('connection closed');
    const listener = await LocalListener.listen(where, (sock) => {
      open(sock).then(
        (chan) => pipeForward(sock, chan),
        () => sock.destroy(),
      );
    });
    this.locals.add(listener);
    void listener.waitClosed().then(() => this.locals.delete(listener));
    if (this.actor.closed) void listener.close();
    return listener;
  }

  forwardLocalPort(listenHost: string, listenPort: number, destHost: string, destPort: number): Promise<SSHListener> {
    checkHost('listenHost', listenHost);
    checkPort('listenPort', listenPort, true);
    checkHost('destHost', destHost);
    checkPort('destPort', destPort, false);
    return this.listenLocal({ host: listenHost, port: listenPort }, (sock) =>
      this.openConnection(destHost, destPort, sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0),
    );
  }

  forwardLocalPortToPath(listenHost: string, listenPort: number, destPath: string): Promise<SSHListener> {
    checkHost('listenHost', listenHost);
    checkPort('listenPort', listenPort, true);
    checkPath('destPath', destPath);
    return this.listenLocal({ host: listenHost, port: listenPort }, () => this.openUnixConnection(destPath));
  }

  forwardLocalPath(listenPath: string, destPath: string): Promise<SSHListener> {
    checkPath('listenPath', listenPath);
    checkPath('destPath', destPath);
    return this.listenLocal({ path: listenPath }, () => this.openUnixConnection(destPath));
  }

  forwardLocalPathToPort(listenPath: string, destHost: string, destPort: number): Promise<SSHListener> {
    checkPath('listenPath', listenPath);
    checkHost('destHost', destHost);
    checkPort('destPort', destPort, false);
    return this.listenLocal({ path: listenPath }, () => this.openConnection(destHost, destPort));
  }

  /** Joins each forwarded channel with a fresh local connection made by `dial`. */
  private dialer(dial: () => Promise<Duplex>): Acceptor {
    return async () => {
      try {
        const local = await dial();
        return (chan) => pipeForward(local, chan);
      } catch {
        return null;
      }
    };
  }

  forwardRemotePort(listenHost: string, listenPort: number, destHost: string, destPort: number): Promise<SSHListener> {
    checkHost('destHost', destHost);
    checkPort('destPort', destPort, false);
    return this.listenRemoteTcp(listenHost, listenPort, this.dialer(() => dialTcp(destHost, destPort)));
  }

  forwardRemotePortToPath(listenHost: string, listenPort: number, destPath: string): Promise<SSHListener> {
    checkPath('destPath', destPath);
    return this.listenRemoteTcp(listenHost, listenPort, this.dialer(() => dialUnix(destPath)));
  }

  forwardRemotePath(listenPath: string, destPath: string): Promise<SSHListener> {
    checkPath('destPath', destPath);
    return this.listenRemoteUnix(listenPath, this.dialer(() => dialUnix(destPath)));
  }

  forwardRemotePathToPort(listenPath: string, destHost: string, destPort: number): Promise<SSHListener> {
    checkHost('destHost', destHost);
    checkPort('destPort', destPort, false);
    return this.listenRemoteUnix(listenPath, this.dialer(() => dialTcp(destHost, destPort)));
  }

  /** A local SOCKS 4/4a/5 listener; each CONNECT becomes a direct-tcpip channel (names resolved by the server). */
  forwardSocks(listenHost: string, listenPort: number): Promise<SSHListener> {
    checkHost('listenHost', listenHost);
    checkPort('listenPort', listenPort, true);
    if (this.actor.closed) return Promise.reject(this.actor.error ?? new ConnectionLost('connection closed'));
    return LocalListener.listen({ host: listenHost, port: listenPort }, (sock) => {
      serveSocks(sock, (host, port) => this.openConnection(host, port, sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0));
    }).then((listener) => {
      this.locals.add(listener);
      void listener.waitClosed().then(() => this.locals.delete(listener));
      return listener;
    });
  }

  // ---- incoming channels (actor context) ---------------------------------------

  channelOpen(id: number, type: string, typeData: Uint8Array, retried = false): void {
    if (type === 'x11' && this.x11Handler) return this.x11Handler(id, typeData);
    let key: string;
    let info: ForwardChannelInfo;
    try {
      if (type === 'forwarded-tcpip') {
        const d = decodeTcpipChannelData(typeData, 'forwarded-tcpip');
        key = `tcp:${d.port}`;
        info = { channelType: type, destHost: d.host, destPort: d.port, origHost: d.originatorAddress, origPort: d.originatorPort };
      } else if (type === FORWARDED_STREAMLOCAL) {
        const path = decodeForwardedStreamlocal(typeData);
        key = `unix:${path}`;
        info = { channelType: type, destHost: path, destPort: 0, origHost: '', origPort: 0 };
      } else {
        return this.actor.core.connection.rejectChannel(id, OpenFailure.UNKNOWN_CHANNEL_TYPE, `unsupported channel type ${type}`);
      }
    } catch (err) {
      return this.actor.core.connection.rejectChannel(id, OpenFailure.CONNECT_FAILED, (err as Error).message);
    }
    const entry = this.remote.get(key);
    if (!entry) {
      // Its port may be in a tcpip-forward reply we have not finished reading.
      if (!retried && this.pendingRemote > 0) {
        setImmediate(() => this.actor.channelCall(() => this.channelOpen(id, type, typeData, true)));
        return;
      }
      return this.actor.core.connection.rejectChannel(id, OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'no such forward requested');
    }
    entry.accept(info).then(
      (attach) =>
        this.actor.channelCall(() => {
          if (!attach) return this.actor.core.connection.rejectChannel(id, OpenFailure.CONNECT_FAILED, 'connect failed');
          attach(acceptForwardChannel(this.actor, id, info));
        }),
      () => this.actor.rejectChannel(id, OpenFailure.CONNECT_FAILED, 'connect failed'),
    );
  }
}
