/**
 * Client keepalives of one connection actor: every `interval` ms a
 * keepalive@openssh.com global request that wants a reply; after `countMax`
 * beats in a row with no global reply of any kind, the connection is aborted.
 */
import { ConnectionLost } from '../protocol/errors.js';
import type { ConnectionActor } from './connection-actor.js';

type KeepaliveHost = Pick<ConnectionActor, 'closed' | 'post' | 'abort' | 'globalRequest' | 'timers'>;

export class ActorKeepalive {
  private missed = 0;

  constructor(
    private readonly actor: KeepaliveHost,
    private readonly interval: number,
    private readonly countMax: number,
  ) {}

  /** Starts the beats; an interval of 0 or less means no keepalives. */
  start(): void {
    if (this.interval <= 0) return;
    const beat = (): void => {
      this.actor.post(() => {
        if (this.actor.closed) return;
        if (this.missed >= this.countMax) {
          this.actor.abort(new ConnectionLost(`no keepalive response after ${this.countMax} attempts`));
          return;
        }
        this.missed++;
        this.actor.globalRequest('keepalive@openssh.com', true, new Uint8Array(0)).catch(() => undefined);
      });
      this.actor.timers.set('keepalive', this.interval, beat);
    };
    this.actor.timers.set('keepalive', this.interval, beat);
  }

  /** Any global reply from the peer shows it is alive. */
  replied(): void {
    this.missed = 0;
  }
}
