/**
 * The core's asynchronous questions, run outside it and answered as a later
 * message: handshake work (inline or in the worker pool) and decisions (auth
 * checks, prompts, host keys) answered by the actor's hooks. An answer never
 * reaches the core re-entrantly, and never after the connection closed.
 */
import type { DecisionRequest } from '../protocol/layer.js';
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import type { WorkRunner } from './actor-types.js';
import type { ActorHooks, ActorHost } from './actor-options.js';

/** What an answer of "no" looks like for a decision kind that failed. */
function negativeAnswer(kind: string): unknown {
  return kind === 'kbdint' || kind === 'password' || kind === 'passwordChange' || kind === 'kbdintChallenge' ? null : false;
}

export function runWork(actor: ActorHost, work: WorkRunner, id: number, request: HandshakeRequest): void {
  const answer = (err: Error | null, result?: HandshakeResult): void => actor.post(() => !actor.closed && actor.core.completeWork(id, err, result));
  const fail = (err: unknown): void => answer(err instanceof Error ? err : new Error(String(err)));
  // Inline work is answered as the next message of this same mailbox run, so
  // its output joins this run's write.
  let now: HandshakeResult | undefined;
  try {
    now = work.runNow?.(request);
  } catch (err) {
    return fail(err);
  }
  if (now !== undefined) return answer(null, now);
  work.run(request).then((r) => answer(null, r), fail);
}

export function runDecision(actor: ActorHost, hooks: ActorHooks, id: number, request: DecisionRequest): void {
  const answer = (a: unknown): void => actor.post(() => !actor.closed && actor.core.decide(id, a));
  let result: unknown;
  try {
    result = hooks.decide(request);
  } catch (err) {
    actor.emit('debug', `decision ${request.kind} failed: ${String(err)}`);
    answer(negativeAnswer(request.kind));
    return;
  }
  if (result instanceof Promise) {
    result.then(answer, (err: unknown) => {
      actor.emit('debug', `decision ${request.kind} failed: ${String(err)}`);
      answer(negativeAnswer(request.kind));
    });
  } else {
    // Answer after this message, never re-entrantly inside the core's own call.
    answer(result);
  }
}
