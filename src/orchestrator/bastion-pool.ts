/**
 * ProxyJump for fleets: targets behind one bastion share one connection to
 * it. The bastion is opened once (concurrent callers wait on the same
 * connect), each target gets a direct-tcpip channel as its `sock`, and the
 * bastion is closed when no target has used it for `lingerMs`.
 */
import type { Duplex } from 'node:stream';
import type { Connector, FleetConnection, FleetConnectOptions } from './types.js';
import { parseTarget } from './target.js';

export class ForwardingUnavailableError extends Error {
  readonly code = 'ERR_FLEET_NO_FORWARDING';
  constructor(bastion: string) {
    super(`bastion ${bastion}: the client connection has no openConnection() (port forwarding not available)`);
  }
}

export interface BastionLease {
  sock: Duplex;
  release(): void;
}

interface Entry {
  conn: Promise<FleetConnection>;
  refs: number;
  linger: ReturnType<typeof setTimeout> | null;
}

export class BastionPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly connector: Connector,
    private readonly baseOptions: Partial<FleetConnectOptions> = {},
    private readonly lingerMs = 1000,
  ) {}

  /** Number of open (or opening) bastion connections. */
  get size(): number {
    return this.entries.size;
  }

  /** A channel to `host:port` through bastion `jump` (`[user@]host[:port]`). */
  async open(jump: string, host: string, port: number, signal?: AbortSignal): Promise<BastionLease> {
    const entry = this.entryFor(jump);
    entry.refs += 1;
    if (entry.linger) {
      clearTimeout(entry.linger);
      entry.linger = null;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      entry.refs -= 1;
      if (entry.refs === 0 && this.entries.get(jump) === entry) {
        entry.linger = setTimeout(() => this.drop(jump, entry), this.lingerMs);
        entry.linger.unref?.();
      }
    };
    try {
      const conn = await entry.conn;
      signal?.throwIfAborted();
      if (!conn.openConnection) throw new ForwardingUnavailableError(jump);
      const sock = await conn.openConnection(host, port);
      return { sock, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Closes every bastion connection now. */
  closeAll(): void {
    for (const [jump, entry] of [...this.entries]) this.drop(jump, entry);
  }

  private entryFor(jump: string): Entry {
    const existing = this.entries.get(jump);
    if (existing) return existing;
    const t = parseTarget(jump);
    const options: FleetConnectOptions = { ...this.baseOptions };
    if (t.port !== undefined) options.port = t.port;
    if (t.username !== undefined) options.username = t.username;
    delete options.sock;
    delete options.signal;
    const entry: Entry = { conn: this.connector(t.host, options), refs: 0, linger: null };
    // A failed bastion connect is forgotten so the next attempt tries again.
    entry.conn.catch(() => {
      if (this.entries.get(jump) === entry) this.entries.delete(jump);
    });
    this.entries.set(jump, entry);
    return entry;
  }

  private drop(jump: string, entry: Entry): void {
    if (entry.linger) clearTimeout(entry.linger);
    entry.linger = null;
    if (this.entries.get(jump) === entry) this.entries.delete(jump);
    entry.conn.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}
