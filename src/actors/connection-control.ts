/**
 * Connection controls AsyncSSH offers on an open connection besides close():
 * set_keepalive (change or stop keepalives later), disconnect (a chosen RFC
 * 4253 reason and text) and abort (drop the socket without a goodbye).
 * Shared by SSHClientConnection and SSHServerConnection.
 */
import { ConnectionLost } from '../protocol/errors.js';
import { checkPositive } from './client-options.js';
import type { ConnectionActor } from './connection-actor.js';

type ControlHost = Pick<ConnectionActor, 'closed' | 'post' | 'abort' | 'globalRequest' | 'timers' | 'core' | 'socket' | 'waitClosed'>;

/**
 * Replaces the connection's keepalive beat (the actor's own one runs under
 * the same timer name, so it stops). Every `intervalMs` a
 * keepalive@openssh.com request wanting a reply is sent; when `countMax`
 * of them in a row got no reply the connection ends with ConnectionLost.
 * An interval of 0 stops keepalives.
 */
export function setKeepalive(actor: ControlHost, intervalMs: number, countMax = 3): void {
  checkPositive('interval', intervalMs, { allowZero: true });
  checkPositive('countMax', countMax, { integer: true });
  if (intervalMs === 0) return actor.timers.clear('keepalive');
  let missed = 0;
  const beat = (): void => {
    actor.post(() => {
      if (actor.closed) return;
      if (missed >= countMax) {
        actor.abort(new ConnectionLost(`no keepalive response after ${countMax} attempts`));
        return;
      }
      missed++;
      // Any reply, a refusal included (sshd refuses this request), shows the peer is alive.
      actor.globalRequest('keepalive@openssh.com', true, new Uint8Array(0)).then(
        () => (missed = 0),
        () => undefined,
      );
    });
    actor.timers.set('keepalive', intervalMs, beat);
  };
  actor.timers.set('keepalive', intervalMs, beat);
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
