/**
 * Global requests of one connection actor, both ways. Ours wait for the peer's
 * replies, which come in the order the requests went out. The peer's are
 * answered by the globalRequest hook, at once or later (a promise); replies go
 * out in request order whatever the order the answers come in.
 */
import { ConnectionLost } from '../protocol/errors.js';
import type { ActorHooks, ActorHost, Deferred, GlobalRequestAnswer, GlobalRequestReply } from './actor-options.js';

export class ActorGlobalRequests {
  /** Our requests that want a reply, oldest first. */
  private readonly replies: Deferred<GlobalRequestReply>[] = [];
  /** Incoming requests that want a reply, oldest first; answered in this order. */
  private readonly pending: { answer: GlobalRequestReply | null }[] = [];

  constructor(
    private readonly actor: ActorHost,
    private readonly hooks: ActorHooks,
  ) {}

  /** Any context. */
  send(name: string, wantReply: boolean, data: Uint8Array): Promise<GlobalRequestReply> {
    return new Promise((resolve, reject) =>
      this.actor.post(() => {
        if (this.actor.closed) return reject(this.actor.error ?? new ConnectionLost('connection closed'));
        this.actor.core.connection.globalRequest(name, wantReply, data);
        if (wantReply) this.replies.push({ resolve, reject });
        else resolve({ ok: true });
      }),
    );
  }

  /** The peer replied to our oldest request that wanted a reply. */
  replied(ok: boolean, data: Uint8Array): void {
    this.replies.shift()?.resolve({ ok, data });
  }

  /** The connection closed: our requests still waiting fail with `failure`. */
  failPending(failure: () => Error): void {
    for (const d of this.replies.splice(0)) d.reject(failure());
  }

  incoming(name: string, wantReply: boolean, data: Uint8Array): void {
    const slot: { answer: GlobalRequestReply | null } = { answer: null };
    if (wantReply) this.pending.push(slot);
    const settle = (a: GlobalRequestAnswer): void => {
      slot.answer = typeof a === 'object' && a !== null ? { ok: a.ok === true, data: a.data } : { ok: a === true };
      this.flushAnswers();
    };
    let result: GlobalRequestAnswer | Promise<GlobalRequestAnswer>;
    try {
      result = this.hooks.globalRequest?.(name, wantReply, data) ?? false;
    } catch (err) {
      this.actor.emit('debug', `global request ${name} failed: ${String(err)}`);
      result = false;
    }
    if (result instanceof Promise) {
      result.then(
        (a) => this.actor.post(() => !this.actor.closed && settle(a)),
        (err: unknown) =>
          this.actor.post(() => {
            this.actor.emit('debug', `global request ${name} failed: ${String(err)}`);
            if (!this.actor.closed) settle(false);
          }),
      );
    } else {
      settle(result);
    }
  }

  private flushAnswers(): void {
    while (this.pending.length > 0 && this.pending[0]!.answer !== null) {
      const a = this.pending.shift()!.answer!;
      this.actor.core.connection.replyGlobalRequest(a.ok, a.data);
    }
  }
}
