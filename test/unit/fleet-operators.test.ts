// Marble tests (RxJS TestScheduler, virtual time) for the fleet's custom operators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { mergeMap, map } from 'rxjs';
import { ConnectRateLimiter, rateLimit } from '../../src/orchestrator/operators/rate-limit.js';
import { retryBeforeStart } from '../../src/orchestrator/operators/retry-before-start.js';
import { phaseTimeouts, deadline } from '../../src/orchestrator/operators/phase-timeouts.js';
import { PhaseTimeoutError } from '../../src/orchestrator/classify-error.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

test('rateLimit: global 100/s burst 1 spaces values 10 ms apart, in order', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const limiter = new ConnectRateLimiter({ global: { perSecond: 100 } });
    expectObservable(cold('(abc)').pipe(rateLimit(limiter))).toBe('a 9ms b 9ms c');
  });
});

test('rateLimit: burst 2 lets two through at once, then one per token', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const limiter = new ConnectRateLimiter({ global: { perSecond: 100, burst: 2 } });
    expectObservable(cold('(abcd)').pipe(rateLimit(limiter))).toBe('(ab) 6ms c 9ms d');
  });
});

test('rateLimit: a quiet spell refills the bucket up to burst only', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const limiter = new ConnectRateLimiter({ global: { perSecond: 100, burst: 2 } });
    // a,b at 0 use both tokens; by 100 the bucket is full again (2, not 10).
    expectObservable(cold('(ab) 96ms (cde)').pipe(rateLimit(limiter))).toBe('(ab) 96ms (cd) 6ms e');
  });
});

test('rateLimit: per-key buckets do not hold up other keys', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const limiter = new ConnectRateLimiter({ perKey: { perSecond: 100 } });
    const keys: Record<string, string> = { a: 'x', b: 'y', c: 'x', d: 'y', e: 'z' };
    const out = cold('(abcde)').pipe(mergeMap((v) => limiter.acquire(keys[v]).pipe(map(() => v))));
    expectObservable(out).toBe('(abe) 5ms (cd)');
  });
});

test('rateLimit: global and per-key limits combine', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const limiter = new ConnectRateLimiter({ global: { perSecond: 200 }, perKey: { perSecond: 50 } });
    const keys: Record<string, string> = { a: 'x', b: 'x', c: 'y' };
    const out = cold('(abc)').pipe(mergeMap((v) => limiter.acquire(keys[v]).pipe(map(() => v))));
    // a at 0 (global+x); b waits for x (20 ms) so c gets the next global token at 5.
    expectObservable(out).toBe('a 4ms c 14ms b');
  });
});

test('rateLimit: an unsubscribed waiter gives up its place', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const limiter = new ConnectRateLimiter({ global: { perSecond: 100 } });
    const src = cold('(abc)');
    expectObservable(src.pipe(rateLimit(limiter)), '^ 4ms !').toBe('a');
    expectSubscriptions(src.subscriptions).toBe('^ 4ms !');
    // After unsubscription nothing is queued.
    cold('-----x').subscribe(() => assert.equal(limiter.pending, 0));
  });
});

test('rateLimit: rejects bad specs naming the field', () => {
  assert.throws(() => new ConnectRateLimiter({ global: { perSecond: 0 } }), /global\.perSecond/);
  assert.throws(() => new ConnectRateLimiter({ perKey: { perSecond: 1, burst: 0.5 } }), /perKey\.burst/);
});

const retryConfig = (extra: { idempotent?: boolean; retries?: number } = {}) => ({
  retries: extra.retries ?? 2,
  isStart: (v: string) => v === 's',
  isRetryable: (e: unknown) => e !== 'fatal',
  delay: () => 5,
  retryValue: () => 'r',
  ...(extra.idempotent === undefined ? {} : { idempotent: extra.idempotent }),
});

test('retryBeforeStart: failures before the start are retried after the delay, then the error passes', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-c-#', undefined, 'boom');
    expectObservable(src.pipe(retryBeforeStart(retryConfig()))).toBe('-c-r 5ms c-r 5ms c-#', undefined, 'boom');
    expectSubscriptions(src.subscriptions).toBe(['^--!', '--------^--!', '----------------^--!']);
  });
});

test('retryBeforeStart: a started command is never re-run', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-cs-#', undefined, 'lost');
    expectObservable(src.pipe(retryBeforeStart(retryConfig()))).toBe('-cs-#', undefined, 'lost');
    expectSubscriptions(src.subscriptions).toBe('^---!');
  });
});

test('retryBeforeStart: ... unless the caller marks it idempotent', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const src = cold('-s#', undefined, 'lost');
    expectObservable(src.pipe(retryBeforeStart(retryConfig({ idempotent: true, retries: 1 })))).toBe(
      '-sr 5ms s#',
      undefined,
      'lost',
    );
  });
});

test('retryBeforeStart: non-retryable errors pass at once; success completes', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-c#', undefined, 'fatal').pipe(retryBeforeStart(retryConfig()))).toBe('-c#', undefined, 'fatal');
    expectObservable(cold('-cs|').pipe(retryBeforeStart(retryConfig()))).toBe('-cs|');
  });
});

test('retryBeforeStart: unsubscribing during the backoff cancels the next attempt', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-#', undefined, 'x');
    expectObservable(src.pipe(retryBeforeStart(retryConfig())), '^--!').toBe('-r');
    expectSubscriptions(src.subscriptions).toBe('^!');
  });
});

const markers = {
  isConnected: (v: string) => v === 'c',
  isStarted: (v: string) => v === 's',
  isActivity: (v: string) => v === 'o',
};

test('phaseTimeouts: connect limit runs until connected', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const slow = cold('-------c-s|');
    expectObservable(slow.pipe(phaseTimeouts({ connect: 5 }, markers))).toBe('-----#', undefined, new PhaseTimeoutError('connect', 5));
    expectSubscriptions(slow.subscriptions).toBe('^----!');
    expectObservable(cold('---c------s|').pipe(phaseTimeouts({ connect: 5 }, markers))).toBe('---c------s|');
  });
});

test('phaseTimeouts: command limit counts from the start marker', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-c-s-o-o-o-|').pipe(phaseTimeouts({ command: 4 }, markers))).toBe(
      '-c-s-o-(o#)',
      undefined,
      new PhaseTimeoutError('command', 4),
    );
  });
});

test('phaseTimeouts: idle limit is reset by activity', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-s-o-o------|').pipe(phaseTimeouts({ idle: 3 }, markers))).toBe(
      '-s-o-o--#',
      undefined,
      new PhaseTimeoutError('idle', 3),
    );
    expectObservable(cold('-s-o-o-o-o|').pipe(phaseTimeouts({ idle: 3 }, markers))).toBe('-s-o-o-o-o|');
  });
});

test('deadline: limits the whole stream and unsubscribes the source', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-a-b-c|');
    expectObservable(src.pipe(deadline(4))).toBe('-a-b#', undefined, new PhaseTimeoutError('total', 4));
    expectSubscriptions(src.subscriptions).toBe('^---!');
    expectObservable(cold('-a|').pipe(deadline(4))).toBe('-a|');
    expectObservable(cold('-a|').pipe(deadline(undefined))).toBe('-a|');
  });
});
