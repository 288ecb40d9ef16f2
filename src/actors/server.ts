/**
 * The server API: listen(options) -> SSHServer. Each accepted socket becomes
 * one connection actor; a hostile or broken client ends only its own
 * connection, and close() ends the listener and every connection.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SSHCore, type AuthMethodName } from '../protocol/core.js';
import { OpenFailure } from '../protocol/messages.js';
import { TimeoutError } from '../protocol/errors.js';
import { createTransportCrypto } from '../crypto/transport-crypto.js';
import { chooseGexGroup } from '../crypto/dh-groups.js';
import { SSHKey } from '../crypto/keys/ssh-key.js';
import { ConnectionActor } from './connection-actor.js';
import { withSftp, type SFTPFactory } from './sftp-connect.js';
import { isScpCommand, withScp, type ScpFactory } from './scp-server.js';
import { sessionFactoryAdapter, type SessionFactory } from './server-session-factory.js';
import { checkFunction, checkPositive, checkSignal, checkSoftwareVersion, DEFAULT_SOFTWARE_VERSION, resolveAlgorithms, type AlgorithmOptions } from './client-options.js';
import { loadAuthorizedKeys, loadPrivateKeys, loadPublicKeys } from './key-files.js';
import { acquireWorkRunner, releaseWorkRunner } from './work-runner.js';
import { checkX11Options, type ServerX11Options } from './x11-server.js';
import { ServerSession, type SSHServerProcess } from './server-process.js';
import { serverDecide, type ServerAuthHandler, type ServerAuthConfig } from './server-auth.js';
import { certificateOptionOf, certificatePermissionOf, createAuthState, keyOptionOf, keyPermissionOf, readAuthorizedKeys, type ServerAuthState } from './server-auth.js';
import type { KeyPermission } from '../protocol/authorized-keys.js';
import { certificatePermissions } from '../protocol/certificate-validation.js';
import { ServerForwarding, type ServerForwardHandler, type ServerForwardOptions } from './forward-server.js';
import { extraInfo } from './extra-info.js';
import type { LineEditorOptions } from './line-editor.js';
import { abort, disconnect, setKeepalive } from './connection-control.js';
import { sendDebug } from './debug-message.js';
import { openForwardedTcpip } from './server-open-connection.js';
import type { SSHForwardChannel } from './forward-channel.js';

export type { ServerAuthHandler } from './server-auth.js';

export interface ServerHandler extends ServerAuthHandler, ServerForwardHandler<SSHServerConnection> {
  /** Return false to refuse a session channel. */
  sessionRequested?(conn: SSHServerConnection): boolean | Promise<boolean>;
}

export interface ListenOptions extends AlgorithmOptions, ServerForwardOptions, ServerX11Options {
  host?: string;
  port?: number;
  /** Host keys or private key file paths (required). */
  serverHostKeys: readonly (SSHKey | string)[];
  passphrase?: string;
  /** authorized_keys path or a list of public keys accepted for every user. */
  authorizedClientKeys?: string | readonly SSHKey[];
  /** username -> password accepted by the default password check. */
  passwords?: Record<string, string>;
  handler?: ServerHandler;
  processFactory?: (process: SSHServerProcess) => unknown;
  /** CA keys (SSHKey objects or public key file paths) trusted to sign user certificates for any user, as sshd's TrustedUserCAKeys. */
  trustedUserCaKeys?: readonly (SSHKey | string)[];
  /** Keys (or public key files) whose certificates are refused: the certified key or the CA, as sshd's RevokedKeys. */
  revokedKeys?: readonly (SSHKey | string)[];
  /** AsyncSSH's lower-level alternative to processFactory: a session object with per-request and per-data callbacks. */
  sessionFactory?: SessionFactory;
  /** Serve `scp -t`/`scp -f` through the SFTP file layer: true (the local file system) or SFTP server options (e.g. `chroot`). */
  allowScp?: boolean | ScpFactory;
  /** Serve the `sftp` subsystem: true (the local file system), SFTPServer options (e.g. `chroot`), or a per-session function. */
  sftpFactory?: SFTPFactory;
  /** Accept agent forwarding requests: sessions get `proc.agentPath` (default false). */
  agentForwarding?: boolean;
  /** Milliseconds allowed from accept to successful authentication (default 120 000). */
  loginTimeout?: number;
  maxAuthTries?: number;
  banner?: string;
  windowSize?: number;
  maxPacketSize?: number;
  encoding?: BufferEncoding | null;
  signal?: AbortSignal;
  /** Our software version in the version line, "SSH-2.0-<serverVersion>" (default fleetssh_0.1). */
  serverVersion?: string;
  /** Milliseconds between keepalive requests to each authenticated client; 0 = off (default). */
  keepaliveInterval?: number;
  /** Unanswered keepalives before a client is declared lost (default 3). */
  keepaliveCountMax?: number;
  /**
   * Edit input lines on the server for sessions with a pty (AsyncSSH's
   * line_editor): true or {historySize, maxLineLength}; false passes keys
   * through. Default on, as AsyncSSH: pty sessions read whole edited lines
   * and their "\n" reaches the terminal as "\r\n".
   */
  lineEditor?: boolean | LineEditorOptions;
  /** false refuses pseudo-terminal requests (sshd PermitTTY no); default true. */
  allowPty?: boolean;
  /** TCP keepalive probes (SO_KEEPALIVE) on accepted sockets (default off). */
  tcpKeepalive?: boolean;
  /** The listen queue length (net.Server listen backlog). */
  backlog?: number;
}

/** One accepted client connection (server side). */
export class SSHServerConnection extends EventEmitter {
  /** @internal */
  constructor(
    readonly actor: ConnectionActor,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
    /** Our version line, e.g. "SSH-2.0-fleetssh_0.1". */
    readonly serverVersion: string | null = null,
  ) {
    super();
    // The client's SSH_MSG_DEBUG text (AsyncSSH's debug_msg_received) and requests it refused.
    actor.on('debug', (message: string) => this.emit('debug', message));
  }

  get username(): string | null {
    return this.actor.username;
  }

  get clientVersion(): string | null {
    return this.actor.core.remoteVersion;
  }

  /** @internal The authorized_keys entry the client logged in with (server-auth.ts). */
  authState: ServerAuthState | null = null;

  /** An option of the authorized_keys entry the client's key matched (AsyncSSH get_key_option); `fallback` when unset. */
  getKeyOption(name: string, fallback?: unknown): unknown {
    return keyOptionOf(this.authState, name, fallback);
  }

  /** Whether that entry allows pty, port-forwarding, agent-forwarding, x11-forwarding or user-rc (no entry = yes). */
  checkKeyPermission(permission: KeyPermission): boolean {
    return keyPermissionOf(this.authState, permission);
  }

  /**
   * An option of the user certificate the client logged in with (AsyncSSH's
   * get_certificate_option): 'force-command' (string), 'source-address'
   * (CIDR strings), an extension such as 'permit-pty' (true); `fallback`
   * without a certificate or when unset.
   */
  getCertificateOption(name: string, fallback?: unknown): unknown {
    return certificateOptionOf(this.authState, name, fallback);
  }

  /** Whether that certificate has permit-<permission> ('pty', 'port-forwarding', 'agent-forwarding', 'x11-forwarding', 'user-rc'); true without one. */
  checkCertificatePermission(permission: string): boolean {
    return certificatePermissionOf(this.authState, permission);
  }

  /**
   * This connection's authorized client keys, replacing the server's
   * `authorizedClientKeys` (AsyncSSH's set_authorized_keys): an
   * authorized_keys file (its options are enforced) or a list of keys. Meant
   * for `beginAuth(username, conn)`; await it there.
   */
  async setAuthorizedKeys(keys: string | readonly SSHKey[]): Promise<void> {
    if (typeof keys === 'string') {
      this.authState!.authorized = { keys: null, file: await readAuthorizedKeys(keys) };
      return;
    }
    if (!Array.isArray(keys) || keys.some((k) => !(k instanceof SSHKey))) throw new TypeError('keys: expected an authorized_keys file path or a list of SSHKey objects');
    this.authState!.authorized = { keys: [...keys], file: null };
  }

  /**
   * Sends a userauth banner (AsyncSSH's send_auth_banner), e.g. from
   * beginAuth; ignored once authentication is over (RFC 4252 §5.4).
   */
  sendAuthBanner(message: string, lang = ''): void {
    if (typeof message !== 'string') throw new TypeError('message: expected a string');
    this.actor.post(() => {
      if (!this.actor.closed && !this.actor.isAuthenticated) this.actor.core.sendAuthBanner?.(message, lang);
    });
  }

  /** The negotiated algorithms of the current keys (null before the first key exchange). */
  get algorithms(): Record<string, string> | null {
    return this.actor.algorithms;
  }

  /** As SSHClientConnection.getExtraInfo; 'peername' is the client's address. */
  getExtraInfo(name: string, fallback?: unknown): unknown {
    const peer = extraInfo({ role: 'server', socket: this.actor.socket, localVersion: this.serverVersion, remoteVersion: this.clientVersion, username: this.username, algorithms: this.algorithms }, name, fallback);
    // Over handleSocket() the stream may not be a socket: the address given there answers.
    if (peer === fallback && name === 'peername' && this.remoteAddress !== undefined) return [this.remoteAddress, this.remotePort ?? 0];
    return peer;
  }

  /** Changes (or, with 0, stops) keepalives to this client. */
  setKeepalive(intervalMs: number, countMax = 3): void {
    setKeepalive(this.actor, intervalMs, countMax);
  }

  /**
   * A forwarded-tcpip channel to the client, as a Duplex (AsyncSSH's
   * SSHServerConnection.open_connection): `listenHost`/`listenPort` must name
   * a remote forward the client asked for (ssh -R, forwardRemotePort), or the
   * client refuses it (ChannelOpenError); `origHost`/`origPort` say where the
   * connection came from. After authentication only.
   */
  openConnection(listenHost: string, listenPort: number, origHost = '', origPort = 0): Promise<SSHForwardChannel> {
    return openForwardedTcpip(this.actor, listenHost, listenPort, origHost, origPort);
  }

  /** As openConnection, handing the stream to `factory` (AsyncSSH's create_connection); resolves with [stream, factory's result]. */
  async createConnection<T>(factory: (stream: SSHForwardChannel) => T, listenHost: string, listenPort: number, origHost = '', origPort = 0): Promise<[SSHForwardChannel, T]> {
    if (typeof factory !== 'function') throw new TypeError('factory: expected a function');
    const stream = await this.openConnection(listenHost, listenPort, origHost, origPort);
    return [stream, factory(stream)];
  }

  /** Sends SSH_MSG_DEBUG (AsyncSSH's send_debug); ssh shows it with -v, or always with alwaysDisplay. */
  sendDebug(message: string, lang = '', alwaysDisplay = false): void {
    sendDebug(this.actor, message, lang, alwaysDisplay);
  }

  /** Closes with a chosen disconnect reason (see DisconnectReason) and description. */
  disconnect(reason: number, description = ''): Promise<void> {
    return disconnect(this.actor, reason, description);
  }

  /** Drops the connection at once, without a disconnect message. */
  abort(): Promise<void> {
    return abort(this.actor);
  }

  close(): Promise<void> {
    return this.actor.close().then(() => undefined);
  }
}

export class SSHServer extends EventEmitter {
  private readonly connections = new Set<SSHServerConnection>();
  private closing: Promise<void> | null = null;

  /** @internal */
  constructor(private readonly server: Server, private readonly accept: (sock: Duplex, addr?: string, port?: number) => SSHServerConnection) {
    super();
    server.on('connection', (sock: Socket) => this.handleSocket(sock, sock.remoteAddress, sock.remotePort));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Runs the SSH server side over an existing byte stream (e.g. a forwarded channel). */
  handleSocket(sock: Duplex, remoteAddress?: string, remotePort?: number): SSHServerConnection {
    if (this.closing) {
      sock.destroy();
      throw new Error('server is closed');
    }
    const conn = this.accept(sock, remoteAddress, remotePort);
    this.connections.add(conn);
    conn.actor.once('close', (err: Error | null) => {
      this.connections.delete(conn);
      conn.emit('close', err);
      this.emit('connectionClosed', conn, err);
    });
    this.emit('connection', conn);
    return conn;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([...this.connections].map((c) => c.close()));
      await stopped;
      this.emit('close');
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkListenOptions(o: ListenOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (!Array.isArray(o.serverHostKeys) || o.serverHostKeys.length === 0) throw new TypeError('serverHostKeys: at least one host key (SSHKey or path) is required');
  if (o.host !== undefined && typeof o.host !== 'string') throw new TypeError('host: expected a string');
  checkPositive('port', o.port, { integer: true, allowZero: true, max: 65535 });
  checkPositive('loginTimeout', o.loginTimeout, { allowZero: true });
  checkPositive('maxAuthTries', o.maxAuthTries, { integer: true });
  checkPositive('windowSize', o.windowSize, { integer: true, max: 0xffffffff });
  checkPositive('maxPacketSize', o.maxPacketSize, { integer: true, max: 0xffffffff });
  checkPositive('rekeyBytes', o.rekeyBytes, { integer: true });
  checkPositive('rekeySeconds', o.rekeySeconds, { allowZero: true });
  checkFunction('processFactory', o.processFactory);
  if (o.handler !== undefined && (typeof o.handler !== 'object' || o.handler === null)) throw new TypeError('handler: expected an object');
  if (o.passwords !== undefined && (typeof o.passwords !== 'object' || o.passwords === null)) throw new TypeError('passwords: expected an object of username -> password');
  checkSignal(o.signal);
  checkX11Options(o);
  checkSoftwareVersion('serverVersion', o.serverVersion);
  checkPositive('keepaliveInterval', o.keepaliveInterval, { allowZero: true });
  checkPositive('keepaliveCountMax', o.keepaliveCountMax, { integer: true });
  checkPositive('backlog', o.backlog, { integer: true });
  if (o.allowPty !== undefined && typeof o.allowPty !== 'boolean') throw new TypeError('allowPty: expected a boolean');
  if (o.tcpKeepalive !== undefined && typeof o.tcpKeepalive !== 'boolean') throw new TypeError('tcpKeepalive: expected a boolean');
}

type Acceptor = (sock: Duplex, addr?: string, port?: number) => SSHServerConnection;

/** Loads keys and returns what runs the server side of one connection over a byte stream. */
export async function makeServerAcceptor(options: ListenOptions, owner: () => EventEmitter | null): Promise<Acceptor> {
  const algs = resolveAlgorithms(options, 'serverHostKeyAlgs');
  const hostKeys = (await loadPrivateKeys('serverHostKeys', options.serverHostKeys, options.passphrase)).map((k) => k.toSigningKeyRef());
  const authorized = await loadAuthorizedKeys(options.authorizedClientKeys);
  // An authorized_keys file: its per-key options are enforced (server-auth.ts, server-process.ts).
  const authorizedFile = typeof options.authorizedClientKeys === 'string' ? await readAuthorizedKeys(options.authorizedClientKeys) : null;
  const handler = options.handler ?? {};
  const trustedUserCaKeys = (await loadPublicKeys('trustedUserCaKeys', options.trustedUserCaKeys ?? [])).map((k) => k.publicBlob);
  const revokedKeys = (await loadPublicKeys('revokedKeys', options.revokedKeys ?? [])).map((k) => k.publicBlob);
  const auth: ServerAuthConfig = { handler, passwords: options.passwords ?? null, authorizedKeys: authorized, authorizedFile, trustedUserCaKeys, revokedKeys };
  const methods: AuthMethodName[] = [];
  if (handler.validatePublicKey || authorized || trustedUserCaKeys.length > 0) methods.push('publickey');
  if (handler.getKbdintChallenge) methods.push('keyboard-interactive');
  if (handler.validatePassword || options.passwords) methods.push('password');
  const loginTimeout = options.loginTimeout ?? 120_000;

  const server = { emit: (...args: [string, ...unknown[]]) => owner()?.emit(...args) };
  // scp -t / scp -f (allowScp) and the sftp subsystem (sftpFactory) are served
  // before the application's processFactory sees a session.
  if (options.sessionFactory !== undefined && options.processFactory !== undefined) throw new TypeError('sessionFactory: give either processFactory or sessionFactory, not both');
  const appFactory = options.sessionFactory !== undefined ? sessionFactoryAdapter(options.sessionFactory) : options.processFactory;
  const withScpToo = options.allowScp !== undefined && options.allowScp !== false ? withScp(options.allowScp, appFactory) : appFactory;
  const processFactory = options.sftpFactory !== undefined ? withSftp(options.sftpFactory, withScpToo) : withScpToo;
  const scpBinary = options.allowScp !== undefined && options.allowScp !== false;
  return (sock: Duplex, addr?: string, rport?: number): SSHServerConnection => {
    const core = new SSHCore({
      role: 'server',
      crypto: createTransportCrypto(),
      ...algs,
      publicKeyAlgs: algs.signatureAlgs,
      chooseGexGroup,
      hostKeys,
      rekeyBytes: options.rekeyBytes,
      rekeySeconds: options.rekeySeconds,
      maxAuthTries: options.maxAuthTries,
      authMethods: methods,
      banner: options.banner,
      windowSize: options.windowSize,
      maxPacketSize: options.maxPacketSize,
      softwareVersion: options.serverVersion ?? DEFAULT_SOFTWARE_VERSION,
    });
    let conn: SSHServerConnection | null = null;
    const authState = createAuthState(addr);
    let forwarding: ServerForwarding<SSHServerConnection> | null = null;
    const actor: ConnectionActor = new ConnectionActor(sock, core, {
      work: acquireWorkRunner(),
      hooks: {
        decide: (request) => serverDecide(auth, request, authState),
        globalRequest: (name, _wantReply, data) => forwarding?.globalRequest(name, data) ?? false,
        channelOpenRequest: (id, channelType, typeData) => {
          if (forwarding?.handlesChannel(channelType)) return forwarding.channelOpen(id, channelType, typeData);
          if (channelType !== 'session') {
            actor.core.connection.rejectChannel(id, OpenFailure.UNKNOWN_CHANNEL_TYPE, `unsupported channel type ${channelType}`);
            return;
          }
          const open = (ok: boolean): void =>
            actor.channelCall(() => {
              if (!ok) return actor.core.connection.rejectChannel(id, OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'session refused');
              const session = new ServerSession(actor, id, {
                processFactory,
                encoding: options.encoding,
                binary: scpBinary ? (p) => isScpCommand(p.command) : undefined,
                username: actor.username ?? '',
                keyEntry: authState.matched,
                certForceCommand: authState.certForceCommand,
                certPermissions: authState.certificate ? certificatePermissions(authState.certificate) : undefined,
                agentForwarding: options.agentForwarding === true,
                allowPty: options.allowPty,
                lineEditor: options.lineEditor,
                x11: options,
                onHandlerError: (err) => server?.emit('handlerError', err, conn),
              });
              session.process.connection = conn;
              actor.acceptChannel(id, session);
            });
          if (!handler.sessionRequested) return open(true);
          Promise.resolve()
            .then(() => handler.sessionRequested!(conn!))
            .then((ok) => open(ok !== false), () => open(false));
        },
      },
      authTimeout: loginTimeout > 0 ? { ms: loginTimeout, error: () => new TimeoutError(`login timeout after ${loginTimeout} ms`) } : undefined,
      keepaliveInterval: options.keepaliveInterval,
      keepaliveCountMax: options.keepaliveCountMax,
    });
    actor.once('close', () => releaseWorkRunner());
    conn = new SSHServerConnection(actor, addr, rport, `SSH-2.0-${options.serverVersion ?? DEFAULT_SOFTWARE_VERSION}`);
    conn.authState = authState;
    authState.connection = conn;
    forwarding = new ServerForwarding(actor, handler, options, () => conn!);
    actor.start();
    return conn;
  };
}

/** Starts an SSH server; resolves once it is listening. */
export async function listen(options: ListenOptions): Promise<SSHServer> {
  checkListenOptions(options);
  const { signal } = options;
  signal?.throwIfAborted();
  let server: SSHServer | null = null;
  const accept = await makeServerAcceptor(options, () => server);
  const net = createServer({ noDelay: true, keepAlive: options.tcpKeepalive === true });
  server = new SSHServer(net, accept);
  net.on('error', (err) => {
    if (server!.listenerCount('error') > 0) server!.emit('error', err);
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', backlog: options.backlog }, () => {
      net.off('error', reject);
      resolve();
    });
  });
  signal?.addEventListener('abort', () => void server!.close(), { once: true });
  return server;
}


