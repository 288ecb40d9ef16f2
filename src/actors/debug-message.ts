/**
 * SSH_MSG_DEBUG sent on request (AsyncSSH's send_debug), from either side of
 * a connection. The receiving side reports it as its 'debug' event.
 */
import type { ConnectionActor } from './connection-actor.js';

/** RFC 4253 §11.3 leaves the size open; this keeps one message well inside a packet and inside what receivers read. */
const MAX_DEBUG_BYTES = 32 * 1024;

/**
 * Queues the message on the transport: held back while a key exchange runs
 * (strict kex forbids it during the first one), dropped once closed.
 */
export function sendDebug(actor: Pick<ConnectionActor, 'post' | 'closed' | 'core'>, message: string, lang = '', alwaysDisplay = false): void {
  if (typeof message !== 'string') throw new TypeError('message: expected a string');
  if (Buffer.byteLength(message) > MAX_DEBUG_BYTES) throw new RangeError(`message: at most ${MAX_DEBUG_BYTES} bytes`);
  if (typeof lang !== 'string' || lang.length > 64) throw new TypeError('lang: expected a language tag string');
  if (typeof alwaysDisplay !== 'boolean') throw new TypeError('alwaysDisplay: expected a boolean');
  const core = actor.core;
  if (!core.sendDebug) throw new TypeError('sendDebug: this connection has no transport to send on');
  actor.post(() => {
    if (!actor.closed) core.sendDebug!(message, lang, alwaysDisplay);
  });
}
