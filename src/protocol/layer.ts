/**
 * The contract between the transport core and the layers above it (user
 * authentication, connection protocol). Layers are synchronous: they get
 * payloads, send payloads and emit events through a LayerContext, and ask for
 * async work (crypto in a worker, a decision by the application) with a
 * callback that the core calls later, when the actor answers.
 */
import type { DisconnectError } from './errors.js';
import type { HandshakeRequest, HandshakeResult } from './crypto-api.js';

/** An event for the actor. Each layer defines its own members of this shape. */
export interface CoreEventBase {
  readonly type: string;
}

export interface LayerContext {
  /** Queue an outbound payload (first byte = message number). */
  send(payload: Uint8Array): void;
  /**
   * Queue an outbound payload given as pieces (their concatenation is the
   * payload). The bulk data path: the pieces are copied once, into the packet.
   */
  sendParts(parts: readonly Uint8Array[]): void;
  /** Emit an event to the actor (delivered by core.takeEvents()). */
  emit(event: CoreEventBase): void;
  /**
   * Ask for crypto work (sign, verify). `done` is called exactly once, later
   * (never synchronously), with the result or an error.
   */
  work(request: HandshakeRequest, done: (err: Error | null, result?: HandshakeResult) => void): void;
  /**
   * Ask the application to decide something (an auth check, a prompt answer).
   * The core emits {type: 'decision', id, request}; the actor answers with
   * core.decide(id, answer); `done` then receives the answer.
   */
  decide(request: DecisionRequest, done: (answer: unknown) => void): void;
  /** Session identifier (exchange hash of the first key exchange). */
  readonly sessionId: Uint8Array;
  /** Signature algorithms the server announced in ext-info server-sig-algs (client side), if any. */
  readonly serverSigAlgs: readonly string[] | null;
  /** Ends the connection with this error (sends DISCONNECT). */
  fail(err: DisconnectError): void;
}

/** What a layer asks the application to decide. `kind` names the question. */
export interface DecisionRequest {
  readonly kind: string;
  readonly [field: string]: unknown;
}
