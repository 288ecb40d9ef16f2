// Port forwarding: openConnection (direct-tcpip), forwardLocalPort (ssh -L),
// forwardRemotePort (ssh -R), forwardSocks (ssh -D), and the UNIX-socket forms
// openUnixConnection / forwardLocalPortToPath. The server's handler decides
// which forwards are allowed. Self-contained: a local echo service, an SSH
// server on 127.0.0.1:0, knownHosts: null (host key generated here).
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect, listen, generatePrivateKey, ChannelOpenError } from '../src/index.js';

// An echo service on TCP and on a UNIX socket: what the forwards reach.
const dir = mkdtempSync(join(tmpdir(), 'fleetssh-fwd-'));
const echoPath = join(dir, 'echo.sock');
const echo = createServer((s) => s.pipe(s));
const unixEcho = createServer((s) => s.pipe(s));
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => unixEcho.listen(echoPath, r));
const echoPort = (echo.address() as { port: number }).port;

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  passwords: { demo: 'secret' },
  handler: {
    // Only the echo service may be reached; everything else is refused.
    connectionRequested: (host, port) => host === '127.0.0.1' && port === echoPort,
    serverRequested: (listenHost) => listenHost === '127.0.0.1',
    unixConnectionRequested: (path) => path === echoPath,
  },
});

await using conn = await connect('127.0.0.1', { port: server.port, username: 'demo', password: 'secret', knownHosts: null });

/** Writes `text`, reads the same number of bytes back. */
async function roundTrip(stream: Duplex | Socket, text: string): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve) =>
    stream.on('data', (c: Buffer) => { chunks.push(c); n += c.length; if (n >= text.length) resolve(); }));
  stream.write(text);
  await done;
  stream.end();
  return Buffer.concat(chunks).toString();
}
const dial = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => { const s = tcpConnect(port, '127.0.0.1', () => resolve(s)); s.once('error', reject); });

// direct-tcpip: a Duplex to host:port as seen from the server.
const ch = await conn.openConnection('127.0.0.1', echoPort);
console.log('openConnection:', await roundTrip(ch, 'ping'));

try {
  await conn.openConnection('127.0.0.1', 1);
} catch (err) {
  if (err instanceof ChannelOpenError) console.log('refused by handler:', err.code);
}

// ssh -L 127.0.0.1:0:127.0.0.1:echoPort  (port 0 = any free port; see .port)
const local = await conn.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', echoPort);
console.log('forwardLocalPort:', await roundTrip(await dial(local.port), 'via -L'));
await local.close();

// ssh -R: the server listens; its connections come back here and go to the echo service.
const remote = await conn.forwardRemotePort('127.0.0.1', 0, '127.0.0.1', echoPort);
console.log('forwardRemotePort: server listens on', remote.port, '->', await roundTrip(await dial(remote.port), 'via -R'));
await remote.close();

// ssh -D: a SOCKS5 listener; a minimal SOCKS5 CONNECT by hand.
const socks = await conn.forwardSocks('127.0.0.1', 0);
const s = await dial(socks.port);
const reply = (len: number): Promise<Buffer> => new Promise((r) => s.once('readable', function read() {
  const b = s.read(len) as Buffer | null; if (b) r(b); else s.once('readable', read);
}));
s.write(Buffer.from([5, 1, 0]));                   // version 5, 1 method: no auth
await reply(2);
s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 255])); // CONNECT 127.0.0.1:echoPort
console.log('forwardSocks: reply code', (await reply(10))[1]);
console.log('forwardSocks:', await roundTrip(s, 'via -D'));
await socks.close();

// UNIX sockets: direct-streamlocal@openssh.com.
console.log('openUnixConnection:', await roundTrip(await conn.openUnixConnection(echoPath), 'unix'));
const toPath = await conn.forwardLocalPortToPath('127.0.0.1', 0, echoPath);
console.log('forwardLocalPortToPath:', await roundTrip(await dial(toPath.port), 'tcp->unix'));
await toPath.close();

echo.close();
unixEcho.close();
rmSync(dir, { recursive: true, force: true });
