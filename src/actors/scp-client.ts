/**
 * `scp(source, destination, options)`, as AsyncSSH documents it: copies
 * local -> remote, remote -> local, and remote -> remote (third party: the
 * data streams through this process between two connections) with the
 * legacy SCP protocol (remote `scp -t` / `scp -f`).
 *
 * A path is a string (`[user@]host:path` is remote, as OpenSSH's colon
 * rule decides; anything else is local), an open connection (its default
 * directory), `[host, path]` where host is a connection or connect options
 * with `host` (a list of strings is several paths), or `{conn | host, path}`. Hosts given by
 * name are connected with `options` (as connect()) and closed afterwards.
 * Local sources may hold wildcards; remote source wildcards are expanded by
 * the remote shell and every top-level name the server sends must match.
 */
import { basename, posix, resolve } from 'node:path';
import type { SSHClientConnection } from './client.js';
import { connect } from './client.js';
import type { ConnectOptions } from './client-options.js';
import type { SSHClientChannel } from './client-session.js';
import { localScpFiles, runRelay, runSink, runSource, type ScpPeer, type ScpRunOptions } from './scp-engine.js';
import { ScpError } from './scp-errors.js';
import { ScpReader } from './scp-stream.js';
import { globLocal, hasMagic } from './sftp-glob.js';

export type ScpHost = SSHClientConnection | string | (ConnectOptions & { host: string });
export type ScpPath = string | SSHClientConnection | [Exclude<ScpHost, string>, string] | { conn?: SSHClientConnection; host?: ScpHost; path: string };

export interface ScpOptions extends ConnectOptions {
  preserve?: boolean;
  recurse?: boolean;
  /** Bytes per read/write of local files (default 256 KiB). */
  blockSize?: number;
  progressHandler?: (srcPath: string, dstPath: string, bytesDone: number, totalBytes: number) => void;
  /** Called with each per-file error; the copy goes on. Without it the first error is thrown once the copy ends. */
  errorHandler?: (err: Error) => void;
}

interface Resolved {
  host: ScpHost | null;
  path: string;
}

/** OpenSSH's rule: remote when a ':' comes before any '/', a leading ':' is local, `[v6]:path` and `user@host:path` allowed. */
export function parseScpPath(p: string): { user: string | null; host: string; path: string } | null {
  if (p.startsWith(':') || p.startsWith('/')) return null;
  let i = 0;
  const at = p.indexOf('@');
  const slash = p.indexOf('/');
  const hostStart = at >= 0 && (slash < 0 || at < slash) && at < p.indexOf(':') ? at + 1 : 0;
  i = hostStart;
  if (p[i] === '[') {
    const close = p.indexOf(']', i);
    if (close < 0 || p[close + 1] !== ':') return null;
    return { user: hostStart ? p.slice(0, hostStart - 1) : null, host: p.slice(i + 1, close), path: p.slice(close + 2) };
  }
  for (; i < p.length; i++) {
    if (p[i] === '/') return null;
    if (p[i] === ':') break;
  }
  if (i >= p.length || i === hostStart) return null;
  return { user: hostStart ? p.slice(0, hostStart - 1) : null, host: p.slice(hostStart, i), path: p.slice(i + 1) };
}

function isConnection(x: unknown): x is SSHClientConnection {
  return typeof x === 'object' && x !== null && typeof (x as SSHClientConnection).createSession === 'function';
}

function resolvePath(p: ScpPath, name: string): Resolved {
  if (typeof p === 'string') {
    const r = parseScpPath(p);
    if (!r) return { host: null, path: p };
    return { host: r.user !== null ? { host: r.host, username: r.user } : r.host, path: r.path };
  }
  if (isConnection(p)) return { host: p, path: '' };
  if (Array.isArray(p) && p.length === 2 && typeof p[1] === 'string') return { host: p[0], path: p[1] };
  if (typeof p === 'object' && p !== null && typeof (p as { path?: unknown }).path === 'string') {
    const o = p as { conn?: SSHClientConnection; host?: ScpHost; path: string };
    const host = o.conn ?? o.host;
    if (host === undefined) throw new TypeError(`${name}: expected conn or host with path`);
    return { host, path: o.path };
  }
  throw new TypeError(`${name}: expected a path string, a connection, [host, path] or {conn|host, path}`);
}

/** Quotes for a POSIX shell; `keepGlob` leaves `*`, `?`, `[`, `]` for the remote shell to expand. */
export function shellQuote(s: string, keepGlob = false): string {
  if (s === '') return "''";
  if (!keepGlob) return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
  return s.replace(/[^\w@%+=:,./*?[\]-]/g, (c) => '\\' + c).replace(/\\\n/g, "'\n'");
}

function scpCommand(flag: '-t' | '-f', o: ScpOptions, paths: string[], extra = ''): string {
  const opts = `${o.recurse ? ' -r' : ''}${o.preserve ? ' -p' : ''}${extra}`;
  return `scp${opts} ${flag} -- ${paths.join(' ')}`;
}

class Connections {
  private readonly opened: SSHClientConnection[] = [];
  private readonly byName = new Map<string, Promise<SSHClientConnection>>();
  constructor(private readonly options: ScpOptions) {}

  get(host: ScpHost): Promise<SSHClientConnection> {
    if (isConnection(host)) return Promise.resolve(host);
    const { preserve: _p, recurse: _r, blockSize: _b, progressHandler: _ph, errorHandler: _eh, ...connectOptions } = this.options;
    const spec = typeof host === 'string' ? { host } : host;
    const key = JSON.stringify(spec);
    let c = this.byName.get(key);
    if (!c) {
      const { host: name, ...rest } = spec;
      c = connect(name, { ...connectOptions, ...rest }).then((conn) => {
        this.opened.push(conn);
        return conn;
      });
      this.byName.set(key, c);
    }
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.opened.map(async (c) => {
      c.close();
      await c.waitClosed();
    }));
  }
}

interface RemoteEnd {
  peer: ScpPeer;
  channel: SSHClientChannel;
  stderr: () => string;
}

async function startRemote(conn: SSHClientConnection, command: string): Promise<RemoteEnd> {
  const channel = await conn.createSession(command, { encoding: null });
  let err = '';
  channel.stderr.on('data', (d: Buffer) => {
    if (err.length < 4096) err += d.toString('utf8');
  });
  return { peer: { reader: new ScpReader(channel.stdout), writer: channel.stdin }, channel, stderr: () => err.trim() };
}

/** Ends our side and waits for the remote scp to exit; a failure status becomes an error unless one was already seen. */
async function finishRemote(end: RemoteEnd, hadError: boolean): Promise<ScpError | null> {
  if (!end.channel.stdin.writableEnded) end.channel.stdin.end();
  await end.channel.waitClosed();
  if (hadError || end.channel.exitStatus === 0) return null;
  const why = end.stderr() || (end.channel.exitStatus === null ? 'the remote scp exited without a status' : `the remote scp exited with status ${end.channel.exitStatus}`);
  return new ScpError(why, false, { cause: end.channel.closeError ?? undefined });
}

/** Copies files with SCP; see the module comment for the path forms. */
export async function scp(source: ScpPath | ScpPath[], destination: ScpPath, options: ScpOptions = {}): Promise<void> {
  const blockSize = options.blockSize ?? 256 * 1024;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize: expected a positive integer, got ${blockSize}`);
  // An array is one [host, path] pair when its first item is a connection or connect options; else a list of paths.
  const isPair = Array.isArray(source) && source.length === 2 && typeof source[0] === 'object' && !Array.isArray(source[0]) && typeof source[1] === 'string';
  const sources = (Array.isArray(source) && !isPair ? (source as ScpPath[]) : [source as ScpPath]).map((s, i) => resolvePath(s, `source[${i}]`));
  if (sources.length === 0) throw new TypeError('source: expected at least one path');
  const dst = resolvePath(destination, 'destination');
  let firstError: Error | null = null;
  const warn = (e: ScpError): void => {
    if (options.errorHandler) options.errorHandler(e);
    else firstError ??= e;
  };
  const run: ScpRunOptions = { recurse: options.recurse ?? false, preserve: options.preserve ?? false, blockSize, warn, progress: options.progressHandler };
  const conns = new Connections(options);
  try {
    if (dst.host === null) {
      if (sources.some((s) => s.host === null)) throw new TypeError('scp: local-to-local copies are not supported; one side must be remote');
      for (const s of sources) {
        const conn = await conns.get(s.host!);
        const end = await startRemote(conn, scpCommand('-f', options, [shellQuote(s.path || '.', true)]));
        let failed = false;
        try {
          const requested = [posix.basename(s.path.replace(/\/+$/, '')) || '.'];
          await runSink(end.peer, localScpFiles(), dst.path || '.', { ...run, requested, targetIsDir: sources.length > 1 });
        } catch (e) {
          failed = true;
          end.channel.close().catch(() => undefined);
          throw e;
        } finally {
          const exitErr = await finishRemote(end, failed || firstError !== null);
          if (exitErr) warn(exitErr);
        }
      }
    } else {
      const dconn = await conns.get(dst.host);
      const local = sources.filter((s) => s.host === null);
      const remote = sources.filter((s) => s.host !== null);
      const several = sources.length > 1 || local.some((s) => hasMagic(s.path));
      if (local.length) {
        const paths: string[] = [];
        // A directory given as '.' or 'dir/.' is sent under its real name: a sink refuses '.'.
        for (const s of local) paths.push(...(hasMagic(s.path) ? await globLocal(s.path) : [basename(s.path) === '.' ? resolve(s.path) : s.path]));
        await toRemote(dconn, dst.path, paths, options, run, several || paths.length > 1, warn);
      }
      for (const s of remote) {
        const sconn = await conns.get(s.host!);
        await thirdParty(sconn, s.path, dconn, dst.path, options, run, several, () => firstError !== null);
      }
    }
  } finally {
    await conns.closeAll();
  }
  if (firstError !== null) throw firstError;
}

async function toRemote(conn: SSHClientConnection, target: string, paths: string[], o: ScpOptions, run: ScpRunOptions, targetIsDir: boolean, warn: (e: ScpError) => void): Promise<void> {
  let seen = false;
  const counted: ScpRunOptions = { ...run, warn: (e) => ((seen = true), warn(e)) };
  const end = await startRemote(conn, scpCommand('-t', o, [shellQuote(target || '.')], targetIsDir ? ' -d' : ''));
  let failed = false;
  try {
    await runSource(end.peer, localScpFiles(), paths, counted);
  } catch (e) {
    failed = true;
    end.channel.close().catch(() => undefined);
    throw e;
  } finally {
    const exitErr = await finishRemote(end, failed || seen);
    if (exitErr) warn(exitErr);
  }
}

async function thirdParty(sconn: SSHClientConnection, srcPath: string, dconn: SSHClientConnection, target: string, o: ScpOptions, run: ScpRunOptions, targetIsDir: boolean, hadError: () => boolean): Promise<void> {
  const sink = await startRemote(dconn, scpCommand('-t', o, [shellQuote(target || '.')], targetIsDir ? ' -d' : ''));
  let src: RemoteEnd | null = null;
  let failed = false;
  try {
    src = await startRemote(sconn, scpCommand('-f', o, [shellQuote(srcPath || '.', true)]));
    await runRelay(src.peer, sink.peer, [basename(srcPath.replace(/\/+$/, '')) || '.'], run, basename(posix.normalize(srcPath)) || '.');
  } catch (e) {
    failed = true;
    void sink.channel.close().catch(() => undefined);
    if (src) void src.channel.close().catch(() => undefined);
    throw e;
  } finally {
    const errs = await Promise.all([src ? finishRemote(src, failed || hadError()) : null, finishRemote(sink, failed || hadError())]);
    for (const e of errs) if (e) run.warn(e);
  }
}
