/**
 * ProxyJump for fleets: targets behind one bastion share one connection to
 * it. The bastion is opened once (concurrent callers wait on the same
 * connect) and lent to each target as its `tunnel` (the client opens a
 * direct-tcpip channel through it); it is closed when no target has used it
 * for `lingerMs`, and forgotten as soon as it closes, so the next target
 * connects again. A failed connect is remembered for `failureHoldMs`: the
 * hosts behind a dead bastion (and their retries within that time) share one
 * failure instead of each dialling it again. A chain `a,b` is reached as `b` through `a` (the
 * client's own tunnel option carries the earlier hops).
 */
import type { Connector, FleetConnection, FleetConnectOptions } from './types.js';
import { parseTarget } from './target.js';
import { classifyError } from './classify-error.js';

export class ForwardingUnavailableError extends Error {
  readonly code = 'ERR_FLEET_NO_FORWARDING';
  constructor(bastion: string) {
    super(`bastion ${bastion}: the client connection has no openConnection() (port forwarding not available)`);
  }
}

/**
 * The bastion itself could not be reached or logged into. Keeps the code of
 * its cause (ECONNREFUSED, ERR_SSH_PERMISSION_DENIED, ...) so the fleet
 * classifies it like a failure of the target, and names the bastion.
 */
export class BastionError extends Error {
  readonly code: string;
  constructor(readonly bastion: string, cause: unknown) {
    const msg = cause instanceof Error ? cause.message || cause.name : String(cause);
    super(`bastion ${bastion}: ${msg}`, { cause });
    this.name = 'BastionError';
    // The most telling code of the cause (a socket errno under a ConnectionLost, say).
    this.code = classifyError(cause).code ?? 'ERR_FLEET_BASTION';
  }
}

export interface BastionLease {
  /** The shared connection to the bastion; pass it as the target's `tunnel`. */
  tunnel: FleetConnection;
  release(): void;
}

interface Entry {
  conn: Promise<FleetConnection>;
  refs: number;
  /** Close-when-unused timer, or (after a failed connect) forget-the-failure timer. */
  linger: ReturnType<typeof setTimeout> | null;
  failed: boolean;
}

/** Options of the connect to the last hop of `jump` (`[user@]host[:port]`, or a chain `hop1,hop2`). */
export function bastionConnectArgs(jump: string, base: Partial<FleetConnectOptions>): { host: string; options: FleetConnectOptions } {
  const hops = jump.split(',').map((h) => h.trim());
  if (hops.some((h) => h === '')) throw new RangeError(`bad jump host list ${JSON.stringify(jump)}`);
  const last = parseTarget(hops[hops.length - 1]!);
  const options: FleetConnectOptions = { ...base };
  delete options.sock;
  delete options.signal;
  delete options.tunnel;
  delete options.port;
  if (last.port !== undefined) options.port = last.port;
  if (last.username !== undefined) options.username = last.username;
  if (hops.length > 1) options.tunnel = hops.slice(0, -1).join(',');
  return { host: last.host, options };
}

export class BastionPool {
  private readonly entries = new Map<string, Entry>();
  /** Bastion connects made so far (for tests and diagnostics). */
  connects = 0;

  constructor(
    private readonly connector: Connector,
    private readonly baseOptions: Partial<FleetConnectOptions> = {},
    private readonly lingerMs = 1000,
    private readonly failureHoldMs = 1000,
  ) {}

  /** Number of open (or opening) bastion connections. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The connection to bastion `jump`, opened on first use. `options`, if
   * given, replace the pool's base options for a bastion not yet open.
   */
  async lease(jump: string, signal?: AbortSignal, options?: Partial<FleetConnectOptions>): Promise<BastionLease> {
    const entry = this.entryFor(jump, options ?? this.baseOptions);
    entry.refs += 1;
    if (entry.linger && !entry.failed) {
      clearTimeout(entry.linger);
      entry.linger = null;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      entry.refs -= 1;
      if (entry.refs === 0 && !entry.failed && this.entries.get(jump) === entry) {
        entry.linger = setTimeout(() => this.drop(jump, entry), this.lingerMs);
        entry.linger.unref?.();
      }
    };
    try {
      let conn: FleetConnection;
      try {
        conn = await entry.conn;
      } catch (err) {
        throw new BastionError(jump, err);
      }
      signal?.throwIfAborted();
      if (!conn.openConnection) throw new ForwardingUnavailableError(jump);
      return { tunnel: conn, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Closes every bastion connection now. */
  closeAll(): void {
    for (const [jump, entry] of [...this.entries]) this.drop(jump, entry);
  }

  private entryFor(jump: string, base: Partial<FleetConnectOptions>): Entry {
    const existing = this.entries.get(jump);
    if (existing) return existing;
    let conn: Promise<FleetConnection>;
    try {
      const { host, options } = bastionConnectArgs(jump, base);
      this.connects += 1;
      conn = this.connector(host, options);
    } catch (err) {
      conn = Promise.reject(err);
    }
    const entry: Entry = { conn, refs: 0, linger: null, failed: false };
    const forget = (): void => {
      if (this.entries.get(jump) !== entry) return;
      this.entries.delete(jump);
      if (entry.linger) clearTimeout(entry.linger);
      entry.linger = null;
    };
    // A closed bastion is forgotten at once; a failed connect after failureHoldMs, so a later attempt dials again.
    conn.then(
      (c) => void c.waitClosed?.().then(forget, forget),
      () => {
        entry.failed = true;
        if (this.failureHoldMs <= 0) return forget();
        entry.linger = setTimeout(forget, this.failureHoldMs);
        entry.linger.unref?.();
      },
    );
    this.entries.set(jump, entry);
    return entry;
  }

  private drop(jump: string, entry: Entry): void {
    if (entry.linger) clearTimeout(entry.linger);
    entry.linger = null;
    if (this.entries.get(jump) === entry) this.entries.delete(jump);
    entry.conn.then(
      (c) => {
        try {
          const r = c.close();
          if (r instanceof Promise) r.catch(() => undefined);
        } catch {
          /* already closed */
        }
      },
      () => undefined,
    );
  }
}
