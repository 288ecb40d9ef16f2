/**
 * The structural view of the sans-I/O core that the connection actor drives
 * (see src/protocol/core.ts and src/protocol/connection.ts). Kept structural so
 * the actor can be tested against a scripted fake core.
 */
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import type { CoreEventBase, DecisionRequest } from '../protocol/layer.js';
import type { DisconnectError } from '../protocol/errors.js';
import type { ConnectionEvent } from '../protocol/connection.js';
import type { AuthEvent } from '../protocol/auth-client.js';

export interface ActorConnectionLayer {
  openChannel(type: string, typeData: Uint8Array, opts?: { windowSize?: number; maxPacketSize?: number }): number;
  acceptChannel(id: number): void;
  rejectChannel(id: number, reason: number, description: string): void;
  sendData(id: number, data: Uint8Array, extended?: number): number;
  sendEof(id: number): void;
  close(id: number): void;
  consume(id: number, bytes: number): void;
  sendRequest(id: number, requestType: string, wantReply: boolean, data: Uint8Array): void;
  replyRequest(id: number, ok: boolean): void;
  globalRequest(name: string, wantReply: boolean, data: Uint8Array): void;
  replyGlobalRequest(ok: boolean, data?: Uint8Array): void;
}

export interface ActorCore {
  start(now: number): void;
  receive(bytes: Uint8Array): void;
  /** receive() of bytes whose memory is reused once this returns. */
  receiveLent(bytes: Uint8Array): void;
  takeOutbound(): Uint8Array[];
  takeEvents(): CoreEventBase[];
  tick(now: number): void;
  nextDeadline(): number | null;
  completeWork(id: number, err: Error | null, result?: HandshakeResult): void;
  decide(id: number, answer: unknown): void;
  disconnect(reason?: number, description?: string): void;
  socketClosed(): void;
  rekey(): void;
  /** Server: a USERAUTH_BANNER during authentication; false outside it. */
  sendAuthBanner?(message: string, lang?: string): boolean;
  /** SSH_MSG_DEBUG to the peer. */
  sendDebug?(message: string, lang?: string, alwaysDisplay?: boolean): void;
  readonly connection: ActorConnectionLayer;
  readonly closed: boolean;
  readonly remoteVersion: string | null;
}

/** Runs handshake work (inline or in the worker pool). */
export interface WorkRunner {
  run(request: HandshakeRequest): Promise<HandshakeResult>;
  /** The result at once when the work would run inline on this thread anyway; undefined: use run(). */
  runNow?(request: HandshakeRequest): HandshakeResult | undefined;
}

/** The core events the actor understands (narrowed from CoreEventBase by `type`). */
export type ActorEvent =
  | { type: 'work'; id: number; request: HandshakeRequest }
  | { type: 'decision'; id: number; request: DecisionRequest }
  | { type: 'kexComplete'; first: boolean; algorithms: Record<string, string> }
  | AuthEvent
  | { type: 'closed'; error: DisconnectError | null; local: boolean }
  | { type: 'debug'; message: string }
  | ConnectionEvent;

/** Receives the events of one channel, in actor context. */
export interface ChannelSink {
  onData(data: Uint8Array, extended?: number): void;
  onEof(): void;
  onClose(error: Error | null): void;
  onWindow(): void;
  onRequest(requestType: string, wantReply: boolean, data: Uint8Array): void;
}
