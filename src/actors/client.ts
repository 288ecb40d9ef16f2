/**
 * The client API: connect(host, options) -> SSHClientConnection, with run,
 * createProcess, createSession/openSession, close and `await using`.
 */
import { EventEmitter } from 'node:events';
import { connectLending } from './lent-reads.js';
import type { Duplex, Readable, Writable } from 'node:stream';
import { SSHCore } from '../protocol/core.js';
import { ConnectionLost, HostKeyNotVerifiable, TimeoutError } from '../protocol/errors.js';
import type { DecisionRequest } from '../protocol/layer.js';
import type { SigningKeyRef } from '../protocol/crypto-api.js';
import { createTransportCrypto } from '../crypto/transport-crypto.js';
import type { SSHKey } from '../crypto/keys/ssh-key.js';
import { ConnectionActor, type ActorHooks } from './connection-actor.js';
import { applyHostKeyPolicy, applySshConfig, certsFromConfig, identitiesFromConfig, checkConnectOptions, DEFAULT_SOFTWARE_VERSION, clientSignatureAlgs, defaultUsername, preferredAuthList, processDefaults, resolveAlgorithms, sessionEnvironment, type ConnectOptions, type KbdintPromptInfo } from './client-options.js';
import { agentFromEnv } from './agent-client.js';
import { AGENT_CHANNEL, refuseAgentChannel, requestAgentForwarding } from './agent-forward.js';
import { fingerprintSha256, loadHostKeyVerifier, type KnownHostsOption, type PresentedHostKey } from './host-key-check.js';
import { isTrustedHostKeys, knownHostsFromKeys } from './known-hosts-match.js';
import { defaultClientKeys, identityBlobs, loadPrivateKeys, pairClientCertificates } from './key-files.js';
import { expandProxyCommand, openProxyCommand } from './proxy-command.js';
import { acquireWorkRunner, releaseWorkRunner } from './work-runner.js';
import { openClientSession, SSHClientChannel, type SessionOptions } from './client-session.js';
import { SSHClientProcess, type CompletedProcess, type WaitOptions } from './client-process.js';
import { checkSource, checkTarget, PIPE, type RedirectSource, type RedirectTarget } from './process-redirect.js';
import { ClientForwarding, type ForwardedConnectionHandler, type RemoteListener } from './forward-client.js';
import type { SSHForwardChannel } from './forward-channel.js';
import type { SSHListener } from './forward-pipe.js';
import { openTunnel, type JumpHop, type TunnelConnection } from './tunnel.js';
import { X11Forwarder } from './x11-forward.js';
import { startSftpClient } from './sftp-connect.js';
import type { SFTPClient } from './sftp-client.js';
import { extraInfo } from './extra-info.js';
import { attachClientSession, type SSHClientSession } from './client-session-factory.js';
import { abort, disconnect, setKeepalive } from './connection-control.js';
import { sendDebug } from './debug-message.js';

export type { ConnectOptions } from './client-options.js';

export interface ProcessOptions extends SessionOptions {
  signal?: AbortSignal;
  /** Where stdin comes from (a file path, a Readable, another process, DEVNULL); default PIPE: written by the caller. */
  stdin?: RedirectSource;
  /** Where stdout goes (a file path, a Writable, another process, DEVNULL); default PIPE: read by the caller. */
  stdout?: RedirectTarget;
  /** As stdout, or STDOUT to merge stderr into stdout. */
  stderr?: RedirectTarget;
  /** End the process's stdin when the stdin source ends (default true). */
  sendEof?: boolean;
  /** End the stdout/stderr targets when the output ends (default true). */
  recvEof?: boolean;
}

export interface RunOptions extends ProcessOptions, WaitOptions {
  /** Written to stdin, then stdin is closed. Without it, stdin is closed at once. */
  input?: string | Uint8Array;
}

/** Stateless (factories and tables): one for every client connection of the process. */
const transportCrypto = createTransportCrypto();

export class SSHClientConnection extends EventEmitter {
  #forwarding: ClientForwarding | null = null;

  /** @internal */
  constructor(
    private readonly actor: ConnectionActor,
    readonly host: string,
    readonly port: number,
    /** Our version line, e.g. "SSH-2.0-fleetssh_0.1". */
    readonly clientVersion: string | null = null,
  ) {
    super();
    actor.on('close', (err: Error | null) => {
      releaseWorkRunner();
      this.emit('close', err);
    });
    // Diagnostics: the server's SSH_MSG_DEBUG text (AsyncSSH's debug_msg_received) and requests the peer refused.
    actor.on('debug', (message: string) => this.emit('debug', message));
  }

  /** @internal The host key the server presented, set during the handshake. */
  presentedHostKey: PresentedHostKey | null = null;

  /** The host key the server authenticated with (AsyncSSH's get_server_host_key): type, blob and SHA256 fingerprint. */
  getServerHostKey(): PresentedHostKey | null {
    return this.presentedHostKey;
  }

  /** @internal forwarding state of this connection (forward-client.ts), made when first used. */
  get forwarding(): ClientForwarding {
    return (this.#forwarding ??= new ClientForwarding(this.actor));
  }

  get username(): string | null {
    return this.actor.username;
  }

  /** The server's version line, e.g. "SSH-2.0-OpenSSH_9.2". */
  get serverVersion(): string | null {
    return this.actor.core.remoteVersion;
  }

  /** The negotiated algorithms of the current keys. */
  get algorithms(): Record<string, string> | null {
    return this.actor.algorithms;
  }

  get closed(): boolean {
    return this.actor.closed;
  }

  /** Completed key exchanges: 1 after the handshake, +1 per re-key. */
  get kexCount(): number {
    return this.actor.kexCount;
  }

  /** The error the connection closed with (null while open or after a clean close). */
  get error(): Error | null {
    return this.actor.error;
  }

  /** @internal Variables sent on every session (options env/sendEnv, ssh_config SetEnv/SendEnv). */
  sessionEnv: Record<string, string> = {};
  /** @internal Connection-wide pty, encoding, subsystem and requestPty defaults of createProcess/run (connect options). */
  processDefaults: ProcessOptions = {};
  /** @internal The command createProcess/run start when they are given none (connect option `command`). */
  defaultCommand: string | null = null;

  /**
   * Opens a session channel running `command` (null = shell); the
   * channel-level API. With a factory first (AsyncSSH's create_session), the
   * session object it makes gets the channel's events as callbacks, and the
   * result is [channel, session].
   */
  createSession(command: string | null, options?: SessionOptions): Promise<SSHClientChannel>;
  createSession<S extends SSHClientSession>(factory: () => S, command: string | null, options?: SessionOptions): Promise<[SSHClientChannel, S]>;
  async createSession<S extends SSHClientSession>(
    first: string | null | (() => S),
    second?: string | null | SessionOptions,
    third?: SessionOptions,
  ): Promise<SSHClientChannel | [SSHClientChannel, S]> {
    if (typeof first === 'function') {
      const session = first();
      if (typeof session !== 'object' || session === null) throw new TypeError('factory: expected a function returning a session object');
      const channel = await this.openSessionChannel(second as string | null, third ?? {});
      attachClientSession(channel, session);
      return [channel, session];
    }
    return this.openSessionChannel(first, (second as SessionOptions | undefined) ?? {});
  }

  private openSessionChannel(command: string | null, options: SessionOptions): Promise<SSHClientChannel> {
    const env = Object.keys(this.sessionEnv).length > 0 ? { ...this.sessionEnv, ...(options.env ?? {}) } : options.env;
    return openClientSession(this.actor, command, env === options.env ? options : { ...options, env });
  }

  /** Starts an SFTP session on this connection (the `sftp` subsystem). */
  startSftpClient(): Promise<SFTPClient> {
    return startSftpClient(this);
  }

  /** As createSession, returning AsyncSSH's (stdin, stdout, stderr) stream triple. */
  async openSession(command: string | null, options: SessionOptions = {}): Promise<{ stdin: Writable; stdout: Readable; stderr: Readable; channel: SSHClientChannel }> {
    const channel = await this.createSession(command, options);
    return { stdin: channel.stdin, stdout: channel.stdout, stderr: channel.stderr, channel };
  }

  /**
   * Starts `command` (null = shell) and returns the process with its streams.
   * Without a command (undefined, or options alone), the connection's
   * `command` option is started, else a shell.
   */
  createProcess(options: ProcessOptions): Promise<SSHClientProcess>;
  createProcess(command?: string | null, options?: ProcessOptions): Promise<SSHClientProcess>;
  async createProcess(first?: string | null | ProcessOptions, second?: ProcessOptions): Promise<SSHClientProcess> {
    let [given, options] = commandAndOptions(first, second);
    const command = given === undefined ? this.defaultCommand : given;
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal: expected an AbortSignal');
    signal?.throwIfAborted();
    for (const [k, v] of Object.entries(this.processDefaults) as [keyof ProcessOptions, never][]) {
      if (options[k] === undefined) options = { ...options, [k]: v };
    }
    const { stdin, stdout, stderr } = options;
    checkSource('stdin', stdin);
    checkTarget('stdout', stdout, false);
    checkTarget('stderr', stderr, true);
    const channel = await this.createSession(command, options);
    const proc = new SSHClientProcess(channel, command, options.encoding === undefined ? 'utf8' : options.encoding, { env: options.env, subsystem: options.subsystem });
    proc.connection = this;
    if (stdin !== undefined || stdout !== undefined || stderr !== undefined) {
      try {
        await proc.redirect(stdin, stdout, stderr, { sendEof: options.sendEof, recvEof: options.recvEof });
      } catch (err) {
        await channel.close();
        throw err;
      }
    }
    if (signal) {
      const onAbort = (): void => void channel.close();
      signal.addEventListener('abort', onAbort, { once: true });
      void channel.waitClosed().then(() => signal.removeEventListener('abort', onAbort));
    }
    return proc;
  }

  /** Runs `command` (or, without one, the connection's `command` option, else a shell) to completion; returns its output and exit status. */
  run(options: RunOptions): Promise<CompletedProcess>;
  run(command?: string | null, options?: RunOptions): Promise<CompletedProcess>;
  async run(first?: string | null | RunOptions, second?: RunOptions): Promise<CompletedProcess> {
    const [command, options] = commandAndOptions(first, second);
    const { input } = options;
    if (input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('input: expected a string or Uint8Array');
    const stdinRedirected = options.stdin !== undefined && options.stdin !== PIPE;
    if (input !== undefined && stdinRedirected) throw new TypeError('input: cannot be combined with a stdin redirect');
    if (options.timeout !== undefined && (typeof options.timeout !== 'number' || !(options.timeout > 0))) {
      throw new RangeError('timeout: expected a positive number of milliseconds');
    }
    const proc = await this.createProcess(command, options);
    const waiting = proc.wait({ check: options.check, timeout: options.timeout, signal: options.signal });
    if (input !== undefined) proc.stdin.end(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.length));
    else if (!stdinRedirected) proc.stdin.end();
    return waiting;
  }

  /** Sends a global request; resolves with the reply (ok, data). */
  globalRequest(name: string, wantReply = true, data: Uint8Array = new Uint8Array(0)): Promise<{ ok: boolean; data?: Uint8Array }> {
    if (typeof name !== 'string' || name === '') throw new TypeError('name: expected a request name');
    return this.actor.globalRequest(name, wantReply, data);
  }

  // ---- forwarding (implemented in forward-client.ts) ------------------------

  /** A direct-tcpip channel to host:port as seen from the server, as a Duplex. */
  openConnection(destHost: string, destPort: number): Promise<SSHForwardChannel> {
    return this.forwarding.openConnection(destHost, destPort);
  }

  /** As openConnection, handing the stream to `factory`; resolves with [stream, factory's result]. */
  async createConnection<T>(factory: (stream: SSHForwardChannel) => T, destHost: string, destPort: number): Promise<[SSHForwardChannel, T]> {
    if (typeof factory !== 'function') throw new TypeError('factory: expected a function');
    const stream = await this.openConnection(destHost, destPort);
    return [stream, factory(stream)];
  }

  /** A direct-streamlocal channel to a UNIX socket on the server. */
  openUnixConnection(destPath: string): Promise<SSHForwardChannel> {
    return this.forwarding.openUnixConnection(destPath);
  }

  /** Asks the server to listen (port 0 = any; see `.port`); each connection goes to `handler`. */
  startServer(handler: ForwardedConnectionHandler, listenHost: string, listenPort: number): Promise<RemoteListener> {
    return this.forwarding.startServer(handler, listenHost, listenPort);
  }

  createServer(handler: ForwardedConnectionHandler, listenHost: string, listenPort: number): Promise<RemoteListener> {
    return this.startServer(handler, listenHost, listenPort);
  }

  startUnixServer(handler: ForwardedConnectionHandler, listenPath: string): Promise<RemoteListener> {
    return this.forwarding.startUnixServer(handler, listenPath);
  }

  createUnixServer(handler: ForwardedConnectionHandler, listenPath: string): Promise<RemoteListener> {
    return this.startUnixServer(handler, listenPath);
  }

  forwardLocalPort(listenHost: string, listenPort: number, destHost: string, destPort: number): Promise<SSHListener> {
    return this.forwarding.forwardLocalPort(listenHost, listenPort, destHost, destPort);
  }

  forwardLocalPortToPath(listenHost: string, listenPort: number, destPath: string): Promise<SSHListener> {
    return this.forwarding.forwardLocalPortToPath(listenHost, listenPort, destPath);
  }

  forwardLocalPath(listenPath: string, destPath: string): Promise<SSHListener> {
    return this.forwarding.forwardLocalPath(listenPath, destPath);
  }

  forwardLocalPathToPort(listenPath: string, destHost: string, destPort: number): Promise<SSHListener> {
    return this.forwarding.forwardLocalPathToPort(listenPath, destHost, destPort);
  }

  forwardRemotePort(listenHost: string, listenPort: number, destHost: string, destPort: number): Promise<SSHListener> {
    return this.forwarding.forwardRemotePort(listenHost, listenPort, destHost, destPort);
  }

  forwardRemotePortToPath(listenHost: string, listenPort: number, destPath: string): Promise<SSHListener> {
    return this.forwarding.forwardRemotePortToPath(listenHost, listenPort, destPath);
  }

  forwardRemotePath(listenPath: string, destPath: string): Promise<SSHListener> {
    return this.forwarding.forwardRemotePath(listenPath, destPath);
  }

  forwardRemotePathToPort(listenPath: string, destHost: string, destPort: number): Promise<SSHListener> {
    return this.forwarding.forwardRemotePathToPort(listenPath, destHost, destPort);
  }

  /** Dynamic forwarding: a local SOCKS 4/4a/5 listener. */
  forwardSocks(listenHost: string, listenPort: number): Promise<SSHListener> {
    return this.forwarding.forwardSocks(listenHost, listenPort);
  }

  // ---- end forwarding ----------------------------------------------------------

  /** Starts a key re-exchange now. */
  rekey(): void {
    this.actor.rekey();
  }

  /**
   * AsyncSSH's get_extra_info: 'peername'/'sockname' ([address, port]),
   * 'clientVersion', 'serverVersion', 'username', 'kex', 'hostKeyAlg',
   * 'sendCipher', 'sendMac', 'sendCompression', 'recvCipher', 'recvMac',
   * 'recvCompression', 'socket'; `fallback` when unknown or unset.
   */
  getExtraInfo(name: string, fallback?: unknown): unknown {
    return extraInfo({ role: 'client', socket: this.actor.socket, localVersion: this.clientVersion, remoteVersion: this.serverVersion, username: this.username, algorithms: this.algorithms }, name, fallback);
  }

  /** Changes (or, with 0, stops) keepalives: every `intervalMs`, giving up after `countMax` unanswered. */
  setKeepalive(intervalMs: number, countMax = 3): void {
    setKeepalive(this.actor, intervalMs, countMax);
  }

  /** Sends SSH_MSG_DEBUG (AsyncSSH's send_debug); the server may log or show it. */
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

  /** Closes the connection; resolves once it is closed. */
  async close(): Promise<void> {
    await this.actor.close();
  }

  /** Resolves once the connection is closed (by either side). */
  async waitClosed(): Promise<void> {
    await this.actor.waitClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The options a decision reads: the prompt handlers, nothing else of the caller's options. */
type AuthAnswers = Pick<ConnectOptions, 'kbdintHandler' | 'password' | 'passwordHandler' | 'passwordChangeHandler' | 'onBanner'>;

/**
 * A client connection's hooks, as prototype methods over the few fields they
 * read: closures made inside connect() would keep its whole scope (the
 * caller's options, the parsed private keys, the agent) alive for the
 * connection's life, which adds up at fan-out.
 */
class ClientHooks implements ActorHooks {
  actor: ConnectionActor | null = null;
  conn: SSHClientConnection | null = null;
  agentChannel: ((id: number) => void) | null = null;
  private answers: AuthAnswers;

  constructor(
    readonly host: string,
    readonly port: number,
    options: ConnectOptions,
    readonly verifier: HostKeyVerifierFn | null,
  ) {
    const { kbdintHandler, password, passwordHandler, passwordChangeHandler, onBanner } = options;
    this.answers = { kbdintHandler, password, passwordHandler, passwordChangeHandler, onBanner };
  }

  decide(request: DecisionRequest): unknown {
    const o = this.answers;
    switch (request.kind) {
      case 'hostKey':
        return this.answerHostKey(String(request.keyType), request.publicBlob as Uint8Array);
      case 'kbdint': {
        const prompts = (request.prompts ?? []) as KbdintPromptInfo[];
        if (o.kbdintHandler) return o.kbdintHandler(String(request.name ?? ''), String(request.instruction ?? ''), prompts);
        // Without a handler, answer a single hidden prompt with the password, as OpenSSH users expect.
        if (o.password !== undefined && prompts.length === 1 && prompts[0]!.echo === false) return [o.password];
        return null;
      }
      case 'password':
        return o.passwordHandler ? o.passwordHandler(String(request.prompt ?? '')) : null;
      case 'passwordChange':
        return o.passwordChangeHandler ? o.passwordChangeHandler(String(request.prompt ?? ''), String(request.lang ?? '')) : null;
      default:
        return null;
    }
  }

  banner(message: string): void {
    this.answers.onBanner?.(message);
  }

  /** Prompts and banners come only before success: the password and handlers are let go. */
  authSuccess(): void {
    this.answers = {};
  }

  channelOpenRequest(id: number, type: string, data: Uint8Array): void {
    if (type !== AGENT_CHANNEL) return this.conn!.forwarding.channelOpen(id, type, data);
    if (this.agentChannel) this.agentChannel(id);
    else refuseAgentChannel(this.actor!, id);
  }

  private async answerHostKey(keyType: string, publicBlob: Uint8Array): Promise<boolean> {
    const fingerprint = fingerprintSha256(publicBlob);
    if (this.conn) this.conn.presentedHostKey = { keyType, publicBlob, fingerprint };
    if (this.verifier === null) return true;
    let ok = false;
    try {
      ok = (await this.verifier(this.host, this.port, { keyType, publicBlob, fingerprint })) === true;
    } catch {
      ok = false;
    }
    if (!ok) {
      this.actor?.abort(new HostKeyNotVerifiable(`host key for ${this.host}:${this.port} not verifiable: ${keyType} ${fingerprint}`, this.host, fingerprint));
    }
    return ok;
  }
}

type HostKeyVerifierFn = (host: string, port: number, key: { keyType: string; publicBlob: Uint8Array; fingerprint: string }) => boolean | Promise<boolean>;

/** The connect-timeout error, made outside connect() so the actor's options do not hold its scope. */
function connectTimeout(host: string, port: number, ms: number): { ms: number; error: () => Error } {
  return { ms, error: () => new TimeoutError(`connect to ${host}:${port} timed out after ${ms} ms`) };
}

/** Connects, performs the handshake and authenticates. */
export async function connect(host: string, options: ConnectOptions = {}): Promise<SSHClientConnection> {
  checkConnectOptions(host, options);
  // Key lists (AsyncSSH's known_hosts tuple) become known_hosts entries for any host.
  if (isTrustedHostKeys(options.knownHosts)) options = { ...options, knownHosts: knownHostsFromKeys(options.knownHosts) };
  const originalHost = host;
  // ssh_config (option `config`): the host to dial, and the options the caller left out.
  ({ host, options } = applySshConfig(host, options));
  options = applyHostKeyPolicy(options);
  const { signal } = options;
  signal?.throwIfAborted();
  const port = options.port ?? 22;
  const algs = resolveAlgorithms(options);
  const username = options.username ?? defaultUsername();
  let keys: SSHKey[];
  const publicKeyAuth = options.publicKeyAuth !== false;
  if (options.clientKeys === null || !publicKeyAuth) keys = [];
  else if (options.clientKeys === undefined) keys = await defaultClientKeys(options.passphrase);
  else keys = await loadPrivateKeys('clientKeys', options.clientKeys, options.passphrase, true, identitiesFromConfig.has(options.clientKeys));
  if (options.clientCerts !== undefined && publicKeyAuth) keys = await pairClientCertificates(keys, options.clientCerts, certsFromConfig.has(options.clientCerts));
  const verifier = await loadHostKeyVerifier(options.knownHosts as KnownHostsOption);
  // ssh-agent ($SSH_AUTH_SOCK or agentPath; null = none): its keys are tried after the explicit ones.
  const agent = publicKeyAuth ? agentFromEnv(options.agentPath) : null;
  const only = agent && options.agentIdentities != null ? await identityBlobs('agentIdentities', options.agentIdentities) : null;
  const agentRefs = agent ? agentOnlyKeys(keys, await agent.getKeys().catch(() => []), only) : [];
  if (agent && agentRefs.length === 0) agent.close();
  signal?.throwIfAborted();

  const core = new SSHCore({
    role: 'client',
    crypto: transportCrypto,
    ...algs,
    rekeyBytes: options.rekeyBytes,
    rekeySeconds: options.rekeySeconds,
    username,
    clientKeys: [...keys.map((k) => k.toSigningKeyRef()), ...agentRefs],
    password: options.passwordAuth === false ? null : options.password ?? null,
    kbdint: options.kbdintAuth !== false && (options.kbdintHandler !== undefined || options.password !== undefined),
    passwordPrompt: options.passwordAuth !== false && options.passwordHandler !== undefined,
    ...(options.preferredAuth !== undefined ? { preferredAuth: preferredAuthList(options.preferredAuth) } : {}),
    authSignatureAlgs: clientSignatureAlgs(options.signatureAlgs),
    disableTrivialAuth: options.disableTrivialAuth === true,
    windowSize: options.windowSize,
    maxPacketSize: options.maxPacketSize,
    softwareVersion: options.clientVersion ?? DEFAULT_SOFTWARE_VERSION,
  });
  // forwarding: a jump host's channel replaces the TCP socket (tunnel.ts).
  let releaseTunnel = (): void => undefined;
  let socket: Duplex;
  if (options.tunnel !== undefined) {
    const t = await openTunnel(options.tunnel, host, port, (hop, through) => connectHop(hop, through, options), options.tunnelLinger);
    socket = t.sock;
    releaseTunnel = t.release;
  } else if (options.proxyCommand !== undefined) {
    socket = openProxyCommand(expandProxyCommand(options.proxyCommand, { host, port, username, originalHost }));
  } else {
    socket = options.sock ?? connectLending({ host, port, ...localEnd(options), ...(options.tcpKeepalive === true ? { keepAlive: true } : {}) });
  }
  // HostKeyAlias: known_hosts is consulted for the alias alone, as ssh does (no [host]:port form).
  const hooks = new ClientHooks(options.hostKeyAlias ?? host, options.hostKeyAlias !== undefined ? 22 : port, options, verifier);
  const actor = new ConnectionActor(socket, core, {
    work: acquireWorkRunner(),
    hooks,
    authTimeout: options.connectTimeout ? connectTimeout(host, port, options.connectTimeout) : undefined,
    keepaliveInterval: options.keepaliveInterval,
    keepaliveCountMax: options.keepaliveCountMax,
  });
  hooks.actor = actor;
  if (options.tunnel !== undefined) void actor.waitClosed().then(() => releaseTunnel());
  const conn = new SSHClientConnection(actor, host, port, `SSH-2.0-${options.clientVersion ?? DEFAULT_SOFTWARE_VERSION}`);
  hooks.conn = conn;
  if (options.x11Forwarding) X11Forwarder.attach(actor, conn.forwarding, options.x11Display);
  // Agent forwarding (agent-forward.ts): only when asked and an agent is there to forward.
  const forwardAgentPath = options.agentPath === null ? undefined : options.agentPath ?? process.env.SSH_AUTH_SOCK;
  if (options.agentForwarding === true && forwardAgentPath) hooks.agentChannel = requestAgentForwarding(actor, forwardAgentPath);
  const onAbort = (): void => actor.abort(signal!.reason instanceof Error ? signal!.reason : new ConnectionLost('aborted'));
  if (signal) {
    signal.addEventListener('abort', onAbort, { once: true });
    void actor.waitClosed().then(() => signal.removeEventListener('abort', onAbort));
  }
  await new Promise<void>((resolve, reject) => {
    const onAuth = (): void => {
      actor.off('close', onClose);
      resolve();
    };
    const onClose = (err: Error | null): void => {
      actor.off('authenticated', onAuth);
      reject(err ?? new ConnectionLost('connection closed before authentication'));
    };
    actor.once('authenticated', onAuth);
    actor.once('close', onClose);
    actor.start();
  });
  // Authenticated: the agent has signed what it had to.
  agent?.close();
  conn.sessionEnv = sessionEnvironment(options);
  conn.processDefaults = { ...processDefaults(options), ...sessionDefaults(options) };
  conn.defaultCommand = options.command ?? null;
  return conn;
}

/** AsyncSSH's connection-wide subsystem and request_pty (the command is kept apart: it is an argument, not an option). */
function sessionDefaults(options: ConnectOptions): ProcessOptions {
  const out: ProcessOptions = {};
  if (options.subsystem !== undefined) out.subsystem = options.subsystem;
  if (options.requestPty !== undefined) out.requestPty = options.requestPty;
  return out;
}

/** createProcess/run's (command?, options?) or (options): undefined = no command given. */
function commandAndOptions<O extends object>(first: string | null | O | undefined, second: O | undefined): [string | null | undefined, O] {
  if (typeof first === 'object' && first !== null) {
    if (second !== undefined) throw new TypeError('command: expected a string or null');
    return [undefined, first];
  }
  if (first !== undefined && first !== null && typeof first !== 'string') throw new TypeError('command: expected a string or null');
  if (second !== undefined && (typeof second !== 'object' || second === null)) throw new TypeError('options: expected an object');
  return [first, second ?? ({} as O)];
}

/** The socket options of localAddr and family (net.connect's localAddress, localPort, family). */
function localEnd(options: ConnectOptions): { localAddress?: string; localPort?: number; family?: number } {
  const out: { localAddress?: string; localPort?: number; family?: number } = {};
  if (options.localAddr !== undefined) {
    const [addr, lport] = typeof options.localAddr === 'string' ? [options.localAddr, 0] : options.localAddr;
    out.localAddress = addr;
    if (lport !== 0) out.localPort = lport;
  }
  if (options.family !== undefined) out.family = options.family;
  return out;
}

/** The agent's keys that are not among the explicit ones (and, with `only`, among those), as signing refs. */
function agentOnlyKeys(keys: readonly SSHKey[], agentKeys: readonly { publicBlob: Uint8Array; toSigningKeyRef(): SigningKeyRef }[], only: readonly Uint8Array[] | null): SigningKeyRef[] {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const explicit = new Set(keys.map((k) => b64(k.publicBlob)));
  const allowed = only === null ? null : new Set(only.map(b64));
  return agentKeys.filter((k) => !explicit.has(b64(k.publicBlob)) && (allowed === null || allowed.has(b64(k.publicBlob)))).map((k) => k.toSigningKeyRef());
}

/** forwarding: one ProxyJump hop, with the caller's options but its own user and port. */
function connectHop(hop: JumpHop, through: TunnelConnection | null, options: ConnectOptions): Promise<TunnelConnection> {
  const { tunnel: _t, sock: _s, signal: _sig, x11Forwarding: _x, proxyCommand: _p, ...rest } = options;
  // Hops were resolved through ssh_config with the target (applySshConfig); they do not apply it again (no ProxyJump loops).
  return connect(hop.host, { ...rest, config: null, port: hop.port, username: hop.username ?? options.username, ...(through ? { tunnel: through } : {}) });
}
