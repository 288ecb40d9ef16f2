/**
 * Reverse-direction connections, as AsyncSSH's connect_reverse/listen_reverse:
 * the SSH *server* dials out (a host behind NAT reaching its controller) and
 * the SSH *client* listens. Only who opens the TCP connection changes; the
 * SSH roles, handshake and authentication are the usual ones.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ConnectionLost } from '../protocol/errors.js';
import { connect, type ConnectOptions, type SSHClientConnection } from './client.js';
import { makeServerAcceptor, type ListenOptions, type SSHServerConnection } from './server.js';

/** Dials host:port and runs the SSH server side there; resolves once the client authenticated. */
export async function connectReverse(host: string, port: number, options: Omit<ListenOptions, 'host' | 'port'>): Promise<SSHServerConnection> {
  if (typeof host !== 'string' || host === '') throw new TypeError('host: expected a host name or address');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError('port: expected a port number 1..65535');
  if (!Array.isArray(options?.serverHostKeys) || options.serverHostKeys.length === 0) throw new TypeError('serverHostKeys: at least one host key (SSHKey or path) is required');
  const accept = await makeServerAcceptor(options as ListenOptions, () => null);
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host, port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const conn = accept(sock, sock.remoteAddress, sock.remotePort);
  await new Promise<void>((resolve, reject) => {
    const onAuth = (): void => {
      conn.actor.off('close', onClose);
      resolve();
    };
    const onClose = (err: Error | null): void => {
      conn.actor.off('authenticated', onAuth);
      reject(err ?? new ConnectionLost('connection closed before authentication'));
    };
    conn.actor.once('authenticated', onAuth);
    conn.actor.once('close', onClose);
  });
  return conn;
}

export interface ListenReverseOptions extends Omit<ConnectOptions, 'sock' | 'tunnel'> {
  host?: string;
  port?: number;
  /** Called with each SSH client connection made over an accepted socket. */
  onConnection?: (conn: SSHClientConnection) => void;
}

/**
 * A listener whose accepted sockets each become an SSH client connection
 * ('connection' event, or onConnection); failed handshakes emit 'error'
 * when someone listens for it.
 */
export class SSHReverseListener extends EventEmitter {
  private readonly conns = new Set<SSHClientConnection>();

  /** @internal */
  constructor(private readonly server: Server) {
    super();
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** @internal */
  track(conn: SSHClientConnection): void {
    this.conns.add(conn);
    conn.once('close', () => this.conns.delete(conn));
  }

  /** Stops listening and closes the connections made through it. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    await Promise.all([...this.conns].map((c) => c.close()));
    await stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Listens for SSH servers dialing in; each becomes an authenticated client connection. */
export async function listenReverse(options: ListenReverseOptions): Promise<SSHReverseListener> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  if (options.onConnection !== undefined && typeof options.onConnection !== 'function') throw new TypeError('onConnection: expected a function');
  const { host, port, onConnection, ...clientOptions } = options;
  const server = createServer({ noDelay: true });
  const listener = new SSHReverseListener(server);
  server.on('connection', (sock: Socket) => {
    connect(sock.remoteAddress ?? 'reverse', { ...clientOptions, sock }).then(
      (conn) => {
        listener.track(conn);
        onConnection?.(conn);
        listener.emit('connection', conn);
      },
      (err: unknown) => {
        if (listener.listenerCount('error') > 0) listener.emit('error', err);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return listener;
}
