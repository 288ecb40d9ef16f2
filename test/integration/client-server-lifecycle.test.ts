/**
 * Lifecycle between our client and our server: close and abort leave no
 * handles, timeouts (connect, login, run), keepalive loss, server.close()
 * ending every connection, and hostile clients that end only themselves.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ConnectionLost, TimeoutError } from '../../src/protocol/errors.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const clientOpts = (port: number) => ({ port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
const serverOpts = {
  serverHostKeys: [hostKey],
  passwords: { u: 'p' },
  processFactory: (p: { stdout: NodeJS.WritableStream; exit(n: number): void }) => {
    p.stdout.write('ok');
    p.exit(0);
  },
};

// The test runner's own IPC pipes are not ours: count sockets, listeners and timers.
const netHandles = (): string[] => process.getActiveResourcesInfo().filter((r) => /TCP|Timeout/.test(r));

/** Waits (event-loop turns, not wall time) until no socket, server or timer handle is left. */
async function handlesSettle(): Promise<string[]> {
  for (let i = 0; i < 200 && netHandles().length > 0; i++) await new Promise((r) => setImmediate(r));
  return netHandles();
}

describe('lifecycle', () => {
  test('close() of client and server leaves no sockets, servers or timers', async () => {
    const baseline = netHandles();
    assert.deepEqual(baseline, []);
    const server = await listen({ ...serverOpts, loginTimeout: 60_000 });
    const conn = await connect('127.0.0.1', { ...clientOpts(server.port), keepaliveInterval: 30_000, connectTimeout: 60_000 });
    assert.equal((await conn.run('x')).stdout, 'ok');
    await conn.close();
    assert.equal(conn.closed, true);
    assert.equal(conn.error, null);
    await server.close();
    assert.deepEqual(await handlesSettle(), []);
  });

  test('server.close() ends open client connections, which see ConnectionLost or a disconnect', async () => {
    const server = await listen(serverOpts);
    const conns = await Promise.all([1, 2, 3].map(() => connect('127.0.0.1', clientOpts(server.port))));
    assert.equal(server.connectionCount, 3);
    await server.close();
    await Promise.all(conns.map((c) => c.waitClosed()));
    for (const c of conns) assert.equal(c.closed, true);
    assert.equal(server.connectionCount, 0);
    assert.deepEqual(await handlesSettle(), []);
  });

  test('abort signal during connect rejects and leaves nothing behind', async () => {
    // A TCP listener that never speaks SSH: the handshake waits forever.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const ac = new AbortController();
    const p = connect('127.0.0.1', { ...clientOpts((silent.address() as { port: number }).port), signal: ac.signal });
    setImmediate(() => ac.abort(new Error('stop')));
    await assert.rejects(p, /stop/);
    // The silent peer never reads, so it must drop its side itself.
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
    assert.deepEqual(await handlesSettle(), []);
  });

  test('connectTimeout rejects with TimeoutError when the server never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    await assert.rejects(connect('127.0.0.1', { ...clientOpts((silent.address() as { port: number }).port), connectTimeout: 100 }), TimeoutError);
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
    assert.deepEqual(await handlesSettle(), []);
  });

  test('loginTimeout closes a client that never authenticates', async () => {
    await using server = await listen({ ...serverOpts, loginTimeout: 100 });
    const sock = netConnect(server.port, '127.0.0.1');
    sock.resume();
    await once(sock, 'close');
    assert.equal(server.connectionCount, 0);
  });

  test('keepalive: a server that stops answering is declared lost after countMax intervals', async () => {
    await using server = await listen(serverOpts);
    // A proxy between client and server that can freeze the server->client direction.
    let frozen = false;
    const proxy = createServer((down) => {
      const up = netConnect(server.port, '127.0.0.1');
      up.on('data', (d) => !frozen && down.write(d));
      down.on('data', (d) => up.write(d));
      const end = (): void => {
        up.destroy();
        down.destroy();
      };
      up.on('close', end).on('error', end);
      down.on('close', end).on('error', end);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const conn = await connect('127.0.0.1', { ...clientOpts((proxy.address() as { port: number }).port), keepaliveInterval: 30, keepaliveCountMax: 2 });
    assert.equal((await conn.run('x')).stdout, 'ok');
    frozen = true;
    await conn.waitClosed();
    assert.ok(conn.error instanceof ConnectionLost, String(conn.error));
    await new Promise<void>((r) => proxy.close(() => r()));
    proxy.unref();
  });

  test('hostile clients (garbage, bad packets, abrupt resets) end only their own connection', async () => {
    await using server = await listen(serverOpts);
    const good = await connect('127.0.0.1', clientOpts(server.port));
    const attacks: Buffer[] = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from('SSH-2.0-evil\r\n' + '\xff'.repeat(64), 'latin1'),
      Buffer.concat([Buffer.from('SSH-2.0-evil\r\n'), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])]),
      Buffer.concat([Buffer.from('SSH-2.0-evil\r\n'), Buffer.from([0, 0, 0, 12, 4, 94, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]),
      Buffer.alloc(300_000, 0x41),
    ];
    await Promise.all(
      attacks.map(async (bytes) => {
        const s = netConnect(server.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume();
        s.write(bytes);
        // A reset is an acceptable way for the server to end it.
        await new Promise((r) => s.on('close', r));
      }),
    );
    // A client that vanishes mid-handshake.
    const rude = netConnect(server.port, '127.0.0.1');
    rude.on('error', () => undefined);
    await once(rude, 'connect');
    rude.write('SSH-2.0-rude\r\n');
    rude.destroy();
    assert.equal((await good.run('still alive')).stdout, 'ok');
    const fresh = await connect('127.0.0.1', clientOpts(server.port));
    assert.equal((await fresh.run('new')).stdout, 'ok');
    await Promise.all([good.close(), fresh.close()]);
  });
});
