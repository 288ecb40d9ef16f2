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
  private running = false;

  constructor(
    private readonly actor: KeepaliveHost,
    private interval: number,
    private countMax: number,
  ) {}

  /** Starts the beats (once authenticated); an interval of 0 or less means no keepalives. */
  start(): void {
    this.running = true;
    this.arm();
  }

  /** New interval and limit (0 stops the beats); they take effect now, or at start() when not yet running. */
  configure(interval: number, countMax: number): void {
    this.interval = interval;
    this.countMax = countMax;
    this.missed = 0;
    this.actor.timers.clear('keepalive');
    if (this.running) this.arm();
  }

  /** Any global reply from the peer, a refusal included (sshd refuses this request), shows it is alive. */
  replied(): void {
    this.missed = 0;
  }

  private arm(): void {
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
}
