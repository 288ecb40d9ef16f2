/**
 * Test endpoints for forwarding: a "hash server" (TCP or UNIX) and client
 * helpers that check byte-exact transfers and half-close through any path.
 *
 * Protocol of the hash server, per connection:
 *   'U' + data... EOF   -> it replies with the sha256 hex of the data, then ends
 *                          (the client shut down its write side and still reads).
 *   'D' + uint32 size   -> it sends `size` random bytes and ends; the digest of
 *                          what it sent is kept in `sent`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface HashServer {
  port: number;
  path: string | null;
  /** sha256 hex of each download sent, in order. */
  sent: string[];
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

export async function startHashServer(where: { path: string } | { host?: string; port?: number } = {}): Promise<HashServer> {
  const state = { sent: [] as string[], accepted: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    state.accepted++;
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    sock.on('error', () => undefined);
    let mode: 'U' | 'D' | null = null;
    const hash = createHash('sha256');
    let header = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      if (mode === 'U') return void hash.update(chunk);
      header = Buffer.concat([header, chunk]);
      if (header[0] === 0x55) {
        mode = 'U';
        hash.update(header.subarray(1));
        return;
      }
      if (header[0] === 0x44 && header.length >= 5) {
        mode = 'D';
        void download(sock, header.readUInt32BE(1)).then((d) => state.sent.push(d));
      }
    });
    sock.on('end', () => {
      if (mode === 'U') sock.end(hash.digest('hex'));
    });
  });
  await new Promise<void>((resolve) => ('path' in where ? server.listen(where.path, resolve) : server.listen(where.port ?? 0, where.host ?? '127.0.0.1', resolve)));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? (addr as AddressInfo).port : 0,
    path: 'path' in where ? where.path : null,
    get sent() {
      return state.sent;
    },
    get accepted() {
      return state.accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

async function download(sock: Socket, size: number): Promise<string> {
  const hash = createHash('sha256');
  let left = size;
  while (left > 0) {
    const chunk = randomBytes(Math.min(left, 256 * 1024));
    hash.update(chunk);
    left -= chunk.length;
    if (!sock.write(chunk)) await new Promise<void>((r) => sock.once('drain', () => r()));
  }
  sock.end();
  return hash.digest('hex');
}

/** `size` random bytes in chunks (the caller hashes what it sends). */
export function* randomChunks(size: number, chunk = 256 * 1024): Generator<Buffer> {
  for (let left = size; left > 0; left -= chunk) yield randomBytes(Math.min(chunk, left));
}

/** Writes `size` bytes to `stream`, shuts its write side, and resolves with the sha256 of what was written. */
export async function writeAll(stream: Duplex, size: number, prefix?: Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (prefix && !stream.write(prefix)) await new Promise<void>((r) => stream.once('drain', () => r()));
  for (const b of randomChunks(size)) {
    hash.update(b);
    if (!stream.write(b)) await new Promise<void>((r) => stream.once('drain', () => r()));
  }
  stream.end();
  return hash.digest('hex');
}

/** Reads `stream` to its end; resolves with the byte count and sha256, or the text. */
export function readAll(stream: Duplex): Promise<{ bytes: number; sha256: string; text: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const head: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
      if (bytes <= 4096) head.push(c);
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex'), text: Buffer.concat(head).toString('latin1') }));
    stream.once('error', reject);
  });
}

/**
 * Upload check through `stream` (connected to a hash server): sends `size`
 * bytes, shuts down writing, then must still receive the server's digest.
 */
export async function uploadThrough(stream: Duplex, size: number): Promise<{ sent: string; echoed: string }> {
  const reading = readAll(stream);
  const sent = await writeAll(stream, size, Buffer.from('U'));
  const r = await reading;
  return { sent, echoed: r.text };
}

/** Download check through `stream`: asks for `size` bytes; resolves with what arrived. */
export async function downloadThrough(stream: Duplex, size: number): Promise<{ bytes: number; sha256: string }> {
  const reading = readAll(stream);
  const req = Buffer.alloc(5);
  req[0] = 0x44;
  req.writeUInt32BE(size, 1);
  stream.write(req);
  return reading;
}

export function dialTcp(port: number, host = '127.0.0.1'): Promise<Socket> {
  return dial({ port, host });
}

export function dialPath(path: string): Promise<Socket> {
  return dial({ path });
}

function dial(t: { port: number; host: string } | { path: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ ...t, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Rejects after `ms` with `what` in the message (tests stay bounded). */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}
