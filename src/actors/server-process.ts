/**
 * The server's session channel and the process object handed to the
 * application's processFactory: command/subsystem, env, terminal, stdin
 * (Readable), stdout/stderr (Writable), exit / exitWithSignal, and events for
 * terminal size changes, signals and breaks.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { ChannelSink } from './actor-types.js';
import { ChannelIO } from './channel-io.js';
import type { ConnectionActor } from './connection-actor.js';
import { checkKeyPermission, type AuthorizedKeyEntry, type KeyPermission } from '../protocol/authorized-keys.js';
import { AGENT_REQUEST, ServerAgentListener } from './agent-forward.js';
import { NoFreeX11Display, ServerX11Listener, validX11Request, type ServerX11Options, type X11Session } from './x11-server.js';
import {
  decodeBreak,
  decodeEnv,
  decodePtyRequest,
  decodeExec,
  decodeSignal,
  decodeSubsystem,
  decodeWindowChange,
  decodeX11Request,
  encodeExitSignal,
  encodeExitStatus,
  type TermSize,
} from './session-wire.js';
import { attachSource, attachTarget, checkSource, checkTarget, PIPE, type Attached, type RedirectOptions, type RedirectSource, type RedirectTarget } from './process-redirect.js';
import type { SSHServerConnection } from './server.js';
import { LineEditor, type KeyHandler, type LineEditorOptions } from './line-editor.js';

export interface ServerSessionConfig {
  /** Called for exec/shell/subsystem; absent = those requests are refused. */
  processFactory?: (process: SSHServerProcess) => unknown;
  encoding?: BufferEncoding | null;
  /** Sessions that carry a binary protocol (sftp, scp): their streams stay Buffers whatever `encoding` says. */
  binary?: (process: SSHServerProcess) => boolean;
  username: string;
  /** Reports a failure in the application's handler (the channel is closed). */
  onHandlerError?: (err: unknown) => void;
  /** The authorized_keys entry the client logged in with: its command=, environment= and no-pty/restrict apply. */
  keyEntry?: AuthorizedKeyEntry | null;
  /** A user certificate's force-command (applies like authorized_keys command=). */
  certForceCommand?: string;
  /** A user certificate's permit-* extensions: what it does not permit is refused, as sshd does. */
  certPermissions?: Readonly<Record<KeyPermission, boolean>>;
  /** Edit lines on the server for sessions with a pty (listen option lineEditor; default on, as AsyncSSH). */
  lineEditor?: boolean | LineEditorOptions;
  /** false refuses every pty-req (listen option allowPty; default true). */
  allowPty?: boolean;
  /** Accept auth-agent-req@openssh.com (listen option agentForwarding). */
  agentForwarding?: boolean;
  /** X11 forwarding options; x11-req is refused unless `x11Forwarding` is true. */
  x11?: ServerX11Options;
}

export class SSHServerProcess extends EventEmitter {
  command: string | null = null;
  subsystem: string | null = null;
  readonly env: Record<string, string> = {};
  termType: string | null = null;
  termSize: TermSize | null = null;
  termModes: Record<number, number> = {};
  /** True when `command` was forced by the authorized_keys entry (the asked one is in env.SSH_ORIGINAL_COMMAND). */
  forcedCommand = false;
  /** The forwarded agent's socket (set SSH_AUTH_SOCK to it) when the client asked for agent forwarding; removed on close. */
  agentPath: string | null = null;
  /** The forwarded X display when the client asked for X11 forwarding (DISPLAY is in env too); its listener closes with the session. */
  x11: X11Session | null = null;
  private exited = false;
  /** @internal The line editor between the terminal and the application (pty sessions with lineEditor). */
  editor: LineEditor | null = null;
  /** The connection this session runs on (set when the channel is accepted). */
  connection: SSHServerConnection | null = null;

  /** @internal */
  constructor(
    private readonly session: ServerSession,
    readonly username: string,
  ) {
    super();
  }

  /** Data the client sends (the remote user's input). */
  get stdin(): Readable {
    return this.editor ? this.editor.input : this.session.io.readable;
  }

  get stdout(): Writable {
    return this.editor ? this.editor.stdout : this.session.io.writable;
  }

  get stderr(): Writable {
    return this.editor ? this.editor.stderr : this.session.io.stderrOut;
  }

  /** With the line editor: echo typed keys or not (off while reading a password). No-op without it. */
  setEcho(on: boolean): void {
    this.editor?.setEcho(on);
  }

  /** With the line editor: edit lines (true) or pass every key straight to stdin (false). No-op without it. */
  setLineMode(on: boolean): void {
    this.editor?.setLineMode(on);
  }

  /** With the line editor: a handler for a key (AsyncSSH's register_key; see KeyHandler). No-op without it. */
  registerKey(key: string, handler: KeyHandler): void {
    this.editor?.registerKey(key, handler);
  }

  /** Removes a handler set by registerKey. */
  unregisterKey(key: string): void {
    this.editor?.unregisterKey(key);
  }

  /** The connection's getExtraInfo (AsyncSSH's process.get_extra_info), e.g. 'peername'. */
  getExtraInfo(name: string, fallback?: unknown): unknown {
    return this.connection ? this.connection.getExtraInfo(name, fallback) : fallback;
  }

  /**
   * Joins the session to local files, streams or processes (AsyncSSH's
   * redirect): `stdin` is where the client's input goes, `stdout` and
   * `stderr` are where the output to the client comes from. Undefined
   * leaves a stream as it is. Call exit() when the work is done.
   */
  async redirect(stdin?: RedirectTarget, stdout?: RedirectSource, stderr?: RedirectSource, options: RedirectOptions = {}): Promise<void> {
    checkTarget('stdin', stdin, false);
    checkSource('stdout', stdout);
    checkSource('stderr', stderr);
    const attached: Attached[] = [];
    // EOF goes with stdout's end, so stdout ends only after redirected stderr has ended too.
    const untilBoth = { ...options, sendEof: false };
    try {
      attached.push(await attachTarget(stdin, this.stdin, options));
      attached.push(await attachSource(stdout, this.stdout, untilBoth));
      attached.push(await attachSource(stderr, this.stderr, untilBoth));
    } catch (err) {
      for (const a of attached) a.detach();
      throw err;
    }
    if (options.sendEof !== false && stdout !== undefined && stdout !== PIPE) {
      void Promise.all([attached[1]!.done, attached[2]!.done])
        .catch(() => undefined)
        .then(() => this.stdout.end());
    }
    this.once('close', () => {
      for (const a of attached) a.detach();
    });
  }

  get exitStatusSent(): boolean {
    return this.exited;
  }

  /** Sends output still queued, then exit-status, EOF and close. */
  exit(status: number): void {
    if (!Number.isInteger(status) || status < 0 || status > 0xffffffff) throw new RangeError('status: expected an integer 0..2^32-1');
    this.finish('exit-status', encodeExitStatus(status));
  }

  /** Sends output still queued, then exit-signal (name without "SIG"), EOF and close. */
  exitWithSignal(signal: string, coreDumped = false, message = '', lang = ''): void {
    if (typeof signal !== 'string' || signal === '') throw new TypeError('signal: expected a signal name such as "TERM"');
    this.finish('exit-signal', encodeExitSignal({ signal, coreDumped, message, lang }));
  }

  /** Closes the channel without an exit status. */
  close(): void {
    this.session.close();
  }

  private finish(requestType: string, data: Uint8Array): void {
    if (this.exited) return;
    this.exited = true;
    // stderr first, then stdout (whose end sends EOF): no data may follow EOF.
    // Through the line editor's streams when there is one, so its queued output goes first.
    const endThen = (w: Writable, next: () => void): void => {
      if (w.writableFinished || w.destroyed) return next();
      let called = false;
      const once = (): void => {
        if (!called) (called = true), next();
      };
      w.once('finish', once);
      w.once('close', once);
      w.end();
    };
    endThen(this.stderr, () => endThen(this.stdout, () => this.session.exitAndClose(requestType, data)));
  }
}

/** One accepted "session" channel on the server. */
export class ServerSession implements ChannelSink {
  readonly io: ChannelIO;
  readonly process: SSHServerProcess;
  private started = false;
  private closed = false;
  private exitSent = false;
  private agentReady: Promise<void> | null = null;
  private agentListener: ServerAgentListener | null = null;
  private x11Ready: Promise<void> | null = null;
  private x11Listener: ServerX11Listener | null = null;
  /** The last reply still waiting for a listener to start; null when replies can go at once. */
  private pendingReplies: Promise<void> | null = null;
  private startAfterReply = false;

  constructor(
    private readonly actor: ConnectionActor,
    readonly id: number,
    private readonly config: ServerSessionConfig,
  ) {
    this.io = new ChannelIO(
      {
        post: (fn) => actor.post(fn),
        sendData: (data, ext) => actor.sendData(id, data, ext),
        sendEof: () => actor.sendEof(id),
        consume: (n) => actor.consume(id, n),
        socketWritable: () => actor.socketWritable(),
      },
      // The encoding is applied when the process starts: binary protocols keep Buffers.
      { encoding: null },
    );
    this.process = new SSHServerProcess(this, config.username);
  }

  /** Any context: exit request, then close. */
  exitAndClose(requestType: string, data: Uint8Array): void {
    this.actor.channelCall(() => {
      if (this.closed || this.exitSent) return;
      this.exitSent = true;
      this.io.stopWriting();
      this.actor.sendRequestNoReply(this.id, requestType, data);
      this.actor.closeChannel(this.id);
    });
  }

  close(): void {
    this.actor.channelCall(() => {
      if (this.closed) return;
      this.io.stopWriting();
      this.actor.closeChannel(this.id);
    });
  }

  // ---- ChannelSink (actor context) ----------------------------------------

  onData(data: Uint8Array, extended?: number): void {
    this.io.onData(data, extended);
  }

  onEof(): void {
    this.io.onEof();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.agentListener?.close();
    this.x11Listener?.close();
    this.io.onClose();
    this.process.emit('close');
  }

  onWindow(): void {
    this.io.pump();
  }

  onRequest(requestType: string, wantReply: boolean, data: Uint8Array): void {
    let ok: boolean | Promise<boolean> = false;
    try {
      ok = this.handleRequest(requestType, data);
    } catch {
      ok = false; // malformed request data or a throwing listener: refuse, keep the connection
    }
    if (typeof ok === 'boolean' && this.pendingReplies === null) {
      if (wantReply && !this.closed) this.actor.replyRequest(this.id, ok);
      this.startIfAnswered();
      return;
    }
    // A request answered once something is listening (x11-req, agent): this reply, and every later one, waits its turn.
    const answer = ok;
    const turn: Promise<void> = (this.pendingReplies ?? Promise.resolve())
      .then(() => answer)
      .catch(() => false)
      .then((yes) =>
        this.actor.post(() => {
          if (this.pendingReplies === turn) this.pendingReplies = null;
          if (wantReply && !this.closed) this.actor.replyRequest(this.id, yes);
          this.startIfAnswered();
        }),
      );
    this.pendingReplies = turn;
  }

  /** Starts the application once its exec/shell/subsystem reply is queued, as its own message. */
  private startIfAnswered(): void {
    if (!this.startAfterReply) return;
    this.startAfterReply = false;
    this.actor.post(() => this.startProcess());
  }

  /** The authorized_keys entry and the user certificate must both allow it. */
  private permits(permission: KeyPermission): boolean {
    return checkKeyPermission(this.config.keyEntry ?? null, permission) && this.config.certPermissions?.[permission] !== false;
  }

  private handleRequest(requestType: string, data: Uint8Array): boolean | Promise<boolean> {
    const p = this.process;
    switch (requestType) {
      case 'env': {
        if (this.started) return false;
        const { name, value } = decodeEnv(data);
        p.env[name] = value;
        return true;
      }
      case 'pty-req': {
        if (this.started || this.config.allowPty === false || !this.permits('pty')) return false;
        const pty = decodePtyRequest(data);
        p.termType = pty.termType;
        p.termSize = [pty.cols, pty.rows, pty.widthPx, pty.heightPx];
        p.termModes = pty.modes;
        return true;
      }
      case 'exec':
      case 'shell':
      case 'subsystem': {
        if (this.started || !this.config.processFactory) return false;
        if (requestType === 'exec') p.command = decodeExec(data);
        else if (requestType === 'subsystem') p.subsystem = decodeSubsystem(data);
        else if (data.length !== 0) return false;
        this.applyKeyOptions(requestType);
        this.started = true;
        this.startAfterReply = true;
        return true;
      }
      case 'x11-req': {
        const x11 = this.config.x11;
        if (this.started || this.x11Ready || !x11?.x11Forwarding) return false;
        if (!this.permits('x11-forwarding')) return false;
        const req = decodeX11Request(data);
        if (!validX11Request(req)) return false;
        // Answered once the display listens (as sshd; a full display range is a refusal); exec/shell waits for it too.
        this.x11Ready = ServerX11Listener.start(this.actor, req, x11).then(
          (l) => {
            this.x11Listener = l;
            if (this.closed) return l.close();
            p.x11 = l.session;
            p.env.DISPLAY = l.session.display;
            if (x11.x11AuthFile) p.env.XAUTHORITY = x11.x11AuthFile;
          },
          (err: unknown) => {
            if (!(err instanceof NoFreeX11Display)) this.config.onHandlerError?.(err);
          },
        );
        return this.x11Ready.then(() => this.x11Listener !== null);
      }
      case AGENT_REQUEST: {
        if (this.started || this.agentReady || !this.config.agentForwarding) return false;
        if (!this.permits('agent-forwarding')) return false;
        this.agentReady = ServerAgentListener.start(this.actor).then(
          (l) => {
            this.agentListener = l;
            if (this.closed) l.close();
            else p.agentPath = l.path;
          },
          (err: unknown) => this.config.onHandlerError?.(err),
        );
        return this.agentReady.then(() => this.agentListener !== null);
      }
      case 'window-change': {
        const w = decodeWindowChange(data);
        p.termSize = [w.cols, w.rows, w.widthPx, w.heightPx];
        p.emit('terminalSizeChanged', w.cols, w.rows, w.widthPx, w.heightPx);
        return true;
      }
      case 'signal': {
        const name = decodeSignal(data);
        p.emit('signal', name);
        return true;
      }
      case 'break': {
        const ms = decodeBreak(data);
        if (p.listenerCount('break') === 0) return false;
        p.emit('break', ms);
        return true;
      }
      default:
        return false;
    }
  }

  /** authorized_keys command= replaces what was asked (kept in SSH_ORIGINAL_COMMAND); environment= is set. */
  private applyKeyOptions(requestType: string): void {
    const entry = this.config.keyEntry;
    const p = this.process;
    if (entry) for (const [name, value] of entry.options.environment) p.env[name] = value;
    const forced = this.config.certForceCommand ?? entry?.options.command;
    if (forced === undefined) return;
    const original = requestType === 'exec' ? p.command : requestType === 'subsystem' ? p.subsystem : null;
    if (original !== null) p.env.SSH_ORIGINAL_COMMAND = original;
    else delete p.env.SSH_ORIGINAL_COMMAND;
    p.command = forced;
    p.subsystem = null;
    p.forcedCommand = true;
  }

  private startProcess(): void {
    if (this.closed) return;
    const fail = (err: unknown): void => {
      this.config.onHandlerError?.(err);
      if (!this.process.exitStatusSent) this.process.exit(1);
    };
    try {
      const binary = this.process.subsystem === 'sftp' || this.config.binary?.(this.process) === true;
      const encoding = binary ? null : this.config.encoding === undefined ? 'utf8' : this.config.encoding;
      this.io.applyEncoding(encoding);
      const le = this.config.lineEditor ?? true;
      if (le && encoding !== null && this.process.termType !== null) {
        const io = this.io;
        const p = this.process;
        p.editor = new LineEditor(io.readable, (text) => io.writable.write(text), (name) => p.emit('signal', name), io.writable, io.stderrOut, le === true ? {} : le, encoding);
      }
      const r = this.config.processFactory!(this.process);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}
