/**
 * The connection actor: owns one byte stream (a net.Socket or any Duplex, such
 * as a channel of another connection) and one sans-I/O core, and handles one
 * message at a time from its mailbox: socket chunks, user calls, work results,
 * decisions and timer ticks. After each message it hands everything the core
 * queued for the wire to the socket in one write, then dispatches the core's
 * events. An error thrown while handling a message ends this connection only.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { DisconnectReason } from '../protocol/messages.js';
import { ConnectionLost, DisconnectError } from '../protocol/errors.js';
import type { ActorCore, ActorEvent, ChannelSink } from './actor-types.js';
import { attachLentReads } from './lent-reads.js';
import type { ActorOptions, GlobalRequestReply } from './actor-options.js';
import { ActorChannels, type SessionPrelude } from './actor-channels.js';
import { ActorGlobalRequests } from './actor-global-requests.js';
import { ActorKeepalive } from './actor-keepalive.js';
import { runDecision, runWork } from './actor-decisions.js';
import { TimerSet } from './timer-set.js';

/**
 * An outbox this big is written when its mailbox run ends rather than at the
 * end of the turn: only small control packets gain from waiting to be joined,
 * and data should meet the socket's backpressure at once. (At 32 KiB, SFTP put
 * lost 4 % in two A/B runs; at 4 KiB it matched the undeferred build.)
 */
const FLUSH_NOW_BYTES = 4 * 1024;

export type { ActorHooks, ActorOptions, GlobalRequestAnswer } from './actor-options.js';

/**
 * A socket error as ConnectionLost, keeping what identifies it: the original
 * error as `cause` (its `code`, e.g. ECONNREFUSED) and Node's `errno`/`syscall`.
 */
export function socketLost(err: Error): ConnectionLost & { errno?: number; syscall?: string } {
  const e: ConnectionLost & { errno?: number; syscall?: string } = new ConnectionLost(err.message);
  Object.defineProperty(e, 'cause', { value: err, writable: true, configurable: true, enumerable: false });
  const n = err as NodeJS.ErrnoException;
  if (typeof n.errno === 'number') e.errno = n.errno;
  if (typeof n.syscall === 'string') e.syscall = n.syscall;
  return e;
}

export class ConnectionActor extends EventEmitter {
  readonly timers = new TimerSet();
  /**
   * forwarding: requests to send on a session channel right before its
   * exec/shell/subsystem (x11-req); each returns null to send nothing. Their
   * replies are read and dropped, as OpenSSH only warns on a refusal.
   */
  readonly sessionPreludes: SessionPrelude[] = [];
  private readonly mailbox: (() => void)[] = [];
  /** Packets of the current mailbox run, written when its last message is done. */
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  private flushQueued = false;
  private running = false;
  private socketBlocked = false;
  private closedFlag = false;
  private closeError: Error | null = null;
  private localError: Error | null = null;
  private tickAt: number | null = null;
  private servedDeadline: number | null = null;
  private authenticated = false;
  private readonly channels: ActorChannels;
  private readonly globals: ActorGlobalRequests;
  /** @internal Keepalive beats; `SSHClientConnection.setKeepalive` reconfigures them. */
  readonly keepalive: ActorKeepalive;
  private readonly closedPromise: Promise<Error | null>;
  private resolveClosed!: (e: Error | null) => void;
  private readonly now: () => number;
  username: string | null = null;
  algorithms: Record<string, string> | null = null;
  /** Completed key exchanges (1 after the handshake, +1 per re-key). */
  kexCount = 0;

  constructor(readonly socket: Duplex, readonly core: ActorCore, private readonly options: ActorOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.channels = new ActorChannels(this, options.hooks, this.sessionPreludes);
    this.globals = new ActorGlobalRequests(this, options.hooks);
    this.keepalive = new ActorKeepalive(this, options.keepaliveInterval ?? 0, options.keepaliveCountMax ?? 3);
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    const s = socket as Duplex & { setNoDelay?: (on: boolean) => unknown };
    if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
    const lent = attachLentReads(socket, (chunk, isLent) => {
      // A lent chunk is reused once this returns, so it is only lent to a core that runs now.
      if (isLent && !this.running) return this.post(() => !this.closedFlag && this.core.receiveLent(chunk));
      const owned = isLent ? new Uint8Array(chunk) : chunk;
      this.post(() => !this.closedFlag && this.core.receive(owned));
    });
    if (!lent) socket.on('data', (chunk: Buffer) => this.post(() => !this.closedFlag && this.core.receive(chunk)));
    socket.on('end', () => this.post(() => this.socketGone(null)));
    socket.on('close', () => this.post(() => this.socketGone(null)));
    socket.on('error', (err: Error) => this.post(() => this.socketGone(err)));
    socket.on('drain', () =>
      this.post(() => {
        this.socketBlocked = false;
        this.channels.socketDrained();
      }),
    );
  }

  /** Queues our version line and KEXINIT, and starts the auth timer. */
  start(): void {
    const t = this.options.authTimeout;
    if (t) {
      this.timers.set('auth', t.ms, () => this.post(() => this.abort(t.error())));
    }
    this.post(() => this.core.start(this.now()));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  /** Resolves when the connection is closed, with the error it closed with (null = clean). */
  waitClosed(): Promise<Error | null> {
    return this.closedPromise;
  }

  // ---- mailbox --------------------------------------------------------------

  /**
   * Runs fn as one message: now if idle, else after the current message.
   * What the messages of a turn send leaves in one write at its end (an
   * inline signature posted by a message joins that message's packets).
   */
  post(fn: () => void): void {
    this.mailbox.push(fn);
    if (this.running) return;
    this.running = true;
    try {
      while (this.mailbox.length > 0) {
        const next = this.mailbox.shift()!;
        try {
          next();
          this.drain();
        } catch (err) {
          this.crash(err);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.outboxBytes >= FLUSH_NOW_BYTES) this.flushSafely();
    else if (this.outbox.length > 0 && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushLater);
    }
  }

  /**
   * Writes the outbox once this turn of the event loop is done (its I/O
   * callbacks and every microtask they started), so what several messages of
   * one turn send leaves in one write: the reply to a channel CLOSE and the
   * application's DISCONNECT right after it, or many small writes a caller
   * makes in a loop.
   */
  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flushSafely();
  };

  private flushSafely(): void {
    try {
      this.flush();
    } catch (err) {
      this.post(() => {
        throw err;
      });
    }
  }

  private drain(): void {
    for (;;) {
      for (const c of this.core.takeOutbound()) {
        this.outbox.push(c);
        this.outboxBytes += c.length;
      }
      const events = this.core.takeEvents() as ActorEvent[];
      if (events.length === 0) break;
      for (const e of events) this.dispatch(e);
    }
    if (this.closedFlag) {
      this.flush();
      this.finishSocket();
    } else this.scheduleTick();
  }

  private flush(): void {
    if (this.outbox.length === 0) return;
    const chunks = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    this.write(chunks);
  }

  private write(chunks: Uint8Array[]): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    // One write per batch. Big packets go to the socket as they are, corked so
    // they leave in one writev; small ones are joined first (a write costs more
    // than copying a few hundred bytes).
    let ok = true;
    if (chunks.length === 1) ok = this.socket.write(chunks[0]!);
    else {
      this.socket.cork();
      let small: Uint8Array[] = [];
      const flushSmall = (): void => {
        if (small.length > 0) ok = this.socket.write(small.length === 1 ? small[0]! : Buffer.concat(small)) && ok;
        small = [];
      };
      for (const c of chunks) {
        if (c.length < 4096) small.push(c);
        else {
          flushSmall();
          ok = this.socket.write(c) && ok;
        }
      }
      flushSmall();
      this.socket.uncork();
    }
    if (!ok) this.socketBlocked = true;
  }

  /** Actor context: false while the socket is above its high-water mark. */
  socketWritable(): boolean {
    return !this.socketBlocked && !this.closedFlag;
  }

  private scheduleTick(): void {
    const at = this.core.nextDeadline();
    if (at === this.tickAt) return;
    this.tickAt = at;
    if (at === null) {
      this.timers.clear('tick');
      return;
    }
    // A deadline already served that is still due (e.g. a re-key waiting for
    // a key exchange in progress) is retried in a second, not in a busy loop.
    const delay = at === this.servedDeadline ? 1000 : Math.max(0, at - this.now());
    this.timers.set('tick', delay, () =>
      this.post(() => {
        this.tickAt = null;
        this.servedDeadline = at;
        if (!this.closedFlag) this.core.tick(this.now());
      }),
    );
  }

  private crash(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.closedFlag) return;
    this.localError ??= e;
    try {
      this.core.disconnect(DisconnectReason.BY_APPLICATION, 'internal error');
      this.drain();
    } catch {
      // The core itself is broken: close without it.
    }
    if (!this.closedFlag) this.onClosed(null);
  }

  private socketGone(err: Error | null): void {
    if (this.closedFlag) return;
    if (err) this.localError ??= socketLost(err);
    this.core.socketClosed();
  }

  private finishSocket(): void {
    const s = this.socket as Duplex & { connecting?: boolean };
    if (s.destroyed) return;
    if (s.connecting === true || s.writableEnded) {
      s.destroy();
      return;
    }
    s.end(() => s.destroy());
  }

  // ---- events ---------------------------------------------------------------

  private dispatch(e: ActorEvent): void {
    switch (e.type) {
      case 'work':
        runWork(this, this.options.work, e.id, e.request);
        return;
      case 'decision':
        runDecision(this, this.options.hooks, e.id, e.request);
        return;
      case 'kexComplete':
        this.kexCount++;
        this.algorithms = e.algorithms;
        this.options.hooks.kexComplete?.(e.first, e.algorithms);
        return;
      case 'authSuccess':
        this.authenticated = true;
        this.username = e.username;
        this.timers.clear('auth');
        this.keepalive.start();
        this.options.hooks.authSuccess?.(e.username);
        this.emit('authenticated', e.username);
        return;
      case 'authBanner':
        this.options.hooks.banner?.(e.message, e.lang);
        return;
      case 'debug':
        this.emit('debug', e.message);
        return;
      case 'closed':
        this.onClosed(e.error);
        return;
      case 'globalRequest':
        this.globals.incoming(e.name, e.wantReply, e.data);
        return;
      case 'globalRequestReply':
        this.keepalive.replied();
        this.globals.replied(e.ok, e.data);
        return;
      case 'channelOpenConfirmed':
      case 'channelOpenFailed':
      case 'channelOpenRequest':
      case 'channelWindow':
      case 'channelData':
      case 'channelEof':
      case 'channelClose':
      case 'channelRequest':
      case 'channelRequestReply':
        this.channels.dispatch(e);
        return;
      default:
        return;
    }
  }

  private onClosed(error: DisconnectError | null): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.timers.clearAll();
    this.tickAt = null;
    const err = this.localError ?? error;
    this.closeError = err;
    // Made only when something is pending (an Error costs a stack trace).
    let failure: Error | null = err;
    const failed = (): Error => (failure ??= new ConnectionLost('connection closed'));
    this.channels.failPending(failed);
    this.globals.failPending(failed);
    this.channels.closeAll(err);
    this.resolveClosed(err);
    this.emit('close', err);
  }

  /** The error the connection closed with (null while open or after a clean close). */
  get error(): Error | null {
    return this.closeError;
  }

  // ---- channel operations (actor context; no-ops on a closed channel) ----------

  /** Hands data to the channel; a closed channel swallows it. */
  sendData(id: number, data: Uint8Array, extended?: number): number {
    return this.channels.sendData(id, data, extended);
  }

  sendEof(id: number): void {
    this.channels.sendEof(id);
  }

  consume(id: number, n: number): void {
    this.channels.consume(id, n);
  }

  replyRequest(id: number, ok: boolean): void {
    this.channels.replyRequest(id, ok);
  }

  closeChannel(id: number): void {
    this.channels.close(id);
  }

  /** Sends a channel request without waiting for a reply. */
  sendRequestNoReply(id: number, requestType: string, data: Uint8Array): void {
    this.channels.sendRequestNoReply(id, requestType, data);
  }

  /** Actor context: accepts an incoming channel and routes its events to sink. */
  acceptChannel(id: number, sink: ChannelSink): void {
    this.channels.accept(id, sink);
  }

  // ---- calls from the API (any context) --------------------------------------

  /** Ends the connection with `err` as its close reason. */
  abort(err: Error): void {
    this.post(() => {
      if (this.closedFlag) return;
      this.localError ??= err;
      const reason = err instanceof DisconnectError ? err.reason : DisconnectReason.BY_APPLICATION;
      this.core.disconnect(reason, err.message);
    });
  }

  /** Clean close initiated by us. */
  close(): Promise<Error | null> {
    this.post(() => {
      if (!this.closedFlag) this.core.disconnect(DisconnectReason.BY_APPLICATION, 'closed by application');
    });
    return this.closedPromise;
  }

  openChannel(
    type: string,
    typeData: Uint8Array,
    makeSink: (id: number) => ChannelSink,
    opts?: { windowSize?: number; maxPacketSize?: number },
  ): Promise<number> {
    return this.channels.open(type, typeData, makeSink, opts);
  }

  rejectChannel(id: number, reason: number, description: string): void {
    this.channels.reject(id, reason, description);
  }

  sendRequest(id: number, requestType: string, wantReply: boolean, data: Uint8Array): Promise<boolean> {
    return this.channels.sendRequest(id, requestType, wantReply, data);
  }

  globalRequest(name: string, wantReply: boolean, data: Uint8Array): Promise<GlobalRequestReply> {
    return this.globals.send(name, wantReply, data);
  }

  /** Any context: runs a call on the channel layer as one message, if still open. */
  channelCall(fn: () => void): void {
    this.post(() => {
      if (!this.closedFlag) fn();
    });
  }

  rekey(): void {
    this.post(() => !this.closedFlag && this.core.rekey());
  }
}
