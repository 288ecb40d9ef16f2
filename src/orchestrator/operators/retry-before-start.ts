/**
 * Retries an attempt that failed before its command started (the start is a
 * marker value in the stream). A started command is retried only when the
 * caller says it is idempotent. Between attempts a `retry` value is emitted
 * and the source is resubscribed after the backoff delay.
 */
import { Observable, asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface RetryBeforeStartConfig<T> {
  /** Extra attempts after the first. */
  retries: number;
  /** Marks the value that means "the command has started". */
  isStart: (value: T) => boolean;
  /** Whether this error may be retried at all (e.g. not auth failures). */
  isRetryable: (err: unknown) => boolean;
  /** Delay before attempt `next` (2, 3, ...), in ms. */
  delay: (next: number) => number;
  /** The value announcing a retry. */
  retryValue: (err: unknown, next: number, delayMs: number) => T;
  /** Retry even after the start marker. */
  idempotent?: boolean;
  scheduler?: SchedulerLike;
}

export function retryBeforeStart<T>(config: RetryBeforeStartConfig<T>): MonoTypeOperatorFunction<T> {
  const scheduler = config.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<T>((subscriber) => {
      let attempt = 1;
      let inner: Subscription | null = null;
      let wait: Subscription | null = null;
      const start = (): void => {
        let started = false;
        inner = source.subscribe({
          next: (v) => {
            if (config.isStart(v)) started = true;
            subscriber.next(v);
          },
          error: (err: unknown) => {
            inner = null;
            const allowed = (!started || config.idempotent === true) && config.isRetryable(err);
            if (!allowed || attempt > config.retries) {
              subscriber.error(err);
              return;
            }
            attempt += 1;
            const delayMs = Math.max(0, config.delay(attempt));
            subscriber.next(config.retryValue(err, attempt, delayMs));
            wait = scheduler.schedule(() => {
              wait = null;
              start();
            }, delayMs);
          },
          complete: () => subscriber.complete(),
        });
      };
      start();
      return () => {
        inner?.unsubscribe();
        wait?.unsubscribe();
      };
    });
}
