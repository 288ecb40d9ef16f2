/**
 * Connection controls AsyncSSH offers on an open connection besides close():
 * set_keepalive (change or stop keepalives later), disconnect (a chosen RFC
 * 4253 reason and text) and abort (drop the socket without a goodbye).
 * Shared by SSHClientConnection and SSHServerConnection.
 */
import { checkPositive } from './client-options.js';
import type { ConnectionActor } from './connection-actor.js';

type ControlHost = Pick<ConnectionActor, 'closed' | 'post' | 'core' | 'socket' | 'waitClosed' | 'keepalive'>;

/**
 * Changes the connection's keepalive beats (the same ones `keepaliveInterval`
 * starts): every `intervalMs` a keepalive@openssh.com request wanting a
 * reply; when `countMax` in a row got no reply of any kind the connection
 * ends with ConnectionLost. An interval of 0 stops keepalives. Before
 * authentication the new values wait for it (no global requests before).
 */
export function setKeepalive(actor: ControlHost, intervalMs: number, countMax = 3): void {
  checkPositive('interval', intervalMs, { allowZero: true });
  checkPositive('countMax', countMax, { integer: true });
  actor.post(() => actor.keepalive.configure(intervalMs, countMax));
}

/** Sends SSH_MSG_DISCONNECT with `reason` (see DisconnectReason) and text, then closes; a clean close on our side. */
export function disconnect(actor: ControlHost, reason: number, description = ''): Promise<void> {
  if (!Number.isInteger(reason) || reason < 1 || reason > 0xffffffff) throw new RangeError('reason: expected a disconnect reason code (1..2^32-1)');
  if (typeof description !== 'string') throw new TypeError('description: expected a string');
  actor.post(() => {
    if (!actor.closed) actor.core.disconnect(reason, description);
  });
  return closedOf(actor);
}

/** Drops the socket at once: nothing more is sent or read, no disconnect message. */
export function abort(actor: ControlHost): Promise<void> {
  actor.socket.destroy();
  return closedOf(actor);
}

function closedOf(actor: ControlHost): Promise<void> {
  return actor.waitClosed().then(() => undefined);
}
