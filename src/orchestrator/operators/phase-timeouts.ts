/**
 * Per-phase time limits on one attempt's event stream: connect (until the
 * session is up), command (from start to end) and idle (longest silence while
 * the command runs); and `deadline`, a limit on a whole stream (retries
 * included). On expiry the stream errors with PhaseTimeoutError and the
 * source is unsubscribed, which closes whatever it holds.
 */
import { Observable, asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { PhaseTimeoutError } from '../classify-error.js';

export interface PhaseMarkers<T> {
  isConnected: (v: T) => boolean;
  isStarted: (v: T) => boolean;
  isActivity: (v: T) => boolean;
}

export interface PhaseLimits {
  connect?: number;
  command?: number;
  idle?: number;
}

export function phaseTimeouts<T>(
  limits: PhaseLimits,
  markers: PhaseMarkers<T>,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let connectTimer: Subscription | null = null;
      let commandTimer: Subscription | null = null;
      let idleTimer: Subscription | null = null;
      let sourceSub: Subscription | null = null;
      const arm = (phase: 'connect' | 'command' | 'idle', ms: number | undefined): Subscription | null =>
        ms !== undefined && ms > 0
          ? scheduler.schedule(() => {
              sourceSub?.unsubscribe();
              clear();
              subscriber.error(new PhaseTimeoutError(phase, ms));
            }, ms)
          : null;
      const clear = (): void => {
        connectTimer?.unsubscribe();
        commandTimer?.unsubscribe();
        idleTimer?.unsubscribe();
        connectTimer = commandTimer = idleTimer = null;
      };
      connectTimer = arm('connect', limits.connect);
      sourceSub = source.subscribe({
        next: (v) => {
          if (markers.isConnected(v)) {
            connectTimer?.unsubscribe();
            connectTimer = null;
          }
          if (markers.isStarted(v)) {
            connectTimer?.unsubscribe();
            connectTimer = null;
            commandTimer = arm('command', limits.command);
            idleTimer = arm('idle', limits.idle);
          } else if (idleTimer !== null && markers.isActivity(v)) {
            idleTimer.unsubscribe();
            idleTimer = arm('idle', limits.idle);
          }
          subscriber.next(v);
        },
        error: (err: unknown) => {
          clear();
          subscriber.error(err);
        },
        complete: () => {
          clear();
          subscriber.complete();
        },
      });
      return () => {
        clear();
        sourceSub?.unsubscribe();
      };
    });
}

/** Errors with PhaseTimeoutError('total') if the source has not finished within `ms`. */
export function deadline<T>(ms: number | undefined, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  return (source) =>
    ms === undefined || ms <= 0
      ? source
      : new Observable<T>((subscriber) => {
          let sourceSub: Subscription | null = null;
          const timer = scheduler.schedule(() => {
            sourceSub?.unsubscribe();
            subscriber.error(new PhaseTimeoutError('total', ms));
          }, ms);
          sourceSub = source.subscribe({
            next: (v) => subscriber.next(v),
            error: (err: unknown) => {
              timer.unsubscribe();
              subscriber.error(err);
            },
            complete: () => {
              timer.unsubscribe();
              subscriber.complete();
            },
          });
          return () => {
            timer.unsubscribe();
            sourceSub?.unsubscribe();
          };
        });
}
