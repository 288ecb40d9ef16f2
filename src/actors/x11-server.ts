/**
 * Server X11 forwarding, as OpenSSH's sshd does it (X11Forwarding,
 * X11DisplayOffset, X11UseLocalhost, X11MaxDisplays, XAuthLocation).
 *
 * On a session's x11-req the server listens on TCP port 6000+N for the first
 * free display N from the offset (loopback only by default), sets
 * DISPLAY=localhost:N.<screen> for the session's process, and, when an
 * `xauth` program is there, runs `xauth add unix:N.<screen> <proto> <cookie>`
 * with the cookie the client sent (the client's fake one: the client swaps
 * in the real cookie on its side). Without xauth this step is skipped quietly,
 * as sshd does; the process still sees the cookie in `proc.x11`. Each
 * connection to the display becomes an `x11` channel to the client carrying
 * the connecting peer's address and port. A single-connection request stops
 * listening after the first connection; the listener closes with the session.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { encodeX11ChannelData } from '../protocol/session-requests.js';
import type { ConnectionActor } from './connection-actor.js';
import { openForwardChannel } from './forward-channel.js';
import { pipeForward } from './forward-pipe.js';

export interface ServerX11Options {
  /** Accept x11-req on sessions (sshd X11Forwarding). Default false. */
  x11Forwarding?: boolean;
  /** First display number tried (sshd X11DisplayOffset). Default 10. */
  x11DisplayOffset?: number;
  /** How many displays are tried from the offset (sshd X11MaxDisplays). Default 1000. */
  x11MaxDisplays?: number;
  /**
   * Listen on loopback only (127.0.0.1 and ::1) and set DISPLAY=localhost:N (sshd
   * X11UseLocalhost). Default true; false listens on every address and sets
   * DISPLAY=<hostname>:N.
   */
  x11UseLocalhost?: boolean;
  /**
   * The xauth program run to record each session's cookie (sshd
   * XAuthLocation), or null to never run it. Default: `xauth` from PATH, and
   * nothing is run when there is none.
   */
  xauthLocation?: string | null;
  /**
   * The authority file xauth writes (`xauth -f`); it is also set as the
   * process's XAUTHORITY. Default: xauth's own default (~/.Xauthority of the
   * server's user).
   */
  x11AuthFile?: string;
}

/** What the session's process learns about its forwarded display (`proc.x11`). */
export interface X11Session {
  /** The DISPLAY value, e.g. "localhost:10.0". */
  display: string;
  displayNumber: number;
  screen: number;
  authProtocol: string;
  /** The cookie as the client sent it (hex). */
  authCookie: string;
  singleConnection: boolean;
}

export interface X11Request {
  singleConnection: boolean;
  authProtocol: string;
  authCookie: string;
  screen: number;
}

const X11_BASE_PORT = 6000;

export function checkX11Options(o: ServerX11Options): void {
  if (o.x11Forwarding !== undefined && typeof o.x11Forwarding !== 'boolean') throw new TypeError('x11Forwarding: expected a boolean');
  if (o.x11UseLocalhost !== undefined && typeof o.x11UseLocalhost !== 'boolean') throw new TypeError('x11UseLocalhost: expected a boolean');
  const offset = o.x11DisplayOffset ?? 10;
  const max = o.x11MaxDisplays ?? 1000;
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError('x11DisplayOffset: expected an integer >= 0');
  if (!Number.isInteger(max) || max < 1) throw new RangeError('x11MaxDisplays: expected an integer >= 1');
  if (X11_BASE_PORT + offset + max - 1 > 65535) throw new RangeError('x11DisplayOffset + x11MaxDisplays: display ports past 65535');
  if (o.xauthLocation !== undefined && o.xauthLocation !== null && (typeof o.xauthLocation !== 'string' || o.xauthLocation === '')) {
    throw new TypeError('xauthLocation: expected a program path or null');
  }
  if (o.x11AuthFile !== undefined && (typeof o.x11AuthFile !== 'string' || o.x11AuthFile === '')) throw new TypeError('x11AuthFile: expected a file path');
}

/**
 * The protocol name and cookie end up on xauth's command line: as sshd, only
 * a plain name and a hex cookie are accepted (no spaces, no newlines).
 */
export function validX11Request(r: X11Request): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(r.authProtocol) && /^(?:[0-9a-fA-F]{2}){1,256}$/.test(r.authCookie) && r.screen <= 0xffff;
}

let xauthOnPath: string | null | undefined;

/** The xauth program to run, or null when there is none. */
function xauthProgram(option: string | null | undefined): string | null {
  if (option === null) return null;
  if (option !== undefined) return isExecutable(option) ? option : null;
  if (xauthOnPath === undefined) {
    const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin', '/usr/X11R6/bin', '/usr/bin/X11'];
    xauthOnPath = dirs.map((d) => join(d, 'xauth')).find(isExecutable) ?? null;
  }
  return xauthOnPath;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `xauth -q [-f file] -` with remove/add commands on stdin; resolves either way (bounded by 10 s). */
function runXauth(program: string, file: string | undefined, authDisplay: string, r: X11Request): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(program, [...(file ? ['-f', file] : []), '-q', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    timer.unref();
    child.once('error', () => (clearTimeout(timer), resolve()));
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(`remove ${authDisplay}\nadd ${authDisplay} ${r.authProtocol} ${r.authCookie}\n`);
  });
}

/** Listens on host:port: "taken" when another socket has it, "no-address" when this host lacks the address (no IPv6). */
function tryListen(server: Server, port: number, host: string): Promise<'ok' | 'taken' | 'no-address'> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve('taken');
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') resolve('no-address');
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve('ok');
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

/**
 * Listens on the first display port in [offset, offset + max) that is free on
 * every address in `hosts`, as sshd binds a display on every address family
 * of its bind address: an X client resolving "localhost" may try ::1 first.
 * An IPv6 address the host lacks is skipped ("::" then falls back to
 * 0.0.0.0). Null when all are taken.
 */
async function listenDisplay(makeServer: () => Server, hosts: readonly string[], offset: number, max: number): Promise<{ n: number; servers: Server[] } | null> {
  for (let n = offset; n < offset + max; n++) {
    const servers: Server[] = [];
    let taken = false;
    for (const host of hosts) {
      const server = makeServer();
      let r = await tryListen(server, X11_BASE_PORT + n, host);
      if (r === 'no-address' && host === '::') r = await tryListen(server, X11_BASE_PORT + n, '0.0.0.0');
      if (r === 'ok') servers.push(server);
      else if (r === 'taken' || !host.includes(':')) {
        taken = true;
        break;
      }
    }
    if (!taken && servers.length > 0) return { n, servers };
    for (const s of servers) s.close();
  }
  return null;
}

/** Every display port from x11DisplayOffset on is taken: the x11-req is refused, as sshd refuses it. */
export class NoFreeX11Display extends Error {
  constructor() {
    super('x11: no free X11 display port');
    this.name = 'NoFreeX11Display';
  }
}

/** The forwarded X display of one session. */
export class ServerX11Listener {
  private closed = false;

  private constructor(
    private readonly servers: readonly Server[],
    readonly session: X11Session,
  ) {}

  /** Listens for the session's display and records its cookie; connections become x11 channels on `actor`. */
  static async start(actor: ConnectionActor, r: X11Request, o: ServerX11Options): Promise<ServerX11Listener> {
    const local = o.x11UseLocalhost !== false;
    let listener: ServerX11Listener | null = null;
    let accepted = 0;
    const onConnection = (sock: Socket): void => {
      if (r.singleConnection && accepted++ > 0) return void sock.destroy();
      if (r.singleConnection) listener?.close();
      const typeData = encodeX11ChannelData(sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0);
      const info = { channelType: 'x11', destHost: listener?.session.display ?? '', destPort: 0, origHost: sock.remoteAddress ?? '', origPort: sock.remotePort ?? 0 };
      sock.on('error', () => undefined);
      openForwardChannel(actor, 'x11', typeData, info).then(
        (chan) => pipeForward(sock, chan),
        () => sock.destroy(),
      );
    };
    const makeServer = (): Server => createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
    const bound = await listenDisplay(makeServer, local ? ['127.0.0.1', '::1'] : ['::'], o.x11DisplayOffset ?? 10, o.x11MaxDisplays ?? 1000);
    if (bound === null) throw new NoFreeX11Display();
    const { n, servers } = bound;
    const display = `${local ? 'localhost' : hostname()}:${n}.${r.screen}`;
    listener = new ServerX11Listener(servers, { display, displayNumber: n, screen: r.screen, authProtocol: r.authProtocol, authCookie: r.authCookie, singleConnection: r.singleConnection });
    const l = listener;
    void actor.waitClosed().then(() => l.close());
    const xauth = xauthProgram(o.xauthLocation);
    // As sshd: the xauth entry for a loopback display is the local one (unix:N), which X clients use for localhost:N.
    if (xauth) await runXauth(xauth, o.x11AuthFile, local ? `unix:${n}.${r.screen}` : `${hostname()}/unix:${n}.${r.screen}`, r);
    return listener;
  }

  /** Stops listening; connections already forwarded keep running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.servers) s.close();
  }
}
