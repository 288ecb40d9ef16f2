/**
 * A fleet: an inventory plus fleet-wide options. `run` streams per-host
 * events with bounded concurrency; `runAll` collects per-host results.
 */
import { Observable, Subject, asyncScheduler, from, merge, mergeMap, type SchedulerLike } from 'rxjs';
import { BastionPool } from './bastion-pool.js';
import { exponentialBackoff, seededRandom, type BackoffOptions } from './backoff.js';
import { runHost, type HostJob, type HostRunContext } from './host-run.js';
import { ConnectRateLimiter, type RateSpec } from './operators/rate-limit.js';
import { hostsFromStrings } from './inventory/hosts-file.js';
import { loadInventory } from './inventory/load-inventory.js';
import { defaultConnector } from './default-connector.js';
import { jumpFromSshConfig, type JumpResolver } from './ssh-config-jump.js';
import type { Connector, FleetConnectOptions, FleetSftp, HostEvent, HostResult, HostSpec, PhaseTimeouts } from './types.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface FleetOptions {
  /** The SSH client; default the package's `connect()`. */
  connector?: Connector;
  /** Fleet-wide connect options (per-host inventory values override them). */
  connect?: Partial<FleetConnectOptions>;
  /** Hosts in flight at once (default 100). */
  concurrency?: number;
  /** Connect-rate limits: all connects, and per target address or bastion. */
  connectRate?: { global?: RateSpec; perTarget?: RateSpec };
  timeouts?: PhaseTimeouts;
  /** Extra attempts for failures before the command started (default 2). */
  retries?: number;
  backoff?: BackoffOptions;
  /** Seed of the backoff jitter (default fixed); ignored if backoff.random is given. */
  seed?: number;
  scheduler?: SchedulerLike;
  /** How long an unused bastion connection stays open (ms, default 1000). */
  bastionLingerMs?: number;
  /** How long a failed bastion connect is reused as the answer for its hosts (ms, default 1000). */
  bastionFailureHoldMs?: number;
  /**
   * Where hosts without a `jump` find their ProxyJump. Default: the user's
   * ssh_config (as `connect()` reads it) when the connector is the default
   * one, nothing with a custom connector; `null` = never.
   */
  jumpResolver?: JumpResolver | null;
}

export interface RunOptions {
  /** Emit stdout/stderr per line instead of per chunk. */
  lines?: boolean;
  /** The command may safely run twice: retry even after it started. */
  idempotent?: boolean;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Keep this many characters of each stream in the `done` result (default 0; runAll: 1 MiB). */
  collect?: number;
  timeouts?: PhaseTimeouts;
  retries?: number;
}

/** Fleet.put and Fleet.get: the client transfer's options, and run's connection handling (retries default to after-start too). */
export interface PutOptions extends Pick<RunOptions, 'signal' | 'timeouts' | 'retries' | 'idempotent'> {
  recurse?: boolean;
  preserve?: boolean;
  followSymlinks?: boolean;
}

/** Fleet.get takes the same options as put. */
export type GetOptions = PutOptions;

export interface FleetSummary {
  total: number;
  succeeded: number;
  failed: number;
  unreachable: number;
  aborted: number;
  /** Errors by kind (hosts whose last word was an error). */
  errors: Record<string, number>;
  durationMs: number;
}

export interface FleetRunResult {
  results: HostResult[];
  succeeded: HostResult[];
  failed: HostResult[];
  unreachable: HostResult[];
  aborted: HostResult[];
  summary: FleetSummary;
}

function checkHosts(hosts: HostSpec[]): HostSpec[] {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.name)) throw new RangeError(`inventory: host name ${JSON.stringify(h.name)} appears twice`);
    seen.add(h.name);
  }
  return hosts;
}

export class Fleet {
  readonly hosts: readonly HostSpec[];
  private readonly options: FleetOptions;

  /** A fleet from an inventory file (hosts file, JSON, Ansible INI/YAML, ssh_config; format detected). */
  static async fromInventory(path: string, options: FleetOptions = {}): Promise<Fleet> {
    return new Fleet(await loadInventory(path), options);
  }

  constructor(inventory: Iterable<HostSpec | string>, options: FleetOptions = {}) {
    if (typeof inventory === 'string') {
      // A string is iterable (by character): never what the caller meant.
      throw new TypeError('inventory: expected host names or HostSpec objects; for an inventory file use await Fleet.fromInventory(path)');
    }
    const list = [...inventory];
    const specs = list.every((x) => typeof x === 'string')
      ? hostsFromStrings(list as string[])
      : list.map((x) => (typeof x === 'string' ? hostsFromStrings([x]) : [x])).flat();
    this.hosts = checkHosts(specs);
    if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1))
      throw new RangeError('concurrency must be an integer >= 1');
    if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0))
      throw new RangeError('retries must be an integer >= 0');
    this.options = options;
  }

  run(command: string, runOptions: RunOptions = {}): Observable<HostEvent> {
    if (typeof command !== 'string' || command === '') throw new TypeError('command must be a non-empty string');
    return this.start(() => command, runOptions);
  }

  /**
   * Copies local files (directories with `recurse`) to every host over SFTP
   * (the client's `put`): the same connection handling, concurrency, retries
   * and timeouts as `run`. `remotePath` may depend on the host. A 'file'
   * event reports each file done; a host succeeds when its put completes. A
   * put is safe to repeat, so it is retried after it started, too.
   */
  put(localPaths: string | readonly string[], remotePath: string | ((host: HostSpec) => string), options: PutOptions = {}): Observable<HostEvent> {
    const sources = pathList('localPaths', 'local', localPaths);
    checkTarget('remotePath', 'a remote path', remotePath);
    return this.transfer(options, (spec) => {
      const dst = typeof remotePath === 'function' ? remotePath(spec) : remotePath;
      return (sftp, progressHandler) => sftp.put(sources, dst, { ...transferFlags(options), progressHandler });
    });
  }

  /** An SFTP session per host running `body`, with a 'file' event per finished file. */
  private transfer(options: PutOptions, bodyFor: (spec: HostSpec) => (sftp: FleetSftp, progressHandler: (src: string, dst: string, done: number, total: number) => void) => Promise<void>): Observable<HostEvent> {
    const { recurse: _r, preserve: _p, followSymlinks: _f, ...runOptions } = options;
    const job = (spec: HostSpec): HostJob => {
      const body = bodyFor(spec);
      return async (conn, emit, signal) => {
        if (!conn.startSftpClient) throw new TypeError('connector: its connections have no startSftpClient(), which Fleet.put and get need');
        const sftp = await conn.startSftpClient();
        const stop = (): void => sftp.exit();
        signal.addEventListener('abort', stop, { once: true });
        try {
          await body(sftp, (_src, path, done, total) => {
            if (done === total) emit({ type: 'file', host: spec.name, path, bytes: total });
          });
        } finally {
          signal.removeEventListener('abort', stop);
          sftp.exit();
        }
      };
    };
    return this.start(job, { idempotent: true, ...runOptions });
  }

  /**
   * Copies remote files from every host into a local directory of its own:
   * `localDir(host)`, or `<localDir>/<host name>` for a string (made when
   * missing), so hosts never overwrite each other (parallel-ssh's pslurp).
   * Same handling and events as put; a get is retried after it started too.
   */
  get(remotePaths: string | readonly string[], localDir: string | ((host: HostSpec) => string), options: GetOptions = {}): Observable<HostEvent> {
    const sources = pathList('remotePaths', 'remote', remotePaths);
    checkTarget('localDir', 'a local directory', localDir);
    return this.transfer(options, (spec) => {
      const dir = typeof localDir === 'function' ? localDir(spec) : join(localDir, safeHostDir(spec.name));
      return async (sftp, progressHandler) => {
        await mkdir(dir, { recursive: true });
        await sftp.get(sources, dir, { ...transferFlags(options), progressHandler });
      };
    });
  }

  /** get to the end, grouped per host. */
  getAll(remotePaths: string | readonly string[], localDir: string | ((host: HostSpec) => string), options: GetOptions = {}): Promise<FleetRunResult> {
    return collectResults(this.get(remotePaths, localDir, options));
  }

  /** put to the end, grouped per host as runAll groups a command's results. */
  putAll(localPaths: string | readonly string[], remotePath: string | ((host: HostSpec) => string), options: PutOptions = {}): Promise<FleetRunResult> {
    return collectResults(this.put(localPaths, remotePath, options));
  }

  private start(work: (host: HostSpec) => string | HostJob, runOptions: RunOptions): Observable<HostEvent> {
    return new Observable<HostEvent>((subscriber) => {
      const o = this.options;
      const scheduler = o.scheduler ?? asyncScheduler;
      const connector = o.connector ?? defaultConnector;
      const random = o.backoff?.random ?? seededRandom(o.seed ?? 0x5eed);
      const resolveJump = o.jumpResolver === undefined ? (o.connector ? undefined : jumpFromSshConfig) : (o.jumpResolver ?? undefined);
      const bastions = resolveJump !== undefined || this.hosts.some((h) => h.jump !== undefined)
        ? new BastionPool(connector, o.connect ?? {}, o.bastionLingerMs ?? 1000, o.bastionFailureHoldMs ?? 1000)
        : null;
      const rate = o.connectRate;
      const limiter =
        rate && (rate.global || rate.perTarget)
          ? new ConnectRateLimiter({
              ...(rate.global ? { global: rate.global } : {}),
              ...(rate.perTarget ? { perKey: rate.perTarget } : {}),
              scheduler,
            })
          : null;
      const signal = runOptions.signal;
      const abort$ = new Subject<void>();
      const onAbort = (): void => abort$.next();
      signal?.addEventListener('abort', onAbort, { once: true });
      const ctx: HostRunContext = {
        connector,
        connectOptions: o.connect ?? {},
        limiter,
        bastions,
        ...(resolveJump ? { resolveJump } : {}),
        timeouts: { ...o.timeouts, ...runOptions.timeouts },
        retries: runOptions.retries ?? o.retries ?? 2,
        delay: exponentialBackoff({ ...o.backoff, random }),
        idempotent: runOptions.idempotent ?? false,
        lines: runOptions.lines ?? false,
        collectLimit: runOptions.collect ?? 0,
        scheduler,
        ...(runOptions.env ? { env: runOptions.env } : {}),
        ...(signal ? { abort$, isAborted: () => signal.aborted } : {}),
      };
      const queued = from(this.hosts.map((h): HostEvent => ({ type: 'queued', host: h.name })));
      const runs = from(this.hosts).pipe(mergeMap((h) => runHost(h, work(h), ctx), o.concurrency ?? 100));
      const sub = merge(queued, runs).subscribe(subscriber);
      return () => {
        signal?.removeEventListener('abort', onAbort);
        sub.unsubscribe();
        bastions?.closeAll();
      };
    });
  }

  /** Runs to the end and groups the per-host results. */
  runAll(command: string, runOptions: RunOptions = {}): Promise<FleetRunResult> {
    return collectResults(this.run(command, { collect: 1 << 20, ...runOptions }));
  }
}

/** put/get sources: one path or several, none empty (TypeError naming `name` otherwise). */
function pathList(name: string, side: 'local' | 'remote', paths: string | readonly string[]): string[] {
  const list = typeof paths === 'string' ? [paths] : [...paths];
  if (list.length === 0 || list.some((p) => typeof p !== 'string' || p === '')) throw new TypeError(`${name}: expected one or more ${side} paths`);
  return list;
}

/** put/get destination: a non-empty path or a function of the host. */
function checkTarget(name: string, what: string, target: unknown): void {
  if (typeof target !== 'function' && (typeof target !== 'string' || target === '')) throw new TypeError(`${name}: expected ${what} or a function of the host`);
}

function transferFlags(o: PutOptions): { recurse?: boolean; preserve?: boolean; followSymlinks?: boolean } {
  return {
    ...(o.recurse !== undefined ? { recurse: o.recurse } : {}),
    ...(o.preserve !== undefined ? { preserve: o.preserve } : {}),
    ...(o.followSymlinks !== undefined ? { followSymlinks: o.followSymlinks } : {}),
  };
}

/** A host name as one safe directory name (a name such as "web1:2222" or "../x" must not leave the parent). */
function safeHostDir(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._@-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

function collectResults(events: Observable<HostEvent>): Promise<FleetRunResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const results: HostResult[] = [];
    events.subscribe({
      next: (e) => {
        if (e.type === 'done') results.push(e.result);
      },
      error: reject,
      complete: () => resolve(summarize(results, Date.now() - t0)),
    });
  });
}

export function summarize(results: HostResult[], durationMs: number): FleetRunResult {
  const by = (o: HostResult['outcome']): HostResult[] => results.filter((r) => r.outcome === o);
  const errors: Record<string, number> = {};
  for (const r of results) if (r.error) errors[r.error.kind] = (errors[r.error.kind] ?? 0) + 1;
  const succeeded = by('succeeded');
  const failed = by('failed');
  const unreachable = by('unreachable');
  const aborted = by('aborted');
  return {
    results,
    succeeded,
    failed,
    unreachable,
    aborted,
    summary: {
      total: results.length,
      succeeded: succeeded.length,
      failed: failed.length,
      unreachable: unreachable.length,
      aborted: aborted.length,
      errors,
      durationMs,
    },
  };
}
