/**
 * Server X11 forwarding with our own client: x11-req refused unless
 * `x11Forwarding`, the first free display from the offset, DISPLAY and
 * xauth for the session, x11 channels back to the client (byte-exact both
 * ways with half-close, cookie swapped by the client), single-connection,
 * and the display closing with its session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import type { ConnectionActor } from '../../src/actors/connection-actor.js';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { encodeX11Request } from '../../src/actors/x11-forward.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { findBinary, makeTempDir, removeTempDir } from '../helpers/ssh-client.js';
import { parseEcho, startFakeXServer, x11EchoProcess, xauthCookie, type FakeXServer } from './x11-helpers.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const hasIPv6Loopback = (): boolean => Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === '::1'));
const xauth = findBinary('xauth');
const SIZE = 4 * 1024 * 1024;

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** The processFactory: x11-echo, or `x11-twice` (connects to $DISPLAY twice and prints what happened). */
function commands(proc: SSHServerProcess): void {
  if (proc.command === 'x11-twice') {
    const port = 6000 + Number(/:(\d+)\./.exec(proc.env.DISPLAY ?? '')?.[1] ?? -6000);
    void (async () => {
      const first = await canConnect(port);
      await new Promise((r) => setTimeout(r, 100));
      const second = await canConnect(port);
      proc.stdout.write(`first=${first} second=${second}\n`);
      proc.exit(0);
    })();
    return;
  }
  x11EchoProcess(proc);
}

describe('X11 forwarding, fleetssh client -> fleetssh server', { timeout: 60_000 }, () => {
  let dir: string;
  let fake: FakeXServer;
  let realCookie: string;
  const servers: SSHServer[] = [];
  const conns: SSHClientConnection[] = [];

  const startServer = async (extra: Partial<ListenOptions>): Promise<SSHServer> => {
    const s = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [hostKey], passwords: { u: 'pw' }, processFactory: commands, xauthLocation: xauth, x11AuthFile: join(dir, 'server.xauth'), ...extra });
    servers.push(s);
    return s;
  };
  const connectTo = async (s: SSHServer, x11 = true): Promise<SSHClientConnection> => {
    const c = await connect('127.0.0.1', { port: s.port, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, x11Forwarding: x11, x11Display: `127.0.0.1:${fake.display}` });
    conns.push(c);
    return c;
  };

  before(async () => {
    dir = makeTempDir('fleetssh-x11-');
    fake = await startFakeXServer();
    // The client's real cookie for the fake display, in the file its `xauth list` reads.
    realCookie = randomBytes(16).toString('hex');
    process.env.XAUTHORITY = join(dir, 'client.xauth');
    if (xauth) execFileSync(xauth, ['-q', '-f', process.env.XAUTHORITY, 'add', `127.0.0.1:${fake.display}`, 'MIT-MAGIC-COOKIE-1', realCookie], { stdio: 'ignore' });
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    for (const s of servers) await s.close();
    await fake?.close();
    if (dir) removeTempDir(dir);
  });

  test('refused by default: no DISPLAY for the session', async () => {
    const server = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [hostKey], passwords: { u: 'pw' }, processFactory: commands });
    servers.push(server);
    const r = await (await connectTo(server)).run(`x11-echo ${SIZE}`);
    assert.equal(r.exitStatus, 1);
    assert.match(r.stdout as string, /^error .*DISPLAY=$/m);
  });

  test('x11-echo: byte-exact both ways through an x11 channel, the client swaps in the real cookie', async () => {
    const server = await startServer({ x11Forwarding: true });
    const before = fake.setups.length;
    const r = await (await connectTo(server)).run(`x11-echo ${SIZE}`);
    assert.equal(r.exitStatus, 0, String(r.stdout));
    const out = parseEcho(r.stdout as string);
    assert.match(out.display!, /^localhost:1\d\.0$/, 'first free display from the default offset 10');
    assert.equal(out.sent, out.echoed);
    assert.equal(Number(out.bytes), SIZE);
    assert.equal(fake.setups.length, before + 1);
    const setup = fake.setups.at(-1)!;
    assert.equal(setup.name, xauth ? 'MIT-MAGIC-COOKIE-1' : '');
    if (xauth) {
      assert.equal(setup.cookie, realCookie, 'the X server got the real cookie, not the fake one the server saw');
      assert.notEqual(out.xauth, 'none', 'xauth recorded the session cookie');
      assert.notEqual(out.xauth, realCookie);
    }
    // The display is gone with its session.
    const port = 6000 + Number(/:(\d+)\./.exec(out.display!)![1]);
    for (let i = 0; i < 50 && (await canConnect(port)); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(await canConnect(port), false);
  });

  test('x11DisplayOffset: the first free display at or above it', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(6000 + 40, '127.0.0.1', r));
    try {
      const server = await startServer({ x11Forwarding: true, x11DisplayOffset: 40 });
      const r = await (await connectTo(server)).run(`x11-echo 1000`);
      const out = parseEcho(r.stdout as string);
      assert.equal(out.display, 'localhost:41.0');
      assert.equal(out.sent, out.echoed);
    } finally {
      busy.close();
    }
  });

  test('the display listens on ::1 too, and a display whose port is taken on ::1 only is skipped', { skip: hasIPv6Loopback() ? false : 'no ::1 here' }, async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen({ port: 6000 + 50, host: '::1', ipv6Only: true }, r));
    try {
      const server = await startServer({ x11Forwarding: true, x11DisplayOffset: 50 });
      const conn = await connectTo(server);
      const r = await conn.run(`x11-echo ${SIZE} ::1`);
      assert.equal(r.exitStatus, 0, String(r.stdout));
      const out = parseEcho(r.stdout as string);
      assert.equal(out.display, 'localhost:51.0', 'display 50 is taken on ::1, so it is not used for 127.0.0.1 either');
      assert.equal(out.sent, out.echoed);
      assert.equal(Number(out.bytes), SIZE);
      // Both listeners close with the session.
      for (let i = 0; i < 50 && ((await canConnect(6051)) || (await canConnect(6051, '::1'))); i++) await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual([await canConnect(6051), await canConnect(6051, '::1')], [false, false]);
    } finally {
      busy.close();
    }
  });

  test('no free display: x11-req is refused once binding failed, the session runs without DISPLAY', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(6000 + 45, '127.0.0.1', r));
    try {
      const handlerErrors: unknown[] = [];
      const server = await startServer({ x11Forwarding: true, x11DisplayOffset: 45, x11MaxDisplays: 1 });
      server.on('handlerError', (e: unknown) => handlerErrors.push(e));
      const conn = await connectTo(server);
      const debug: string[] = [];
      (conn as unknown as { actor: ConnectionActor }).actor.on('debug', (m: string) => debug.push(m));
      const r = await conn.run('x11-echo 10');
      assert.equal(r.exitStatus, 1);
      assert.match(r.stdout as string, /^error .*DISPLAY=$/m);
      assert.ok(debug.some((m) => /x11-req refused/.test(m)), `the client saw the refusal: ${JSON.stringify(debug)}`);
      assert.deepEqual(handlerErrors, [], 'a full display range is a refusal, not a handler error');
    } finally {
      busy.close();
    }
  });

  test('single-connection: the display stops listening after its first connection', async () => {
    const server = await startServer({ x11Forwarding: true });
    const conn = await connectTo(server, false);
    const actor = (conn as unknown as { actor: ConnectionActor }).actor;
    let channels = 0;
    actor.sessionPreludes.push(() => ({ requestType: 'x11-req', data: encodeX11Request(true, 'MIT-MAGIC-COOKIE-1', randomBytes(16).toString('hex'), 0) }));
    conn.forwarding.x11Handler = (id) => {
      channels++;
      actor.rejectChannel(id, 1, 'test');
    };
    const r = await conn.run('x11-twice');
    assert.equal((r.stdout as string).trim(), 'first=true second=false');
    assert.equal(channels, 1);
  });

  test('bad x11-req cookie or protocol is refused', async () => {
    const server = await startServer({ x11Forwarding: true });
    const conn = await connectTo(server, false);
    const actor = (conn as unknown as { actor: ConnectionActor }).actor;
    actor.sessionPreludes.push(() => ({ requestType: 'x11-req', data: encodeX11Request(false, 'MIT-MAGIC-COOKIE-1', 'zz\nadd evil', 0) }));
    const r = await conn.run(`x11-echo 10`);
    assert.equal(r.exitStatus, 1);
    assert.match(r.stdout as string, /DISPLAY=$/m);
  });

  test('xauth file entries', { skip: xauth ? false : 'xauth not installed' }, () => {
    // Every accepted session above recorded its cookie under unix:N.
    assert.ok(xauthCookie(join(dir, 'server.xauth'), 'unix:41') !== null);
  });
});
