/**
 * Forwarding between our own client and server: direct and forwarded TCP/IP,
 * UNIX sockets, SOCKS, tunnels, X11, policy and teardown. Every stream check
 * is byte-exact (sha256) and checks half-close (EOF one way, data the other).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelListenError, ChannelOpenError } from '../../src/protocol/errors.js';
import { encodeTcpipChannelData } from '../../src/protocol/session-requests.js';
import { tunnelPoolSize } from '../../src/actors/tunnel.js';
import { dialPath, dialTcp, downloadThrough, startHashServer, uploadThrough, within, type HashServer } from './forward-helpers.js';

const MiB = 1024 * 1024;
const hostKey = generatePrivateKey('ssh-ed25519');

async function startServer(extra: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [hostKey],
    passwords: { u: 'pw' },
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command}\n`);
      proc.exit(0);
    },
    ...extra,
  });
}

function connectTo(server: SSHServer, extra: Record<string, unknown> = {}): Promise<SSHClientConnection> {
  return connect('127.0.0.1', { port: server.port, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, ...extra });
}

describe('forwarding, fleetssh client <-> fleetssh server', { timeout: 60_000 }, () => {
  let server: SSHServer;
  let conn: SSHClientConnection;
  let hash: HashServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetssh-fwd-'));
    server = await startServer();
    conn = await connectTo(server);
    hash = await startHashServer();
  });
  after(async () => {
    await conn?.close();
    await server?.close();
    await hash?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('openConnection: 16 MiB up with half-close, 16 MiB down, byte-exact', async () => {
    const up = await conn.openConnection('127.0.0.1', hash.port);
    const r = await within(20_000, 'upload', uploadThrough(up, 16 * MiB));
    assert.equal(r.echoed, r.sent);
    await up.waitClosed();
    const down = await conn.openConnection('127.0.0.1', hash.port);
    const d = await within(20_000, 'download', downloadThrough(down, 16 * MiB));
    assert.equal(d.bytes, 16 * MiB);
    assert.equal(d.sha256, hash.sent.at(-1));
  });

  test('openConnection to a closed port fails with ChannelOpenError CONNECT_FAILED', async () => {
    const closed = await startHashServer();
    const port = closed.port;
    await closed.close();
    await assert.rejects(conn.openConnection('127.0.0.1', port), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 2);
  });

  test('forwardLocalPort: byte-exact both ways through a local listener', async () => {
    const l = await conn.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', hash.port);
    assert.ok(l.port > 0);
    const r = await within(20_000, 'upload', uploadThrough(await dialTcp(l.port), 8 * MiB));
    assert.equal(r.echoed, r.sent);
    const d = await within(20_000, 'download', downloadThrough(await dialTcp(l.port), 8 * MiB));
    assert.equal(d.sha256, hash.sent.at(-1));
    await l.close();
    await l.waitClosed();
    await assert.rejects(dialTcp(l.port));
  });

  test('forwardRemotePort with port 0: the server binds loopback, connections come back', async () => {
    const l = await conn.forwardRemotePort('', 0, '127.0.0.1', hash.port);
    assert.ok(l.port > 0);
    const r = await within(20_000, 'upload', uploadThrough(await dialTcp(l.port), 8 * MiB));
    assert.equal(r.echoed, r.sent);
    const d = await within(20_000, 'download', downloadThrough(await dialTcp(l.port), 4 * MiB));
    assert.equal(d.sha256, hash.sent.at(-1));
    await l.close();
    await assert.rejects(dialTcp(l.port), 'cancel-tcpip-forward closed the server listener');
  });

  test('startServer: handler receives forwarded streams with their origin', async () => {
    const seen: string[] = [];
    const l = await conn.startServer((stream, info) => {
      seen.push(`${info.channelType} ${info.destPort} ${info.origHost}`);
      stream.end('hello from client side');
    }, 'localhost', 0);
    const s = await dialTcp(l.port);
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello from client side');
    assert.deepEqual(seen, [`forwarded-tcpip ${l.port} 127.0.0.1`]);
    await l.close();
  });

  test('UNIX: openUnixConnection, forwardLocalPath, forwardRemotePath, mixed forms', async () => {
    const unixHash = await startHashServer({ path: join(dir, 'hash.sock') });
    try {
      const c = await conn.openUnixConnection(join(dir, 'hash.sock'));
      const r = await uploadThrough(c, 4 * MiB);
      assert.equal(r.echoed, r.sent);

      const lp = await conn.forwardLocalPath(join(dir, 'local.sock'), join(dir, 'hash.sock'));
      const r2 = await uploadThrough(await dialPath(join(dir, 'local.sock')), 4 * MiB);
      assert.equal(r2.echoed, r2.sent);
      await lp.close();

      const rp = await conn.forwardRemotePath(join(dir, 'remote.sock'), join(dir, 'hash.sock'));
      const d = await downloadThrough(await dialPath(join(dir, 'remote.sock')), 4 * MiB);
      assert.equal(d.sha256, unixHash.sent.at(-1));
      await rp.close();
      assert.equal(existsSync(join(dir, 'remote.sock')), false, 'server removed its socket on cancel');

      const pp = await conn.forwardLocalPortToPath('127.0.0.1', 0, join(dir, 'hash.sock'));
      const r3 = await uploadThrough(await dialTcp(pp.port), MiB);
      assert.equal(r3.echoed, r3.sent);
      await pp.close();

      const rpp = await conn.forwardRemotePathToPort(join(dir, 'remote2.sock'), '127.0.0.1', hash.port);
      const r4 = await uploadThrough(await dialPath(join(dir, 'remote2.sock')), MiB);
      assert.equal(r4.echoed, r4.sent);
      await rpp.close();
    } finally {
      await unixHash.close();
    }
  });

  test('SOCKS 4, 4a and 5 CONNECT through forwardSocks; host names resolved by the server', async () => {
    const l = await conn.forwardSocks('127.0.0.1', 0);
    const port = Buffer.alloc(2);
    port.writeUInt16BE(hash.port);
    const cases: [string, Buffer, number][] = [
      ['socks4', Buffer.concat([Buffer.from([4, 1]), port, Buffer.from([127, 0, 0, 1]), Buffer.from('user\0')]), 8],
      ['socks4a', Buffer.concat([Buffer.from([4, 1]), port, Buffer.from([0, 0, 0, 1]), Buffer.from('\0localhost\0')]), 8],
      ['socks5', Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, 9]), Buffer.from('localhost'), port]), 12],
      ['socks5-ipv4', Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1]), port]), 12],
    ];
    for (const [name, request, replyLen] of cases) {
      const s = await dialTcp(l.port);
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.write(request);
      s.end('Uhello');
      await new Promise((r) => s.once('end', r));
      const all = Buffer.concat(got);
      if (name.startsWith('socks4')) assert.deepEqual([...all.subarray(0, 2)], [0, 90], name);
      else assert.deepEqual([...all.subarray(0, 4)], [5, 0, 5, 0], name);
      assert.equal(all.subarray(replyLen).toString(), createHash('sha256').update('hello').digest('hex'), name);
    }
    // A refused destination gets the protocol's failure code.
    const s = await dialTcp(l.port);
    s.write(Buffer.from([4, 1, 0, 1, 127, 0, 0, 1, 0]));
    const reply = await new Promise<Buffer>((r) => s.once('data', r));
    assert.deepEqual([...reply.subarray(0, 2)], [0, 91]);
    s.destroy();
    await l.close();
  });

  test('an unsolicited forwarded-tcpip channel is refused by the client', async () => {
    const serverConn = [...(server as unknown as { connections: Set<{ actor: import('../../src/actors/connection-actor.js').ConnectionActor }> }).connections][0]!;
    const data = encodeTcpipChannelData({ host: '127.0.0.1', port: 1, originatorAddress: '127.0.0.1', originatorPort: 2 });
    await assert.rejects(serverConn.actor.openChannel('forwarded-tcpip', data, () => ({ onData() {}, onEof() {}, onClose() {}, onWindow() {}, onRequest() {} })), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 1);
  });

  test('tunnel: a connection through an existing connection, two hops deep', async () => {
    const inner = await connectTo(server, { tunnel: conn });
    const inner2 = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, tunnel: inner });
    const r = await inner2.run('x');
    assert.equal(r.stdout, 'ran x\n');
    const c = await inner2.openConnection('127.0.0.1', hash.port);
    const up = await within(20_000, 'upload', uploadThrough(c, 8 * MiB));
    assert.equal(up.echoed, up.sent);
    await inner2.close();
    await inner.close();
    assert.equal(conn.closed, false);
  });

  test('tunnel strings share one bastion connection, closed when the last user closes (tunnelLinger: 0)', async () => {
    const spec = `u@127.0.0.1:${server.port}`;
    // Earlier tests' tunnelled connections finish closing on the server first.
    await within(5000, 'earlier connections closed', (async () => {
      while (server.connectionCount !== 1) await new Promise((r) => setTimeout(r, 20));
    })());
    const before = server.connectionCount;
    const opts = { port: server.port, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, tunnel: spec, tunnelLinger: 0 };
    const [a, b] = await Promise.all([connect('127.0.0.1', opts), connect('127.0.0.1', opts)]);
    assert.equal(server.connectionCount, before + 3, 'one bastion connection + two tunnelled');
    assert.equal(tunnelPoolSize(), 1);
    assert.equal((await a.run('a')).stdout, 'ran a\n');
    await a.close();
    assert.equal(tunnelPoolSize(), 1);
    await b.close();
    await within(5000, 'bastion close', (async () => {
      while (tunnelPoolSize() !== 0 || server.connectionCount !== before) await new Promise((r) => setTimeout(r, 20));
    })());
  });
});

describe('forwarding policy and teardown', { timeout: 30_000 }, () => {
  test('handler refusals: connectionRequested, serverRequested, unix*; OpenFailure codes', async () => {
    const server = await startServer({
      handler: {
        connectionRequested: (host, port) => port !== 9,
        serverRequested: (host, port) => port !== 0,
        unixConnectionRequested: () => false,
        unixServerRequested: () => false,
      },
    });
    const conn = await connectTo(server);
    try {
      await assert.rejects(conn.openConnection('127.0.0.1', 9), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 1);
      await assert.rejects(conn.forwardRemotePort('', 0, '127.0.0.1', 1), (e: unknown) => e instanceof ChannelListenError && e.code === 'ERR_SSH_CHANNEL_LISTEN');
      await assert.rejects(conn.openUnixConnection('/tmp/nowhere.sock'), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 1);
      await assert.rejects(conn.forwardRemotePath('/tmp/fleetssh-never.sock', '/tmp/x'), ChannelListenError);
      assert.equal((await conn.run('still')).stdout, 'ran still\n', 'refusals leave the connection usable');
    } finally {
      await conn.close();
      await server.close();
    }
  });

  test('allowTcpForwarding false refuses everything; a Duplex decision is joined to the channel', async () => {
    const off = await startServer({ allowTcpForwarding: false });
    const c1 = await connectTo(off);
    await assert.rejects(c1.openConnection('127.0.0.1', 22), ChannelOpenError);
    await c1.close();
    await off.close();
    const { PassThrough } = await import('node:stream');
    const custom = await startServer({
      handler: {
        connectionRequested: () => {
          const p = new PassThrough();
          return p; // an echo: what the client writes comes back
        },
      },
    });
    const c2 = await connectTo(custom);
    const s = await c2.openConnection('example.invalid', 1);
    s.end('echo me');
    const got: Buffer[] = [];
    for await (const c of s) got.push(c as Buffer);
    assert.equal(Buffer.concat(got).toString(), 'echo me');
    await c2.close();
    await custom.close();
  });

  test('remote listeners bind loopback only, unless gatewayPorts', async () => {
    const { bindAddress } = await import('../../src/actors/forward-server.js');
    assert.equal(bindAddress('', false), '127.0.0.1');
    assert.equal(bindAddress('0.0.0.0', false), '127.0.0.1');
    assert.equal(bindAddress('192.0.2.1', false), '127.0.0.1');
    assert.equal(bindAddress('localhost', false), '127.0.0.1');
    assert.equal(bindAddress('::1', false), '::1');
    assert.equal(bindAddress('', true), '');
    assert.equal(bindAddress('*', true), '');
    assert.equal(bindAddress('192.0.2.1', true), '192.0.2.1');
  });

  test('closing the connection closes local and remote listeners', async () => {
    const server = await startServer();
    const conn = await connectTo(server);
    const hash = await startHashServer();
    const local = await conn.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', hash.port);
    const remote = await conn.forwardRemotePort('127.0.0.1', 0, '127.0.0.1', hash.port);
    const socks = await conn.forwardSocks('127.0.0.1', 0);
    await conn.close();
    await within(5000, 'listeners closed', Promise.all([local.waitClosed(), remote.waitClosed(), socks.waitClosed()]));
    await within(5000, 'server listener gone', (async () => {
      for (;;) {
        try {
          (await dialTcp(remote.port)).destroy();
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })());
    await assert.rejects(dialTcp(local.port));
    await server.close();
    await hash.close();
  });

  test('x11: x11-req carries a fake cookie; x11 channels reach the local display with it replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-x11-'));
    const fakeDisplay = join(dir, 'X0');
    let x11Req: Buffer | null = null;
    const server = await startServer({
      processFactory: (proc) => {
        proc.stdout.write('ok');
        proc.exit(0);
      },
    });
    // Capture the x11-req data from the server session through the actor's requests.
    const received: Buffer[] = [];
    const xserver = createServer((s: Socket) => {
      s.on('data', (c: Buffer) => received.push(c));
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => xserver.listen(fakeDisplay, r));
    try {
      // DISPLAY "host:N" is TCP; a UNIX display path is /tmp/.X11-unix/XN: use a TCP display instead.
      const tcpX = createServer((s: Socket) => {
        s.on('data', (c: Buffer) => received.push(c));
        s.on('end', () => s.end());
      });
      await new Promise<void>((r) => tcpX.listen(6000 + 77, '127.0.0.1', r));
      const conn = await connectTo(server, { x11Forwarding: true, x11Display: '127.0.0.1:77.0' });
      const serverConn = [...(server as unknown as { connections: Set<{ actor: import('../../src/actors/connection-actor.js').ConnectionActor }> }).connections][0]!;
      serverConn.actor.on('debug', () => undefined);
      const origRequest = (serverConn.actor as unknown as { dispatch: (e: { type: string; requestType?: string; data?: Uint8Array }) => void }).dispatch.bind(serverConn.actor);
      (serverConn.actor as unknown as { dispatch: (e: { type: string; requestType?: string; data?: Uint8Array }) => void }).dispatch = (e) => {
        if (e.type === 'channelRequest' && e.requestType === 'x11-req') x11Req = Buffer.from(e.data!);
        origRequest(e);
      };
      assert.equal((await conn.run('xterm')).stdout, 'ok');
      assert.ok(x11Req, 'x11-req was sent before exec');
      const req = x11Req as Buffer;
      const protoLen = req.readUInt32BE(1);
      assert.equal(req.subarray(5, 5 + protoLen).toString(), 'MIT-MAGIC-COOKIE-1');
      const cookieHex = req.subarray(9 + protoLen, 9 + protoLen + 32).toString();
      assert.match(cookieHex, /^[0-9a-f]{32}$/);
      // The server opens an x11 channel and sends an X setup with the fake cookie.
      const { encodeX11ChannelData } = await import('../../src/protocol/session-requests.js');
      const { openForwardChannel } = await import('../../src/actors/forward-channel.js');
      const chan = await openForwardChannel(serverConn.actor, 'x11', encodeX11ChannelData('127.0.0.1', 4711), { channelType: 'x11', destHost: '', destPort: 0, origHost: '127.0.0.1', origPort: 4711 });
      const name = Buffer.from('MIT-MAGIC-COOKIE-1');
      const setup = Buffer.alloc(12 + 20 + 16);
      setup.write('l', 0);
      setup.writeUInt16LE(11, 2);
      setup.writeUInt16LE(name.length, 6);
      setup.writeUInt16LE(16, 8);
      name.copy(setup, 12);
      Buffer.from(cookieHex, 'hex').copy(setup, 32);
      chan.end(Buffer.concat([setup, Buffer.from('after-setup')]));
      for await (const _ of chan) void _;
      const got = Buffer.concat(received);
      assert.equal(got[0], 0x6c);
      assert.ok(!got.includes(Buffer.from(cookieHex, 'hex')), 'the fake cookie never reaches the X server');
      assert.ok(got.toString('latin1').endsWith('after-setup'));
      // A wrong cookie is refused: the channel is closed without reaching the display.
      const before = received.length;
      const bad = await openForwardChannel(serverConn.actor, 'x11', encodeX11ChannelData('127.0.0.1', 4712), { channelType: 'x11', destHost: '', destPort: 0, origHost: '127.0.0.1', origPort: 4712 });
      const wrong = Buffer.from(setup);
      wrong[40] ^= 0xff;
      bad.write(wrong);
      await bad.waitClosed();
      assert.equal(received.length, before);
      await conn.close();
      tcpX.close();
    } finally {
      xserver.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
