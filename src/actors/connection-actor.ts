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
import { ChannelOpenError, ConnectionLost, DisconnectError } from '../protocol/errors.js';
import type { DecisionRequest } from '../protocol/layer.js';
import type { ActorCore, ActorEvent, ChannelSink, WorkRunner } from './actor-types.js';
import { TimerSet } from './timer-set.js';

export interface ActorHooks {
  /** Answers a core decision (auth check, prompt, host key). Errors answer `fallback`. */
  decide(request: DecisionRequest): unknown;
  authSuccess?(username: string): void;
  banner?(message: string, lang: string): void;
  kexComplete?(first: boolean, algorithms: Record<string, string>): void;
  /** An incoming channel open; answer with actor.acceptChannel / rejectChannel. */
  channelOpenRequest?(id: number, channelType: string, typeData: Uint8Array): void;
  /**
   * An incoming global request (keepalives are answered by the core or here
   * with failure). The answer may come later (a promise); replies go out in
   * request order whatever the order the answers come in.
   */
  globalRequest?(name: string, wantReply: boolean, data: Uint8Array): GlobalRequestAnswer | Promise<GlobalRequestAnswer>;
}

/** true/false, or success with reply data (e.g. the port a tcpip-forward bound). */
export type GlobalRequestAnswer = boolean | { ok: boolean; data?: Uint8Array };

export interface ActorOptions {
  work: WorkRunner;
  hooks: ActorHooks;
  /** Time allowed from start to authSuccess; the error to close with when it runs out. */
  authTimeout?: { ms: number; error: () => Error };
  /** Client keepalives, started after authSuccess. */
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  now?: () => number;
}

type Deferred<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

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

/** What an answer of "no" looks like for a decision kind that failed. */
function negativeAnswer(kind: string): unknown {
  return kind === 'kbdint' || kind === 'password' || kind === 'passwordChange' || kind === 'kbdintChallenge' ? null : false;
}

export class ConnectionActor extends EventEmitter {
  readonly timers = new TimerSet();
  private readonly mailbox: (() => void)[] = [];
  private running = false;
  private socketBlocked = false;
  private closedFlag = false;
  private closeError: Error | null = null;
  private localError: Error | null = null;
  private tickAt: number | null = null;
  private servedDeadline: number | null = null;
  private authenticated = false;
  private keepaliveMissed = 0;
  private readonly sinks = new Map<number, ChannelSink>();
  private readonly dying = new Set<number>();
  private readonly opening = new Map<number, Deferred<number>>();
  private readonly requestReplies = new Map<number, Deferred<boolean>[]>();
  private readonly globalReplies: Deferred<{ ok: boolean; data?: Uint8Array }>[] = [];
  /** Incoming global requests that want a reply, oldest first; answered in this order. */
  private readonly globalPending: { answer: { ok: boolean; data?: Uint8Array } | null }[] = [];
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
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    const s = socket as Duplex & { setNoDelay?: (on: boolean) => unknown };
    if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.post(() => !this.closedFlag && this.core.receive(chunk)));
    socket.on('end', () => this.post(() => this.socketGone(null)));
    socket.on('close', () => this.post(() => this.socketGone(null)));
    socket.on('error', (err: Error) => this.post(() => this.socketGone(err)));
    socket.on('drain', () =>
      this.post(() => {
        this.socketBlocked = false;
        for (const sink of this.sinks.values()) sink.onWindow();
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

  /** Runs fn as one message: now if idle, else after the current message. */
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
  }

  private drain(): void {
    const chunks: Uint8Array[] = [];
    for (;;) {
      for (const c of this.core.takeOutbound()) chunks.push(c);
      const events = this.core.takeEvents() as ActorEvent[];
      if (events.length === 0) break;
      // The core frees a channel id when it emits channelClose; earlier events
      // of the same batch must not call into that channel any more.
      for (const e of events) if (e.type === 'channelClose') this.dying.add(e.id);
      for (const e of events) this.dispatch(e);
    }
    if (chunks.length > 0) this.write(chunks);
    if (this.closedFlag) this.finishSocket();
    else this.scheduleTick();
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
        this.options.work.run(e.request).then(
          (r) => this.post(() => !this.closedFlag && this.core.completeWork(e.id, null, r)),
          (err: unknown) =>
            this.post(() => !this.closedFlag && this.core.completeWork(e.id, err instanceof Error ? err : new Error(String(err)))),
        );
        return;
      case 'decision':
        this.runDecision(e.id, e.request);
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
        this.startKeepalive();
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
      case 'channelOpenConfirmed': {
        const d = this.opening.get(e.id);
        this.opening.delete(e.id);
        d?.resolve(e.id);
        return;
      }
      case 'channelOpenFailed': {
        const d = this.opening.get(e.id);
        this.opening.delete(e.id);
        this.sinks.delete(e.id);
        d?.reject(new ChannelOpenError(e.reason, e.description || 'channel open failed'));
        return;
      }
      case 'channelOpenRequest':
        if (this.options.hooks.channelOpenRequest) this.options.hooks.channelOpenRequest(e.id, e.channelType, e.typeData);
        else this.core.connection.rejectChannel(e.id, 1, 'channel type not supported');
        return;
      case 'channelWindow':
        this.sinks.get(e.id)?.onWindow();
        return;
      case 'channelData': {
        const sink = this.sinks.get(e.id);
        if (sink) sink.onData(e.data, e.extended);
        else this.consume(e.id, e.data.length);
        return;
      }
      case 'channelEof':
        this.sinks.get(e.id)?.onEof();
        return;
      case 'channelClose': {
        this.dying.delete(e.id);
        const sink = this.sinks.get(e.id);
        this.sinks.delete(e.id);
        const replies = this.requestReplies.get(e.id) ?? [];
        this.requestReplies.delete(e.id);
        for (const r of replies) r.resolve(false);
        sink?.onClose(null);
        return;
      }
      case 'channelRequest': {
        const sink = this.sinks.get(e.id);
        if (sink) sink.onRequest(e.requestType, e.wantReply, e.data);
        else if (e.wantReply) this.replyRequest(e.id, false);
        return;
      }
      case 'channelRequestReply':
        this.requestReplies.get(e.id)?.shift()?.resolve(e.ok);
        return;
      case 'globalRequest':
        this.incomingGlobalRequest(e.name, e.wantReply, e.data);
        return;
      case 'globalRequestReply':
        this.keepaliveMissed = 0;
        this.globalReplies.shift()?.resolve({ ok: e.ok, data: e.data });
        return;
      default:
        return;
    }
  }

  // ---- incoming global requests (forwarding) ----------------------------------

  private incomingGlobalRequest(name: string, wantReply: boolean, data: Uint8Array): void {
    const slot: { answer: { ok: boolean; data?: Uint8Array } | null } = { answer: null };
    if (wantReply) this.globalPending.push(slot);
    const settle = (a: GlobalRequestAnswer): void => {
      slot.answer = typeof a === 'object' && a !== null ? { ok: a.ok === true, data: a.data } : { ok: a === true };
      this.flushGlobalAnswers();
    };
    let result: GlobalRequestAnswer | Promise<GlobalRequestAnswer>;
    try {
      result = this.options.hooks.globalRequest?.(name, wantReply, data) ?? false;
    } catch (err) {
      this.emit('debug', `global request ${name} failed: ${String(err)}`);
      result = false;
    }
    if (result instanceof Promise) {
      result.then(
        (a) => this.post(() => !this.closedFlag && settle(a)),
        (err: unknown) => this.post(() => {
          this.emit('debug', `global request ${name} failed: ${String(err)}`);
          if (!this.closedFlag) settle(false);
        }),
      );
    } else {
      settle(result);
    }
  }

  private flushGlobalAnswers(): void {
    while (this.globalPending.length > 0 && this.globalPending[0]!.answer !== null) {
      const a = this.globalPending.shift()!.answer!;
      this.core.connection.replyGlobalRequest(a.ok, a.data);
    }
  }

  private runDecision(id: number, request: DecisionRequest): void {
    const answer = (a: unknown): void => this.post(() => !this.closedFlag && this.core.decide(id, a));
    let result: unknown;
    try {
      result = this.options.hooks.decide(request);
    } catch (err) {
      this.emit('debug', `decision ${request.kind} failed: ${String(err)}`);
      answer(negativeAnswer(request.kind));
      return;
    }
    if (result instanceof Promise) {
      result.then(answer, (err: unknown) => {
        this.emit('debug', `decision ${request.kind} failed: ${String(err)}`);
        answer(negativeAnswer(request.kind));
      });
    } else {
      // Answer after this message, never re-entrantly inside the core's own call.
      answer(result);
    }
  }

  private onClosed(error: DisconnectError | null): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.timers.clearAll();
    this.tickAt = null;
    const err = this.localError ?? error;
    this.closeError = err;
    const failure = err ?? new ConnectionLost('connection closed');
    for (const d of this.opening.values()) d.reject(failure);
    this.opening.clear();
    for (const list of this.requestReplies.values()) for (const r of list) r.resolve(false);
    this.requestReplies.clear();
    for (const d of this.globalReplies.splice(0)) d.reject(failure);
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const sink of sinks) {
      try {
        sink.onClose(err);
      } catch {
        // one broken channel handler must not keep the others open
      }
    }
    this.resolveClosed(err);
    this.emit('close', err);
  }

  /** The error the connection closed with (null while open or after a clean close). */
  get error(): Error | null {
    return this.closeError;
  }

  // ---- keepalive -------------------------------------------------------------

  private startKeepalive(): void {
    const interval = this.options.keepaliveInterval ?? 0;
    if (interval <= 0) return;
    const countMax = this.options.keepaliveCountMax ?? 3;
    const beat = (): void => {
      this.post(() => {
        if (this.closedFlag) return;
        if (this.keepaliveMissed >= countMax) {
          this.abort(new ConnectionLost(`no keepalive response after ${countMax} attempts`));
          return;
        }
        this.keepaliveMissed++;
        this.globalRequest('keepalive@openssh.com', true, new Uint8Array(0)).catch(() => undefined);
      });
      this.timers.set('keepalive', interval, beat);
    };
    this.timers.set('keepalive', interval, beat);
  }

  // ---- channel operations (actor context; no-ops on a closed channel) ----------

  private usable(id: number): boolean {
    return !this.closedFlag && !this.dying.has(id);
  }

  /** Hands data to the channel; a closed channel swallows it. */
  sendData(id: number, data: Uint8Array, extended?: number): number {
    return this.usable(id) ? this.core.connection.sendData(id, data, extended) : data.length;
  }

  sendEof(id: number): void {
    if (this.usable(id)) this.core.connection.sendEof(id);
  }

  consume(id: number, n: number): void {
    if (this.usable(id)) this.core.connection.consume(id, n);
  }

  replyRequest(id: number, ok: boolean): void {
    if (this.usable(id)) this.core.connection.replyRequest(id, ok);
  }

  closeChannel(id: number): void {
    if (this.usable(id)) this.core.connection.close(id);
  }

  /** Sends a channel request without waiting for a reply. */
  sendRequestNoReply(id: number, requestType: string, data: Uint8Array): void {
    if (this.usable(id)) this.core.connection.sendRequest(id, requestType, false, data);
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
    return new Promise((resolve, reject) =>
      this.post(() => {
        if (this.closedFlag) return reject(this.closeError ?? new ConnectionLost('connection closed'));
        const id = this.core.connection.openChannel(type, typeData, opts);
        this.sinks.set(id, makeSink(id));
        this.opening.set(id, { resolve, reject });
      }),
    );
  }

  /** Actor context: accepts an incoming channel and routes its events to sink. */
  acceptChannel(id: number, sink: ChannelSink): void {
    this.sinks.set(id, sink);
    this.core.connection.acceptChannel(id);
  }

  rejectChannel(id: number, reason: number, description: string): void {
    this.post(() => !this.closedFlag && this.core.connection.rejectChannel(id, reason, description));
  }

  sendRequest(id: number, requestType: string, wantReply: boolean, data: Uint8Array): Promise<boolean> {
    return new Promise((resolve) =>
      this.post(() => {
        if (!this.usable(id) || !this.sinks.has(id)) return resolve(false);
        if (requestType === 'exec' || requestType === 'shell' || requestType === 'subsystem') this.sendPreludes(id);
        this.core.connection.sendRequest(id, requestType, wantReply, data);
        if (!wantReply) return resolve(true);
        let list = this.requestReplies.get(id);
        if (!list) this.requestReplies.set(id, (list = []));
        list.push({ resolve, reject: () => resolve(false) });
      }),
    );
  }

  /**
   * forwarding: requests to send on a session channel right before its
   * exec/shell/subsystem (x11-req); each returns null to send nothing. Their
   * replies are read and dropped, as OpenSSH only warns on a refusal.
   */
  readonly sessionPreludes: ((id: number) => { requestType: string; data: Uint8Array } | null)[] = [];

  private sendPreludes(id: number): void {
    for (const prelude of this.sessionPreludes) {
      const r = prelude(id);
      if (!r) continue;
      this.core.connection.sendRequest(id, r.requestType, true, r.data);
      let list = this.requestReplies.get(id);
      if (!list) this.requestReplies.set(id, (list = []));
      list.push({ resolve: (ok) => ok || this.emit('debug', `${r.requestType} refused on channel ${id}`), reject: () => undefined });
    }
  }

  globalRequest(name: string, wantReply: boolean, data: Uint8Array): Promise<{ ok: boolean; data?: Uint8Array }> {
    return new Promise((resolve, reject) =>
      this.post(() => {
        if (this.closedFlag) return reject(this.closeError ?? new ConnectionLost('connection closed'));
        this.core.connection.globalRequest(name, wantReply, data);
        if (wantReply) this.globalReplies.push({ resolve, reject });
        else resolve({ ok: true });
      }),
    );
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

