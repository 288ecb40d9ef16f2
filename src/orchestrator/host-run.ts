/**
 * One host's run as an Observable of HostEvents: acquire a connect token,
 * connect (through a bastion if the host has one), start the command, stream
 * its output, report the exit; retried before the start, bounded by phase
 * timeouts; always ends with one `done`. Unsubscribing closes the process and
 * the connection.
 */
import { Observable, defer, switchMap, type SchedulerLike, type Subscription } from 'rxjs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { classifyError, isTransient } from './classify-error.js';
import { retryBeforeStart } from './operators/retry-before-start.js';
import { deadline, phaseTimeouts } from './operators/phase-timeouts.js';
import type { ConnectRateLimiter } from './operators/rate-limit.js';
import type { BastionPool } from './bastion-pool.js';
import type { ConfigJump, JumpResolver } from './ssh-config-jump.js';
import type {
  Connector,
  FleetConnection,
  FleetConnectOptions,
  FleetProcess,
  FleetProcessExit,
  HostEvent,
  HostOutcome,
  HostResult,
  HostSpec,
  PhaseTimeouts,
} from './types.js';

export interface HostRunContext {
  connector: Connector;
  connectOptions: Partial<FleetConnectOptions>;
  limiter: ConnectRateLimiter | null;
  bastions: BastionPool | null;
  /** Finds a ProxyJump for hosts without `jump` (the user's ssh_config); none = don't look. */
  resolveJump?: JumpResolver;
  timeouts: PhaseTimeouts;
  retries: number;
  delay: (next: number) => number;
  idempotent: boolean;
  lines: boolean;
  /** Keep output in the result, up to this many characters per stream (0 = don't). */
  collectLimit: number;
  env?: Record<string, string>;
  /** Emits once when the run is aborted (one listener on the caller's AbortSignal, shared by all hosts). */
  abort$?: Observable<void>;
  isAborted?: () => boolean;
  scheduler: SchedulerLike;
}

/**
 * Work other than a command (Fleet.put): run on the connected host; resolves
 * when done (exit status 0), rejects as the host's error. `emit` reports
 * progress events; `signal` aborts with the attempt.
 */
export type HostJob = (conn: FleetConnection, emit: (e: HostEvent) => void, signal: AbortSignal) => Promise<void>;

export class ExitWithoutStatusError extends Error {
  readonly code = 'ERR_SSH_CONNECTION_LOST';
  constructor() {
    super('channel closed without an exit status');
  }
}

function abortError(): Error {
  const e = new Error('run aborted');
  e.name = 'AbortError';
  return e;
}

function streamEnded(s: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (s.readableEnded || s.destroyed) return resolve();
    s.once('end', resolve);
    s.once('close', resolve);
    s.once('error', () => resolve());
  });
}

/** Emits a stream as chunks or complete lines (without the line break). */
function pipeOutput(stream: Readable, type: 'stdout' | 'stderr', host: string, lines: boolean, emit: (e: HostEvent) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const push = (text: string): void => {
    if (text === '') return;
    if (!lines) return emit({ type, host, data: text });
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit({ type, host, data: pending.slice(0, nl).replace(/\r$/, '') });
      pending = pending.slice(nl + 1);
    }
  };
  stream.on('data', (chunk: Buffer | string) => push(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
  // A stream error is reported through wait(); without a listener it would crash the process.
  stream.on('error', () => undefined);
  return () => {
    push(decoder.end());
    if (lines && pending !== '') emit({ type, host, data: pending });
    pending = '';
  };
}

/** Runs a close() that may throw or return a rejecting promise, ignoring both. */
function quietly(fn: () => void | Promise<void> | undefined): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    /* already closed */
  }
}

function signalName(s: FleetProcessExit['exitSignal']): string | null {
  return s === null ? null : typeof s === 'string' ? s : s.signal;
}

/** The host's bastion: its own `jump`, or a ProxyJump the resolver finds for it. */
function jumpOf(spec: HostSpec, ctx: HostRunContext): ConfigJump | { jump: string; options?: undefined } | undefined {
  if (spec.jump !== undefined) return { jump: spec.jump };
  if (!ctx.resolveJump || !ctx.bastions) return undefined;
  const options: Partial<FleetConnectOptions> = { ...ctx.connectOptions, ...spec.options };
  if (spec.port !== undefined) options.port = spec.port;
  if (spec.username !== undefined) options.username = spec.username;
  return ctx.resolveJump(spec.host, options);
}

function attemptOnce(spec: HostSpec, command: string | HostJob, ctx: HostRunContext, attempt: number, via: ReturnType<typeof jumpOf>): Observable<HostEvent> {
  return new Observable<HostEvent>((subscriber) => {
    const ac = new AbortController();
    let conn: FleetConnection | null = null;
    let proc: FleetProcess | null = null;
    let release: (() => void) | null = null;
    let finished = false;
    const emit = (e: HostEvent): void => {
      if (!finished) subscriber.next(e);
    };
    const cleanup = (): void => {
      finished = true;
      ac.abort();
      quietly(() => proc?.close());
      quietly(() => conn?.close());
      release?.();
      release = null;
    };
    const host = spec.name;
    const run = async (): Promise<void> => {
      emit({ type: 'connecting', host, attempt });
      const options: FleetConnectOptions = { ...ctx.connectOptions, ...spec.options, signal: ac.signal };
      if (spec.port !== undefined) options.port = spec.port;
      if (spec.username !== undefined) options.username = spec.username;
      if (ctx.timeouts.connect && options.connectTimeout === undefined) options.connectTimeout = ctx.timeouts.connect;
      if (via !== undefined && ctx.bastions) {
        const lease = await ctx.bastions.lease(via.jump, ac.signal, via.options);
        if (finished) return lease.release();
        release = lease.release;
        // The client opens its direct-tcpip channel through the shared bastion (and still applies ssh_config to the target).
        options.tunnel = lease.tunnel;
      }
      const c = await ctx.connector(spec.host, options);
      if (finished) return quietly(() => c.close());
      conn = c;
      emit({ type: 'connected', host, attempt });
      if (typeof command !== 'string') {
        emit({ type: 'started', host, attempt });
        await command(c, emit, ac.signal);
        emit({ type: 'exit', host, exitStatus: 0, exitSignal: null });
        if (!finished) subscriber.complete();
        return;
      }
      // 'started' (no retry from here on) when the exec request leaves, not at its reply:
      // a connection lost in between may already have started the command on the host.
      const onStartRequested = (): void => emit({ type: 'started', host, attempt });
      const procOptions = { encoding: null, signal: ac.signal, onStartRequested, ...(ctx.env ? { env: ctx.env } : {}) };
      const p = await c.createProcess(command, procOptions);
      if (finished) return quietly(() => p.close());
      proc = p;
      const flushOut = pipeOutput(p.stdout, 'stdout', host, ctx.lines, emit);
      const flushErr = pipeOutput(p.stderr, 'stderr', host, ctx.lines, emit);
      p.stdin?.end();
      const [exit] = await Promise.all([p.wait(), streamEnded(p.stdout), streamEnded(p.stderr)]);
      flushOut();
      flushErr();
      if (exit.exitStatus === null && exit.exitSignal === null) throw new ExitWithoutStatusError();
      emit({ type: 'exit', host, exitStatus: exit.exitStatus, exitSignal: signalName(exit.exitSignal) });
      if (!finished) subscriber.complete();
    };
    run().catch((err: unknown) => {
      if (!finished) subscriber.error(err);
    });
    return cleanup;
  });
}

/** The full per-host stream: `connecting` ... `exit` | `error`, then `done`. */
export function runHost(spec: HostSpec, command: string | HostJob, ctx: HostRunContext): Observable<HostEvent> {
  const host = spec.name;
  return new Observable<HostEvent>((subscriber) => {
    const started = ctx.scheduler.now();
    let attempts = 0;
    let commandStarted = false;
    let exitStatus: number | null = null;
    let exitSignal: string | null = null;
    let stdout = '';
    let stderr = '';
    let error: HostResult['error'] = null;
    let inner: Subscription | null = null;
    let abortSub: Subscription | null = null;
    let ended = false;

    const collect = (prev: string, data: string): string => {
      if (ctx.collectLimit <= 0 || prev.length >= ctx.collectLimit) return prev;
      const add = ctx.lines ? data + '\n' : data;
      return (prev + add).slice(0, ctx.collectLimit);
    };
    const finish = (): void => {
      if (ended) return;
      ended = true;
      abortSub?.unsubscribe();
      let outcome: HostOutcome;
      if (error) outcome = error.kind === 'aborted' ? 'aborted' : commandStarted ? 'failed' : 'unreachable';
      else outcome = exitStatus === 0 && exitSignal === null ? 'succeeded' : 'failed';
      const result: HostResult = {
        host,
        outcome,
        exitStatus,
        exitSignal,
        stdout,
        stderr,
        error,
        commandStarted,
        attempts,
        durationMs: ctx.scheduler.now() - started,
      };
      subscriber.next({ type: 'done', host, result });
      subscriber.complete();
    };
    const fail = (err: unknown): void => {
      const c = classifyError(err);
      if (c.kind === 'timeout' && c.phase === undefined) c.phase = commandStarted ? 'command' : 'connect';
      error = c;
      subscriber.next({ type: 'error', host, ...c, attempt: attempts, commandStarted });
      finish();
    };
    const onAbort = (): void => {
      inner?.unsubscribe();
      inner = null;
      if (!ended) fail(abortError());
    };

    if (ctx.isAborted?.()) {
      fail(abortError());
      return;
    }
    let via: ReturnType<typeof jumpOf>;
    try {
      via = jumpOf(spec, ctx);
    } catch (err) {
      fail(err);
      return;
    }
    // Hosts behind a bastion share its rate bucket: their connects all start there.
    const rateKey = via !== undefined ? `via:${via.jump}` : `addr:${spec.host}`;
    abortSub = ctx.abort$?.subscribe(onAbort) ?? null;

    const attempt$ = defer(() => {
      const n = attempts + 1;
      const gate = ctx.limiter ? ctx.limiter.acquire(rateKey) : new Observable<void>((s) => (s.next(), s.complete()));
      return gate.pipe(
        switchMap(() => {
          attempts = n;
          commandStarted = false;
          return attemptOnce(spec, command, ctx, n, via).pipe(
            phaseTimeouts(
              { connect: ctx.timeouts.connect, command: ctx.timeouts.command, idle: ctx.timeouts.idle },
              {
                isConnected: (e) => e.type === 'connected',
                isStarted: (e) => e.type === 'started',
                isActivity: (e) => e.type === 'stdout' || e.type === 'stderr' || e.type === 'file',
              },
              ctx.scheduler,
            ),
          );
        }),
      );
    });
    inner = attempt$
      .pipe(
        retryBeforeStart<HostEvent>({
          retries: ctx.retries,
          idempotent: ctx.idempotent,
          isStart: (e) => e.type === 'started',
          isRetryable: (err) => isTransient(classifyError(err).kind),
          delay: ctx.delay,
          retryValue: (err, next, delayMs) => {
            const c = classifyError(err);
            return { type: 'retry', host, attempt: next, delayMs, kind: c.kind, message: c.message };
          },
          scheduler: ctx.scheduler,
        }),
        deadline<HostEvent>(ctx.timeouts.total, ctx.scheduler),
      )
      .subscribe({
        next: (e) => {
          if (e.type === 'started') commandStarted = true;
          else if (e.type === 'stdout') stdout = collect(stdout, e.data);
          else if (e.type === 'stderr') stderr = collect(stderr, e.data);
          else if (e.type === 'exit') {
            exitStatus = e.exitStatus;
            exitSignal = e.exitSignal;
          }
          subscriber.next(e);
        },
        error: fail,
        complete: finish,
      });
    return () => {
      abortSub?.unsubscribe();
      inner?.unsubscribe();
    };
  });
}
