/**
 * Connect-rate limiting: token buckets, one global and one per key (a target
 * address or a bastion), so a fleet does not trip sshd's MaxStartups. Time
 * comes from an RxJS scheduler, so marble tests drive it on virtual time.
 */
import { Observable, asyncScheduler, concatMap, map, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface RateSpec {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size (how many may go at once after a quiet spell); default 1. */
  burst?: number;
}

export interface RateLimitOptions {
  global?: RateSpec;
  perKey?: RateSpec;
  scheduler?: SchedulerLike;
}

interface Bucket {
  tokens: number;
  last: number;
  readonly perMs: number;
  readonly burst: number;
}

interface Waiter {
  readonly buckets: Bucket[];
  readonly grant: () => void;
}

const EPS = 1e-9;

function checkSpec(spec: RateSpec | undefined, name: string): void {
  if (spec === undefined) return;
  if (!(spec.perSecond > 0) || !Number.isFinite(spec.perSecond)) throw new RangeError(`${name}.perSecond must be a positive number`);
  if (spec.burst !== undefined && !(Number.isInteger(spec.burst) && spec.burst >= 1))
    throw new RangeError(`${name}.burst must be an integer >= 1`);
}

/** A shared limiter; `acquire(key)` emits once (then completes) when a token is granted. */
export class ConnectRateLimiter {
  private readonly scheduler: SchedulerLike;
  private readonly global: Bucket | null;
  private readonly keyed = new Map<string, Bucket>();
  private queue: Waiter[] = [];
  private timer: Subscription | null = null;

  constructor(private readonly options: RateLimitOptions = {}) {
    checkSpec(options.global, 'global');
    checkSpec(options.perKey, 'perKey');
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.global = options.global ? this.newBucket(options.global) : null;
  }

  /** Waiters not yet granted (for tests and progress displays). */
  get pending(): number {
    return this.queue.length;
  }

  acquire(key?: string): Observable<void> {
    return new Observable<void>((subscriber) => {
      const buckets: Bucket[] = [];
      if (this.global) buckets.push(this.global);
      if (key !== undefined && this.options.perKey) {
        let b = this.keyed.get(key);
        if (!b) {
          b = this.newBucket(this.options.perKey);
          this.keyed.set(key, b);
        }
        buckets.push(b);
      }
      const waiter: Waiter = {
        buckets,
        grant: () => {
          subscriber.next();
          subscriber.complete();
        },
      };
      this.queue.push(waiter);
      this.pump();
      return () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) {
          this.queue.splice(i, 1);
          if (this.queue.length === 0) this.cancelTimer();
        }
      };
    });
  }

  private newBucket(spec: RateSpec): Bucket {
    const burst = spec.burst ?? 1;
    return { tokens: burst, last: this.scheduler.now(), perMs: spec.perSecond / 1000, burst };
  }

  private refill(b: Bucket, now: number): void {
    if (now > b.last) {
      b.tokens = Math.min(b.burst, b.tokens + (now - b.last) * b.perMs);
      b.last = now;
    }
  }

  private pump(): void {
    const now = this.scheduler.now();
    let nextWait = Infinity;
    const granted: Waiter[] = [];
    const rest: Waiter[] = [];
    for (const w of this.queue) {
      for (const b of w.buckets) this.refill(b, now);
      if (w.buckets.every((b) => b.tokens >= 1 - EPS)) {
        for (const b of w.buckets) b.tokens = Math.max(0, b.tokens - 1);
        granted.push(w);
      } else {
        let wait = 0;
        for (const b of w.buckets) if (b.tokens < 1 - EPS) wait = Math.max(wait, (1 - b.tokens) / b.perMs);
        nextWait = Math.min(nextWait, wait);
        rest.push(w);
      }
    }
    this.queue = rest;
    this.cancelTimer();
    if (rest.length > 0 && Number.isFinite(nextWait)) {
      const delay = Math.max(1, Math.ceil(nextWait - EPS));
      this.timer = this.scheduler.schedule(() => {
        this.timer = null;
        this.pump();
      }, delay);
    }
    for (const w of granted) w.grant();
    this.forgetFullBuckets(now);
  }

  private forgetFullBuckets(now: number): void {
    if (this.keyed.size < 1024) return;
    const inUse = new Set<Bucket>(this.queue.flatMap((w) => w.buckets));
    for (const [k, b] of this.keyed) {
      this.refill(b, now);
      if (b.tokens >= b.burst - EPS && !inUse.has(b)) this.keyed.delete(k);
    }
  }

  private cancelTimer(): void {
    this.timer?.unsubscribe();
    this.timer = null;
  }
}

/**
 * Delays each value until the limiter grants a token for its key; values keep
 * their order.
 */
export function rateLimit<T>(limiter: ConnectRateLimiter, keyOf?: (value: T) => string | undefined): MonoTypeOperatorFunction<T> {
  return (source) => source.pipe(concatMap((value) => limiter.acquire(keyOf?.(value)).pipe(map(() => value))));
}
