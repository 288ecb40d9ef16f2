/**
 * What a connection actor is built with (its work runner, the hooks that
 * answer the core's questions, timeouts) and the narrow view of the actor
 * that its parts (channels, global requests, keepalive, decisions) act through.
 */
import type { DecisionRequest } from '../protocol/layer.js';
import type { WorkRunner } from './actor-types.js';
import type { ConnectionActor } from './connection-actor.js';

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

/** A global request's reply as the peer sent it. */
export interface GlobalRequestReply {
  ok: boolean;
  data?: Uint8Array;
}

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

/** The settle functions of a promise handed out by the actor. */
export type Deferred<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

/** What the actor's parts may use of it: its core, its mailbox, its state and its events. */
export type ActorHost = Pick<ConnectionActor, 'core' | 'closed' | 'error' | 'post' | 'emit'>;
