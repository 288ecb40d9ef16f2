/**
 * The channels of one connection actor: the sink each open channel's events go
 * to, the promise of its open and those of its requests waiting for their
 * reply (one map entry per channel). Every method runs in actor context
 * unless it says otherwise; calls on a closed or closing channel are no-ops.
 */
import { ChannelOpenError, ConnectionLost } from '../protocol/errors.js';
import type { ConnectionEvent } from '../protocol/connection.js';
import type { ChannelSink } from './actor-types.js';
import type { ActorHooks, ActorHost, Deferred } from './actor-options.js';

/** A request to send on a session channel right before its exec/shell/subsystem, or null. */
export type SessionPrelude = (id: number) => { requestType: string; data: Uint8Array } | null;

/** The connection events that concern one channel. */
export type ChannelEvent = Exclude<ConnectionEvent, { type: 'globalRequest' | 'globalRequestReply' }>;

interface ChannelEntry {
  readonly sink: ChannelSink;
  /** Our open, until the peer confirms or refuses it. */
  opening: Deferred<number> | null;
  /** Our requests waiting for their reply, oldest first. */
  replies: Deferred<boolean>[] | null;
}

export class ActorChannels {
  private readonly entries = new Map<number, ChannelEntry>();

  constructor(
    private readonly actor: ActorHost,
    private readonly hooks: ActorHooks,
    private readonly sessionPreludes: readonly SessionPrelude[],
  ) {}

  /** The socket drained: every channel may write again. */
  socketDrained(): void {
    for (const e of this.entries.values()) e.sink.onWindow();
  }

  dispatch(e: ChannelEvent): void {
    switch (e.type) {
      case 'channelOpenConfirmed': {
        const entry = this.entries.get(e.id);
        const d = entry?.opening;
        if (entry) entry.opening = null;
        d?.resolve(e.id);
        return;
      }
      case 'channelOpenFailed': {
        const d = this.entries.get(e.id)?.opening;
        this.entries.delete(e.id);
        d?.reject(new ChannelOpenError(e.reason, e.description || 'channel open failed'));
        return;
      }
      case 'channelOpenRequest':
        if (this.hooks.channelOpenRequest) this.hooks.channelOpenRequest(e.id, e.channelType, e.typeData);
        else this.actor.core.connection.rejectChannel(e.id, 1, 'channel type not supported');
        return;
      case 'channelWindow':
        this.entries.get(e.id)?.sink.onWindow();
        return;
      case 'channelData': {
        const sink = this.entries.get(e.id)?.sink;
        if (sink) sink.onData(e.data, e.extended);
        else this.consume(e.id, e.data.length);
        return;
      }
      case 'channelEof':
        this.entries.get(e.id)?.sink.onEof();
        return;
      case 'channelClose': {
        const entry = this.entries.get(e.id);
        this.entries.delete(e.id);
        for (const r of entry?.replies ?? []) r.resolve(false);
        entry?.sink.onClose(null);
        return;
      }
      case 'channelRequest': {
        const sink = this.entries.get(e.id)?.sink;
        if (sink) sink.onRequest(e.requestType, e.wantReply, e.data);
        else if (e.wantReply) this.replyRequest(e.id, false);
        return;
      }
      case 'channelRequestReply':
        this.entries.get(e.id)?.replies?.shift()?.resolve(e.ok);
        return;
    }
  }

  /** The connection closed: pending opens fail with `failure()`, pending requests answer false. */
  failPending(failure: () => Error): void {
    for (const entry of this.entries.values()) {
      const { opening, replies } = entry;
      entry.opening = null;
      entry.replies = null;
      opening?.reject(failure());
      for (const r of replies ?? []) r.resolve(false);
    }
  }

  /** The connection closed: every channel's sink hears it, each apart from the others. */
  closeAll(err: Error | null): void {
    const sinks = [...this.entries.values()].map((e) => e.sink);
    this.entries.clear();
    for (const sink of sinks) {
      try {
        sink.onClose(err);
      } catch {
        // one broken channel handler must not keep the others open
      }
    }
  }

  /**
   * Calls below go to the core while the connection is open: the core keeps a
   * channel the peer closed until the batch naming it is dispatched, and
   * ignores calls for it meanwhile.
   */
  private get live(): boolean {
    return !this.actor.closed;
  }

  /** Hands data to the channel; a closed channel swallows it. */
  sendData(id: number, data: Uint8Array, extended?: number): number {
    return this.live ? this.actor.core.connection.sendData(id, data, extended) : data.length;
  }

  sendEof(id: number): void {
    if (this.live) this.actor.core.connection.sendEof(id);
  }

  consume(id: number, n: number): void {
    if (this.live) this.actor.core.connection.consume(id, n);
  }

  replyRequest(id: number, ok: boolean): void {
    if (this.live) this.actor.core.connection.replyRequest(id, ok);
  }

  close(id: number): void {
    if (this.live) this.actor.core.connection.close(id);
  }

  /** Sends a channel request without waiting for a reply. */
  sendRequestNoReply(id: number, requestType: string, data: Uint8Array): void {
    if (this.live) this.actor.core.connection.sendRequest(id, requestType, false, data);
  }

  /** Any context. */
  open(
    type: string,
    typeData: Uint8Array,
    makeSink: (id: number) => ChannelSink,
    opts?: { windowSize?: number; maxPacketSize?: number },
  ): Promise<number> {
    return new Promise((resolve, reject) =>
      this.actor.post(() => {
        if (this.actor.closed) return reject(this.actor.error ?? new ConnectionLost('connection closed'));
        const id = this.actor.core.connection.openChannel(type, typeData, opts);
        this.entries.set(id, { sink: makeSink(id), opening: { resolve, reject }, replies: null });
      }),
    );
  }

  /** Accepts an incoming channel and routes its events to sink. */
  accept(id: number, sink: ChannelSink): void {
    this.entries.set(id, { sink, opening: null, replies: null });
    this.actor.core.connection.acceptChannel(id);
  }

  /** Any context. */
  reject(id: number, reason: number, description: string): void {
    this.actor.post(() => !this.actor.closed && this.actor.core.connection.rejectChannel(id, reason, description));
  }

  /** Any context: resolves with the peer's answer, or true at once without wantReply. */
  sendRequest(id: number, requestType: string, wantReply: boolean, data: Uint8Array): Promise<boolean> {
    return new Promise((resolve) =>
      this.actor.post(() => {
        if (!this.live || !this.entries.has(id)) return resolve(false);
        if (requestType === 'exec' || requestType === 'shell' || requestType === 'subsystem') this.sendPreludes(id);
        this.actor.core.connection.sendRequest(id, requestType, wantReply, data);
        if (!wantReply) return resolve(true);
        this.awaitReply(id, { resolve, reject: () => resolve(false) });
      }),
    );
  }

  /** Prelude replies are read and dropped, as OpenSSH only warns on a refusal. */
  private sendPreludes(id: number): void {
    for (const prelude of this.sessionPreludes) {
      const r = prelude(id);
      if (!r) continue;
      this.actor.core.connection.sendRequest(id, r.requestType, true, r.data);
      this.awaitReply(id, {
        resolve: (ok) => ok || this.actor.emit('debug', `${r.requestType} refused on channel ${id}`),
        reject: () => undefined,
      });
    }
  }

  private awaitReply(id: number, d: Deferred<boolean>): void {
    const entry = this.entries.get(id);
    if (!entry) return d.resolve(false);
    (entry.replies ??= []).push(d);
  }
}
