/**
 * X11 forwarding test endpoints:
 *
 * - a fake X server (a TCP listener at 6000+M, DISPLAY=127.0.0.1:M) that reads
 *   each X connection setup, records its auth protocol and cookie, and then
 *   echoes every later byte back (half-close passes through). A setup with no
 *   auth at all gets a "Failed" setup reply and is closed: that is what
 *   `xauth generate` (run by `ssh -X`) sees, so it fails instead of hanging.
 * - the "remote command" run by our server's processFactory: `x11-echo N`
 *   connects to $DISPLAY, sends a setup with the session's cookie, then N
 *   random bytes, reads the N echoed bytes, half-closes, waits for the end
 *   and prints the sha256 of both directions.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { SSHServerProcess } from '../../src/actors/server-process.js';

const pad4 = (n: number): number => (n + 3) & ~3;

export interface FakeXServer {
  display: number;
  /** Setups received, in order: auth protocol name and cookie (hex). */
  setups: { name: string; cookie: string }[];
  /** Connections refused for carrying no auth. */
  refused: number;
  close(): Promise<void>;
}

/** Listens on the first free port 6000+M for M >= from. */
export async function startFakeXServer(from = 60): Promise<FakeXServer> {
  const setups: { name: string; cookie: string }[] = [];
  let refused = 0;
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    sock.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 12) return;
      const le = head[0] === 0x6c;
      const u16 = (o: number): number => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
      const nameLen = u16(6);
      const dataLen = u16(8);
      const total = 12 + pad4(nameLen) + pad4(dataLen);
      if (head.length < total) return;
      sock.off('data', onData);
      const name = head.subarray(12, 12 + nameLen).toString('latin1');
      const cookie = head.subarray(12 + pad4(nameLen), 12 + pad4(nameLen) + dataLen).toString('hex');
      if (name === '') {
        refused++;
        const reason = Buffer.from('fake X server: no auth');
        const reply = Buffer.alloc(8 + pad4(reason.length));
        reply[0] = 0; // Failed
        reply[1] = reason.length;
        const put = (o: number, v: number): void => void (le ? reply.writeUInt16LE(v, o) : reply.writeUInt16BE(v, o));
        put(2, 11);
        put(4, 0);
        put(6, pad4(reason.length) / 4);
        reason.copy(reply, 8);
        sock.end(reply);
        return;
      }
      setups.push({ name, cookie });
      const rest = head.subarray(total);
      if (rest.length > 0) sock.write(rest);
      sock.pipe(sock);
    };
    sock.on('data', onData);
  });
  let display = from;
  for (;; display++) {
    if (display > from + 200) throw new Error('no free X display port for the fake X server');
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(6000 + display, '127.0.0.1', () => {
        server.removeAllListeners('error');
        resolve(true);
      });
    });
    if (ok) break;
  }
  return {
    display,
    setups,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An X connection setup (little-endian, protocol 11.0) carrying `name` and `cookie`. */
export function x11Setup(name: string, cookie: Buffer): Buffer {
  const n = Buffer.from(name, 'latin1');
  const out = Buffer.alloc(12 + pad4(n.length) + pad4(cookie.length));
  out[0] = 0x6c;
  out.writeUInt16LE(11, 2);
  out.writeUInt16LE(0, 4);
  out.writeUInt16LE(n.length, 6);
  out.writeUInt16LE(cookie.length, 8);
  n.copy(out, 12);
  cookie.copy(out, 12 + pad4(n.length));
  return out;
}

/** The cookie `xauth -f file list unix:N` reports, or null. */
export function xauthCookie(file: string, display: string): string | null {
  try {
    const out = execFileSync('xauth', ['-f', file, 'list', display], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const f = out.trim().split(/\s+/);
    return f.length >= 3 ? f[2]! : null;
  } catch {
    return null;
  }
}

/**
 * processFactory for `x11-echo N [address]` (the display's address, default 127.0.0.1): prints "display=... xauth=<cookie|none> sent=<sha> echoed=<sha> bytes=<n>"
 * (or "error ..." with exit 1).
 */
export function x11EchoProcess(proc: SSHServerProcess): void {
  const m = /^x11-echo (\d+)(?: (\S+))?$/.exec(proc.command ?? '');
  const display = proc.env.DISPLAY ?? '';
  const d = /^localhost:(\d+)\.(\d+)$/.exec(display);
  if (!m || !d || !proc.x11) {
    proc.stdout.write(`error command=${proc.command} DISPLAY=${display}\n`);
    return proc.exit(1);
  }
  const size = Number(m[1]);
  const xauth = proc.env.XAUTHORITY ? xauthCookie(proc.env.XAUTHORITY, `unix:${d[1]}`) : null;
  const sock = connect({ host: m[2] ?? '127.0.0.1', port: 6000 + Number(d[1]), allowHalfOpen: true });
  const sent = createHash('sha256');
  const echoed = createHash('sha256');
  let bytes = 0;
  sock.on('error', (err) => {
    proc.stdout.write(`error ${err.message}\n`);
    proc.exit(1);
  });
  sock.on('data', (c: Buffer) => {
    bytes += c.length;
    echoed.update(c);
    // OpenSSH's client ends both directions of an x11 channel when it gets
    // EOF ("force drain"), so half-close only after the whole echo is back.
    if (bytes >= size) sock.end();
  });
  sock.once('end', () => {
    proc.stdout.write(`display=${display} xauth=${xauth ?? 'none'} sent=${sent.digest('hex')} echoed=${echoed.digest('hex')} bytes=${bytes}\n`);
    proc.exit(0);
  });
  sock.once('connect', async () => {
    sock.write(x11Setup(proc.x11!.authProtocol, Buffer.from(proc.x11!.authCookie, 'hex')));
    for (let left = size; left > 0; left -= 256 * 1024) {
      const b = randomBytes(Math.min(left, 256 * 1024));
      sent.update(b);
      if (!sock.write(b)) await new Promise((r) => sock.once('drain', r));
    }
    if (size === 0) sock.end();
  });
}

/** Parses the x11-echo output line. */
export function parseEcho(line: string): Record<string, string> {
  return Object.fromEntries(line.trim().split(/\s+/).map((kv) => kv.split('=', 2) as [string, string]));
}
