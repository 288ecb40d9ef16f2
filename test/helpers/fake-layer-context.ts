/**
 * A LayerContext for driving protocol layers back to back in unit tests:
 * what a layer sends is recorded and delivered to `peer` through a shared
 * FIFO queue (the test drains it), events and decisions are recorded, work
 * and decisions are answered from the queue by the functions given.
 */
import assert from 'node:assert/strict';
import type { CoreEventBase, DecisionRequest, LayerContext } from '../../src/protocol/layer.js';
import type { HandshakeRequest, HandshakeResult } from '../../src/protocol/crypto-api.js';
import type { DisconnectError } from '../../src/protocol/errors.js';

export type WorkDone = (err: Error | null, result?: HandshakeResult) => void;

export interface FakeLayerOptions {
  /** Answers decisions (default: null). */
  decide?: (request: DecisionRequest) => unknown;
  /** Runs handshake work (default: fails, as a layer that needs none). */
  work?: (request: HandshakeRequest, done: WorkDone) => void;
  sessionId?: Uint8Array;
  serverSigAlgs?: readonly string[] | null;
}

export class FakeLayerContext<E extends CoreEventBase = CoreEventBase> implements LayerContext {
  sent: Uint8Array[] = [];
  events: E[] = [];
  decisions: DecisionRequest[] = [];
  failure: DisconnectError | null = null;
  peer: { handle(p: Uint8Array): void } | null = null;
  onEvent: (e: E) => void = () => {};
  readonly sessionId: Uint8Array;
  readonly serverSigAlgs: readonly string[] | null;

  constructor(
    protected readonly queue: Array<() => void>,
    private readonly options: FakeLayerOptions = {},
  ) {
    this.sessionId = options.sessionId ?? new Uint8Array(0);
    this.serverSigAlgs = options.serverSigAlgs ?? null;
  }

  send(payload: Uint8Array): void {
    // Copies: a layer may reuse its buffer once send returns.
    this.sent.push(payload.slice());
    const peer = this.peer;
    if (peer) this.queue.push(() => peer.handle(payload.slice()));
  }

  sendParts(parts: readonly Uint8Array[]): void {
    this.send(new Uint8Array(Buffer.concat(parts)));
  }

  emit(event: CoreEventBase): void {
    this.events.push(event as E);
    this.onEvent(event as E);
  }

  work(request: HandshakeRequest, done: WorkDone): void {
    const work = this.options.work;
    this.queue.push(() => (work ? work(request, done) : done(new Error('unexpected work'))));
  }

  decide(request: DecisionRequest, done: (answer: unknown) => void): void {
    this.decisions.push(request);
    const decide = this.options.decide;
    this.queue.push(() => done(decide ? decide(request) : null));
  }

  fail(err: DisconnectError): void {
    assert.equal(this.failure, null, 'fail called twice');
    this.failure = err;
  }
}
