/**
 * Jump hosts: the `tunnel` connect option. A tunnel is an open client
 * connection (the new connection runs inside one of its direct-tcpip
 * channels) or a ProxyJump string, `[user@]host[:port],...` (also
 * `ssh://user@host:port` and `[v6addr]:port`), connected hop by hop, each hop
 * through the one before, with the caller's key and known_hosts options.
 *
 * Connections made from the same string share the hops: a process-wide pool
 * keyed by the (prefix of the) string, reference counted. A hop lingers
 * `tunnelLinger` ms (default 3 s) after the last connection through it
 * closed, so sequential connections reuse it; while no connection uses a
 * chain, neither its timers nor its first hop's socket keep the process
 * alive. When a lingering hop closes, the hops under it close at once.
 */
import type { Duplex } from 'node:stream';

/** What a tunnel must offer: a direct-tcpip channel as a Duplex. */
export interface TunnelConnection {
  openConnection(host: string, port: number): Promise<Duplex>;
  close(): Promise<void>;
  waitClosed(): Promise<void>;
  readonly closed: boolean;
  /** Present on client connections: lets a lingering hop stop holding the process open. */
  readonly forwarding?: { keepProcessAlive(on: boolean): void };
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

/** How long a shared hop stays open after its last user closed, by default (ms). */
export const DEFAULT_TUNNEL_LINGER = 3000;

interface PoolEntry {
  conn: Promise<TunnelConnection>;
  refs: number;
  /** Releases the hop this one runs through. */
  releaseParent: (lingerMs: number) => void;
  /** Closes the hop once its linger ran out with no new user; unref'd. */
  lingerTimer: ReturnType<typeof setTimeout> | null;
}

const pool = new Map<string, PoolEntry>();
/** Open tunnels (not hops) per first hop: while 0, the first hop's socket does not keep the process alive. */
const usersByRoot = new Map<string, number>();

/** Number of hop connections held by the pool (for tests and diagnostics). */
export function tunnelPoolSize(): number {
  return pool.size;
}

function hopKey(hops: readonly JumpHop[], n: number): string {
  return hops
    .slice(0, n + 1)
    .map((h) => `${h.username ?? ''}@${h.host}:${h.port}`)
    .join(',');
}

/** The connection's socket keeps the process alive or not (only a first hop has a TCP socket). */
function keepAlive(conn: TunnelConnection, on: boolean): void {
  conn.forwarding?.keepProcessAlive(on);
}

function dropEntry(key: string, entry: PoolEntry): void {
  if (pool.get(key) === entry) pool.delete(key);
  entry.conn.then(
    (c) => c.close().catch(() => undefined),
    () => undefined,
  ).finally(() => entry.releaseParent(0));
}

/** A reference to the connection to the last hop of `hops[0..n]`, opened on first use. */
async function acquire(hops: readonly JumpHop[], n: number, connectHop: HopConnector): Promise<{ conn: TunnelConnection; release: (lingerMs: number) => void }> {
  const key = hopKey(hops, n);
  let entry = pool.get(key);
  if (!entry) {
    let releaseParent = (_lingerMs: number): void => undefined;
    const created: PoolEntry = {
      refs: 0,
      lingerTimer: null,
      releaseParent: (ms) => releaseParent(ms),
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
          releaseParent(0);
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
  if (e.lingerTimer) {
    clearTimeout(e.lingerTimer);
    e.lingerTimer = null;
  }
  let released = false;
  const release = (lingerMs: number): void => {
    if (released) return;
    released = true;
    e.refs--;
    if (e.refs > 0) return;
    if (lingerMs <= 0 || pool.get(key) !== e) return dropEntry(key, e);
    e.lingerTimer = setTimeout(() => {
      e.lingerTimer = null;
      if (e.refs === 0) dropEntry(key, e);
    }, lingerMs);
    e.lingerTimer.unref();
  };
  try {
    const conn = await e.conn;
    if (conn.closed) throw new Error(`jump host ${hops[n]!.host}:${hops[n]!.port}: connection closed`);
    return { conn, release };
  } catch (err) {
    release(0);
    throw err;
  }
}

/** Counts an open tunnel through the first hop of `hops`; returns the function that uncounts it. */
async function countUser(hops: readonly JumpHop[]): Promise<() => void> {
  const root = hopKey(hops, 0);
  usersByRoot.set(root, (usersByRoot.get(root) ?? 0) + 1);
  const rootConn = await pool.get(root)?.conn.catch(() => null);
  if (rootConn) keepAlive(rootConn, true);
  return () => {
    const left = (usersByRoot.get(root) ?? 1) - 1;
    if (left > 0) return void usersByRoot.set(root, left);
    usersByRoot.delete(root);
    // Lingering hops must not hold the process open: their timers are
    // unref'd, and so is the first hop's socket until a new user comes.
    void pool.get(root)?.conn.then((c) => usersByRoot.has(root) || keepAlive(c, false), () => undefined);
  };
}

/**
 * A channel to host:port through `tunnel` and a release function to call once
 * the connection running over it has closed. Hops of a string tunnel stay
 * open `lingerMs` after their last user released them (0: close at once), so
 * connections made one after another share them.
 */
export async function openTunnel(
  tunnel: TunnelConnection | string,
  host: string,
  port: number,
  connectHop: HopConnector,
  lingerMs = DEFAULT_TUNNEL_LINGER,
): Promise<{ sock: Duplex; release: () => void }> {
  if (typeof tunnel !== 'string') return { sock: await tunnel.openConnection(host, port), release: () => undefined };
  const hops = parseJumpHosts(tunnel);
  const last = await acquire(hops, hops.length - 1, connectHop);
  try {
    const sock = await last.conn.openConnection(host, port);
    const uncount = await countUser(hops);
    return {
      sock,
      release: () => {
        uncount();
        last.release(lingerMs);
      },
    };
  } catch (err) {
    last.release(lingerMs);
    throw err;
  }
}
