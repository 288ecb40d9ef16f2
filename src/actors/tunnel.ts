/**
 * Jump hosts: the `tunnel` connect option. A tunnel is an open client
 * connection (the new connection runs inside one of its direct-tcpip
 * channels) or a ProxyJump string, `[user@]host[:port],...` (also
 * `ssh://user@host:port` and `[v6addr]:port`), connected hop by hop, each hop
 * through the one before, with the caller's key and known_hosts options.
 *
 * Connections made from the same string share the hops: a process-wide pool
 * keyed by the (prefix of the) string, reference counted; a hop is closed
 * when the last connection through it closed.
 */
import type { Duplex } from 'node:stream';

/** What a tunnel must offer: a direct-tcpip channel as a Duplex. */
export interface TunnelConnection {
  openConnection(host: string, port: number): Promise<Duplex>;
  close(): Promise<void>;
  waitClosed(): Promise<void>;
  readonly closed: boolean;
}

export interface JumpHop {
  username: string | undefined;
  host: string;
  port: number;
}

/** Parses an OpenSSH ProxyJump value; throws TypeError naming `tunnel` on a bad hop. */
export function parseJumpHosts(spec: string): JumpHop[] {
  if (typeof spec !== 'string' || spec.trim() === '') throw new TypeError('tunnel: expected a connection or "[user@]host[:port],..."');
  return spec.split(',').map((raw) => {
    let s = raw.trim();
    if (s.startsWith('ssh://')) s = s.slice(6).replace(/\/$/, '');
    let username: string | undefined;
    const at = s.lastIndexOf('@');
    if (at >= 0) {
      username = s.slice(0, at);
      s = s.slice(at + 1);
    }
    let host = s;
    let port = 22;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (v6) {
      host = v6[1]!;
      if (v6[2] !== undefined) port = Number(v6[2]);
    } else if (s.includes(':')) {
      const i = s.lastIndexOf(':');
      host = s.slice(0, i);
      port = Number(s.slice(i + 1));
    }
    if (host === '' || /[\s/]/.test(host) || username === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(`tunnel: bad jump host ${JSON.stringify(raw)}`);
    }
    return { username, host, port };
  });
}

export type HopConnector = (hop: JumpHop, through: TunnelConnection | null) => Promise<TunnelConnection>;

interface PoolEntry {
  conn: Promise<TunnelConnection>;
  refs: number;
  /** Releases the hop this one runs through. */
  releaseParent: () => void;
}

const pool = new Map<string, PoolEntry>();

/** Number of hop connections held by the pool (for tests and diagnostics). */
export function tunnelPoolSize(): number {
  return pool.size;
}

function dropEntry(key: string, entry: PoolEntry): void {
  if (pool.get(key) === entry) pool.delete(key);
  entry.conn.then(
    (c) => c.close().catch(() => undefined),
    () => undefined,
  ).finally(() => entry.releaseParent());
}

/** A reference to the connection to the last hop of `hops[0..n]`, opened on first use. */
async function acquire(hops: readonly JumpHop[], n: number, connectHop: HopConnector): Promise<{ conn: TunnelConnection; release: () => void }> {
  const key = hops
    .slice(0, n + 1)
    .map((h) => `${h.username ?? ''}@${h.host}:${h.port}`)
    .join(',');
  let entry = pool.get(key);
  if (!entry) {
    let releaseParent = (): void => undefined;
    const created: PoolEntry = {
      refs: 0,
      releaseParent: () => releaseParent(),
      conn: (async () => {
        let through: TunnelConnection | null = null;
        if (n > 0) {
          const parent = await acquire(hops, n - 1, connectHop);
          releaseParent = parent.release;
          through = parent.conn;
        }
        try {
          const c = await connectHop(hops[n]!, through);
          void c.waitClosed().then(() => {
            if (pool.get(key) === created) pool.delete(key);
          });
          return c;
        } catch (err) {
          releaseParent();
          releaseParent = () => undefined;
          throw err;
        }
      })(),
    };
    entry = created;
    pool.set(key, entry);
    entry.conn.catch(() => pool.get(key) === created && pool.delete(key));
  }
  const e = entry;
  e.refs++;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    e.refs--;
    if (e.refs === 0) dropEntry(key, e);
  };
  try {
    const conn = await e.conn;
    if (conn.closed) throw new Error(`jump host ${hops[n]!.host}:${hops[n]!.port}: connection closed`);
    return { conn, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A channel to host:port through `tunnel` and a release function to call once
 * the connection running over it has closed.
 */
export async function openTunnel(
  tunnel: TunnelConnection | string,
  host: string,
  port: number,
  connectHop: HopConnector,
): Promise<{ sock: Duplex; release: () => void }> {
  if (typeof tunnel !== 'string') return { sock: await tunnel.openConnection(host, port), release: () => undefined };
  const hops = parseJumpHosts(tunnel);
  const last = await acquire(hops, hops.length - 1, connectHop);
  try {
    return { sock: await last.conn.openConnection(host, port), release: last.release };
  } catch (err) {
    last.release();
    throw err;
  }
}
