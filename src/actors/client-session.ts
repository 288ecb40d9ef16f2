/**
 * The client's session channel: open a "session" channel, send env/pty-req
 * and exec/shell/subsystem, then expose its streams, exit status and the
 * requests a client may send later (window-change, signal, break).
 */
import { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';
import { ChannelRequestError } from '../protocol/errors.js';
import type { ChannelSink } from './actor-types.js';
import { ChannelIO } from './channel-io.js';
import { STDOUT } from './process-redirect.js';
import type { ConnectionActor } from './connection-actor.js';
import {
  decodeExitSignal,
  decodeExitStatus,
  encodeBreak,
  encodeEnv,
  encodePtyRequest,
  encodeExec,
  encodeSignal,
  encodeSubsystem,
  encodeWindowChange,
  type ExitSignal,
  type TermSize,
} from './session-wire.js';

/**
 * AsyncSSH's request_pty: true (the default) asks for a pty when a termType
 * is set; false never; 'force' always (termType "" when none is set); 'auto'
 * only for an interactive shell (no command, no subsystem) with a termType.
 */
export type RequestPty = boolean | 'force' | 'auto';

export interface SessionOptions {
  /** Start this subsystem (e.g. "sftp") instead of a command or shell; null: none (not even a connection-wide one). */
  subsystem?: string | null;
  env?: Record<string, string>;
  /** The terminal type of the pty (e.g. "xterm"); with requestPty true (the default) setting it requests a pty. */
  termType?: string;
  /** Whether to request a pty: see RequestPty (default true: when termType is set). */
  requestPty?: RequestPty;
  /** [cols, rows] or [cols, rows, widthPx, heightPx]; default [80, 24]. */
  termSize?: TermSize;
  /** Terminal mode opcode -> value (RFC 4254 §8). */
  termModes?: Record<number, number>;
  /** Stream encoding, or null for Buffers. Default 'utf8'. */
  encoding?: BufferEncoding | null;
  windowSize?: number;
  maxPacketSize?: number;
  /**
   * Called when the exec, shell or subsystem request is handed to the
   * connection: from then on the command may be running on the host even if
   * its reply never arrives (the connection can die in between), so a caller
   * that retries only commands that never started stops counting it as
   * not started here, not at the reply.
   */
  onStartRequested?: () => void;
}

function checkSessionOptions(command: string | null, o: SessionOptions): void {
  if (command !== null && typeof command !== 'string') throw new TypeError('command: expected a string or null');
  if (o.subsystem !== undefined && o.subsystem !== null && typeof o.subsystem !== 'string') throw new TypeError('subsystem: expected a string or null');
  checkRequestPty('requestPty', o.requestPty);
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null)) throw new TypeError('env: expected an object of strings');
  if (o.termType !== undefined && typeof o.termType !== 'string') throw new TypeError('termType: expected a string');
  if (o.onStartRequested !== undefined && typeof o.onStartRequested !== 'function') throw new TypeError('onStartRequested: expected a function');
  if (o.termSize !== undefined) {
    const s = o.termSize;
    if (!Array.isArray(s) || (s.length !== 2 && s.length !== 4) || s.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffffffff)) {
      throw new RangeError('termSize: expected [cols, rows] or [cols, rows, widthPx, heightPx] of non-negative integers');
    }
  }
}

export function checkRequestPty(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean' && v !== 'force' && v !== 'auto') throw new TypeError(`${name}: expected true, false, 'force' or 'auto'`);
}

/** Whether a session asks for a pty, as AsyncSSH decides it from request_pty, term_type, command and subsystem. */
export function wantsPty(requestPty: RequestPty | undefined, termType: string | undefined, command: string | null, subsystem: string | null | undefined): boolean {
  if (requestPty === 'force') return true;
  const typed = termType !== undefined && termType !== '';
  if (requestPty === 'auto') return typed && command === null && (subsystem === undefined || subsystem === null);
  return requestPty !== false && typed;
}

/** One open session channel (client side). */
export class SSHClientChannel extends EventEmitter implements ChannelSink {
  readonly io: ChannelIO;
  exitStatus: number | null = null;
  exitSignal: ExitSignal | null = null;
  /** Set when the connection went away under the channel. */
  closeError: Error | null = null;
  /** @internal stderr data is delivered on stdout (redirect with stderr STDOUT). */
  mergeStderr = false;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  id = -1;

  constructor(private readonly actor: ConnectionActor, encoding: BufferEncoding | null | undefined) {
    super();
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.io = new ChannelIO(
      {
        post: (fn) => actor.post(fn),
        sendData: (data, ext) => actor.sendData(this.id, data, ext),
        sendEof: () => actor.sendEof(this.id),
        consume: (n) => actor.consume(this.id, n),
        socketWritable: () => actor.socketWritable(),
      },
      { encoding },
    );
  }

  /** The session's data in both directions as one Duplex. */
  get stream(): Duplex {
    return this.io.stream;
  }

  /** Data to the remote side (stdin); end() sends EOF. */
  get stdin(): Writable {
    return this.io.writable;
  }

  /** Data from the remote side (stdout). */
  get stdout(): Readable {
    return this.io.readable;
  }

  get stderr(): Readable {
    return this.io.stderrIn;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once the channel is fully closed. */
  waitClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Sends a channel request; resolves with the peer's answer (true when no reply was asked). */
  sendRequest(requestType: string, wantReply: boolean, data: Uint8Array = new Uint8Array(0)): Promise<boolean> {
    return this.actor.sendRequest(this.id, requestType, wantReply, data);
  }

  changeTerminalSize(cols: number, rows: number, widthPx = 0, heightPx = 0): void {
    for (const [name, v] of Object.entries({ cols, rows, widthPx, heightPx })) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name}: expected a non-negative integer`);
    }
    void this.sendRequest('window-change', false, encodeWindowChange(cols, rows, widthPx, heightPx));
  }

  /** Sends a signal by name without "SIG" (e.g. "TERM", "INT"). */
  sendSignal(signal: string): void {
    if (typeof signal !== 'string' || !/^[A-Z0-9]+(@[\w.-]+)?$/.test(signal)) throw new TypeError('signal: expected a signal name such as "TERM"');
    void this.sendRequest('signal', false, encodeSignal(signal));
  }

  sendBreak(ms: number): Promise<boolean> {
    if (!Number.isInteger(ms) || ms < 0) throw new RangeError('ms: expected a non-negative integer');
    return this.sendRequest('break', true, encodeBreak(ms));
  }

  /** Closes the channel (sends CHANNEL_CLOSE); resolves when the peer confirmed. */
  close(): Promise<void> {
    this.actor.channelCall(() => {
      if (this.isClosed) return;
      this.io.stopWriting();
      this.actor.closeChannel(this.id);
    });
    return this.closedPromise;
  }

  // ---- ChannelSink (actor context) ----------------------------------------

  onData(data: Uint8Array, extended?: number): void {
    this.io.onData(data, this.mergeStderr && extended === 1 ? undefined : extended);
  }

  onEof(): void {
    this.io.onEof();
    this.emit('eof');
  }

  onClose(error: Error | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = error;
    this.io.onClose();
    this.resolveClosed();
    this.emit('close', error);
  }

  onWindow(): void {
    this.io.pump();
  }

  onRequest(requestType: string, wantReply: boolean, data: Uint8Array): void {
    let ok = false;
    try {
      if (requestType === 'exit-status') {
        this.exitStatus = decodeExitStatus(data);
        ok = true;
        this.emit('exitStatus', this.exitStatus);
      } else if (requestType === 'exit-signal') {
        this.exitSignal = decodeExitSignal(data);
        ok = true;
        this.emit('exitSignal', this.exitSignal);
      } else if (requestType === 'xon-xoff' || requestType === 'keepalive@openssh.com') {
        ok = requestType === 'xon-xoff';
      }
    } catch {
      ok = false; // malformed request data: refuse it, keep the channel
    }
    if (wantReply) this.actor.replyRequest(this.id, ok);
  }
}

/**
 * Opens a session channel and starts `command` (null = shell, or the
 * subsystem in options). Rejects with ChannelOpenError or ChannelRequestError.
 */
export async function openClientSession(actor: ConnectionActor, command: string | null, options: SessionOptions = {}): Promise<SSHClientChannel> {
  checkSessionOptions(command, options);
  const chan = new SSHClientChannel(actor, options.encoding);
  // Set before the channel opens: stderr that arrives with the exec reply is merged too.
  chan.mergeStderr = (options as { stderr?: unknown }).stderr === STDOUT;
  chan.id = await actor.openChannel('session', new Uint8Array(0), () => chan, {
    windowSize: options.windowSize,
    maxPacketSize: options.maxPacketSize,
  });
  try {
    for (const [name, value] of Object.entries(options.env ?? {})) {
      void chan.sendRequest('env', false, encodeEnv(name, String(value)));
    }
    if (wantsPty(options.requestPty, options.termType, command, options.subsystem)) {
      const [cols, rows, widthPx = 0, heightPx = 0] = options.termSize ?? [80, 24];
      const pty = encodePtyRequest({ termType: options.termType ?? '', cols, rows, widthPx, heightPx, modes: options.termModes ?? {} });
      if (!(await chan.sendRequest('pty-req', true, pty))) throw new ChannelRequestError('pseudo-terminal request refused');
    }
    let ok: boolean;
    options.onStartRequested?.();
    const subsystem = options.subsystem ?? undefined;
    if (subsystem !== undefined) ok = await chan.sendRequest('subsystem', true, encodeSubsystem(subsystem));
    else if (command !== null) ok = await chan.sendRequest('exec', true, encodeExec(command));
    else ok = await chan.sendRequest('shell', true);
    if (!ok) {
      if (chan.closeError) throw chan.closeError;
      const what = subsystem !== undefined ? `subsystem ${JSON.stringify(subsystem)}` : command !== null ? 'exec' : 'shell';
      throw new ChannelRequestError(`${what} request refused`);
    }
  } catch (err) {
    await chan.close();
    throw err;
  }
  return chan;
}
