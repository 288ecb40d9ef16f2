/**
 * Hostile clients against the fleetssh server. Before the key exchange a raw
 * socket misbehaves (test/helpers/hostile-peer.ts scenarios plus bad packet
 * lengths, strict-kex violations and EXT_INFO in the wrong place); after it,
 * paramiko's Transport sends what a client must not (USERAUTH_SUCCESS,
 * CHANNEL_OPEN before auth, EXT_INFO after auth, window overrun, oversized
 * CHANNEL_DATA, endless wrong passwords). For each attack: only the offending
 * connection ends (we record whether with a DISCONNECT or a bare close), the
 * server reports a typed error (`code`) for it, and a connection opened before
 * the attack still runs a command afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { connect } from '../../src/actors/client.js';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { listen, type SSHServer, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { Msg } from '../../src/protocol/messages.js';
import { Writer } from '../../src/protocol/wire.js';
import {
  HOSTILE_SCENARIOS,
  HOSTILE_VERSION,
  kexinitPayload,
  plainPacket,
  runHostile,
  type HostileReport,
  type HostileStep,
} from '../helpers/hostile-peer.js';
import { announceSkip, runProcess } from '../helpers/ssh-client.js';

const PYTHON = '/usr/bin/python3';
const paramikoSkip = ((): string | undefined => {
  if (spawnSync(PYTHON, ['-c', 'import paramiko'], { timeout: 15_000, stdio: 'ignore' }).status === 0) return undefined;
  const reason = 'SKIPPED: needs python3 paramiko (Debian package python3-paramiko)';
  announceSkip(reason);
  return reason;
})();

const WINDOW = 64 * 1024;
const MAX_PACKET = 16 * 1024;
const LOGIN_TIMEOUT_MS = 3000;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const send = (b: Uint8Array | string): HostileStep => ({ kind: 'send', bytes: typeof b === 'string' ? ascii(b) : b });
const handshake: HostileStep[] = [send(HOSTILE_VERSION + '\r\n'), { kind: 'awaitVersion' }];
const ignorePacket = plainPacket(new Writer(16).byte(Msg.IGNORE).string('x').toBytes());
const kexinit = (strict: boolean): Uint8Array =>
  plainPacket(kexinitPayload([
    strict ? 'curve25519-sha256,kex-strict-c-v00@openssh.com' : 'curve25519-sha256',
    'ssh-ed25519', 'aes128-ctr', 'aes128-ctr', 'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none', '', '',
  ]));
const extInfo = plainPacket(new Writer(64).byte(Msg.EXT_INFO).uint32(1).string('server-sig-algs').string('ssh-ed25519').toBytes());

/** Raw-socket attacks beyond the helper's stock scenarios. */
const RAW_ATTACKS: { name: string; steps: HostileStep[] }[] = [
  // 300 bytes is within OpenSSH's limit (8 KiB): see the control test below.
  ...HOSTILE_SCENARIOS.filter((s) => s.name !== 'overlong-version').map((s) => ({ name: s.name, steps: s.steps })),
  { name: 'version line over 8 KiB (OpenSSH\'s limit)', steps: [send('SSH-2.0-' + 'V'.repeat(9000) + '\r\n'), { kind: 'awaitVersion' }] },
  // 4 + 13 = 17 bytes: not a multiple of the block size 8 (RFC 4253 §6).
  { name: 'length-not-block-aligned', steps: [...handshake, send(new Uint8Array([0, 0, 0, 13, 4, Msg.IGNORE, 0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 0]))] },
  { name: 'strict-kex: IGNORE before KEXINIT', steps: [...handshake, send(ignorePacket), send(kexinit(true))] },
  { name: 'strict-kex: IGNORE during the key exchange', steps: [...handshake, send(kexinit(true)), { kind: 'awaitMessage', msg: Msg.KEXINIT }, send(ignorePacket)] },
  { name: 'EXT_INFO before the key exchange', steps: [...handshake, send(extInfo)] },
];

/** One paramiko Transport that misbehaves after the key exchange; prints a JSON report. */
const PARAMIKO_ATTACK = String.raw`
import json, logging, socket, sys, time, paramiko
from paramiko.message import Message
cfg = json.load(sys.stdin)
logs = []
class Keep(logging.Handler):
    def emit(self, rec): logs.append(rec.getMessage())
logging.getLogger('paramiko').setLevel(logging.INFO)
logging.getLogger('paramiko').addHandler(Keep())
sock = socket.create_connection(('127.0.0.1', cfg['port']), timeout=10)
r = {'localPort': sock.getsockname()[1], 'steps': []}
t = paramiko.Transport(sock)
def raw(byte, build=None):
    m = Message()
    m.add_byte(bytes([byte]))
    if build: build(m)
    t._send_user_message(m)
def session():
    t.auth_password('bob', 'pw')
    ch = t.open_session(window_size=1 << 20, max_packet_size=32768, timeout=5)
    ch.exec_command('hold')
    return ch
def data(ch, n):
    def b(m):
        m.add_int(ch.remote_chanid)
        m.add_string(b'\x00' * n)
    raw(94, b)
try:
    t.start_client(timeout=10)
    r['steps'].append('kex')
    a = cfg['attack']
    if a == 'userauth-success':
        raw(52)
    elif a == 'channel-open-before-auth':
        t.open_session(timeout=5)
        r['steps'].append('opened')
    elif a == 'ext-info-after-auth':
        t.auth_password('bob', 'pw')
        r['steps'].append('authenticated')
        raw(7, lambda m: (m.add_int(1), m.add_string('server-sig-algs'), m.add_string('ssh-ed25519')))
    elif a == 'auth-tries':
        try:
            t.auth_password('bob', 'wrong')
        except paramiko.AuthenticationException:
            r['steps'].append('refused')
        # More attempts as raw requests: paramiko's auth_password would send a
        # new SERVICE_REQUEST each time (see server-paramiko.test.ts).
        for i in range(10):
            raw(50, lambda m: (m.add_string('bob'), m.add_string('ssh-connection'), m.add_string('password'), m.add_boolean(False), m.add_string('wrong-%d' % i)))
            time.sleep(0.05)
            if not t.is_active(): break
            r['steps'].append('sent')
    elif a == 'window-overrun':
        ch = session()
        r['steps'].append('session')
        # Four windows' worth without waiting for WINDOW_ADJUST (the process never reads).
        for i in range(4 * cfg['window'] // cfg['chunk'] + 4):
            if not t.is_active(): break
            data(ch, cfg['chunk'])
    elif a == 'oversized-data':
        ch = session()
        r['steps'].append('session')
        data(ch, cfg['size'])
except Exception as e:
    r['error'] = type(e).__name__ + ': ' + str(e)
deadline = time.time() + 8
while t.is_active() and time.time() < deadline:
    time.sleep(0.02)
r['active'] = t.is_active()
r['disconnect'] = [l for l in logs if l.startswith('Disconnect (code')]
t.close()
print(json.dumps(r))
`;

interface AttackReport {
  localPort: number;
  steps: string[];
  error?: string;
  active: boolean;
  disconnect: string[];
}

function sinkProcess(p: SSHServerProcess): void {
  if (p.command === 'hold') return; // never reads stdin: the window stays spent
  if (p.command === 'sink') {
    p.stdin.resume();
    p.stdin.on('end', () => p.exit(0));
    return;
  }
  p.stdout.write(`alive: ${p.command}\n`);
  p.exit(0);
}

describe('hostile clients against the fleetssh server', { timeout: 170_000 }, () => {
  let server: SSHServer;
  let survivor: SSHClientConnection;
  /** Server-side close of each connection, by the client's port. */
  const closes = new Map<number, Error | null>();
  const closeWaiters = new Map<number, (err: Error | null) => void>();
  const handlerErrors: unknown[] = [];
  let probes = 0;

  before(async () => {
    server = await within(10_000, 'listen', listen({
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      passwords: { bob: 'pw' },
      processFactory: sinkProcess,
      maxAuthTries: 3,
      loginTimeout: LOGIN_TIMEOUT_MS,
      windowSize: WINDOW,
      maxPacketSize: MAX_PACKET,
    }));
    server.on('connectionClosed', (conn: SSHServerConnection, err: Error | null) => {
      const port = conn.remotePort ?? -1;
      closes.set(port, err);
      closeWaiters.get(port)?.(err);
    });
    server.on('handlerError', (err: unknown) => handlerErrors.push(err));
    survivor = await within(10_000, 'survivor connect', connect('127.0.0.1', { port: server.port, username: 'bob', password: 'pw', knownHosts: null, clientKeys: null }));
  });
  after(async () => {
    survivor?.close();
    await within(10_000, 'server close', server?.close() ?? Promise.resolve());
  });

  function serverCloseOf(port: number, ms = 10_000): Promise<Error | null> {
    if (closes.has(port)) return Promise.resolve(closes.get(port)!);
    return within(ms, `server-side close of the connection from port ${port}`, new Promise((resolve) => closeWaiters.set(port, resolve)));
  }

  async function survivorWorks(): Promise<void> {
    const tag = `probe-${probes++}`;
    const r = await within(10_000, 'survivor run', survivor.run(tag));
    assert.equal(r.stdout, `alive: ${tag}\n`);
    assert.equal(r.exitStatus, 0);
  }

  function assertTyped(err: Error | null, code?: RegExp): void {
    assert.ok(err, 'the server reported an error for the connection');
    const c = (err as Error & { code?: unknown }).code;
    assert.equal(typeof c, 'string', `typed error: ${err.name}: ${err.message}`);
    if (code) assert.match(c as string, code, err.message);
  }

  async function rawProbe(steps: readonly HostileStep[], timeoutMs = 8000): Promise<{ report: HostileReport; port: number }> {
    const socket = netConnect({ host: '127.0.0.1', port: server.port });
    await within(5000, 'tcp connect', new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    }));
    const port = socket.localPort!;
    const report = await runHostile(socket, steps, timeoutMs);
    return { report, port };
  }

  for (const attack of RAW_ATTACKS) {
    test(`raw: ${attack.name} ends only that connection`, async (t) => {
      const { report, port } = await rawProbe(attack.steps);
      assert.notEqual(report.outcome, 'timeout', `the server ended the connection (${JSON.stringify(report)})`);
      const err = await serverCloseOf(port);
      assertTyped(err);
      // Which of the two it was, for the record: a DISCONNECT message, or a bare close.
      t.diagnostic(`${report.outcome}${report.disconnect ? ` (reason ${report.disconnect.reason}: ${report.disconnect.description})` : ''}; server error ${(err as { code?: string }).code}: ${err!.message}`);
      // It reacted to the attack itself, not to the login timer.
      assert.doesNotMatch(String((err as { code?: string }).code), /TIMEOUT/);
      await survivorWorks();
    });
  }

  test('raw control: a 300-byte version line is accepted, as OpenSSH does (its limit is 8 KiB)', async () => {
    const { report, port } = await rawProbe([send('SSH-2.0-' + 'A'.repeat(290) + '\r\n'), { kind: 'awaitMessage', msg: Msg.KEXINIT }], 2000);
    assert.equal(report.stoppedAt, null, JSON.stringify(report));
    assert.ok(report.messages.includes(Msg.KEXINIT), 'the server went on to its KEXINIT');
    await serverCloseOf(port);
    await survivorWorks();
  });

  test('raw control: IGNORE before KEXINIT without strict kex is allowed', async () => {
    const { report, port } = await rawProbe([...handshake, send(ignorePacket), send(kexinit(false)), { kind: 'awaitMessage', msg: Msg.KEXINIT }], 2000);
    assert.equal(report.outcome, 'timeout', JSON.stringify(report));
    assert.equal(report.stoppedAt, null);
    assert.ok(report.messages.includes(Msg.KEXINIT));
    await serverCloseOf(port); // our socket was destroyed at the deadline
    await survivorWorks();
  });

  test('login timeout ends a connection that never authenticates', async (t) => {
    const { report, port } = await rawProbe([...handshake, send(kexinit(false))], LOGIN_TIMEOUT_MS + 7000);
    assert.notEqual(report.outcome, 'timeout', JSON.stringify(report));
    const err = await serverCloseOf(port);
    t.diagnostic(`${report.outcome}${report.disconnect ? ` (reason ${report.disconnect.reason}: ${report.disconnect.description})` : ''}; server error ${(err as { code?: string } | null)?.code}`);
    assertTyped(err, /TIMEOUT/);
    await survivorWorks();
  });

  async function paramikoAttack(t: { diagnostic(m: string): void }, attack: string, extra: Record<string, unknown> = {}): Promise<{ r: AttackReport; err: Error | null }> {
    const p = await runProcess(PYTHON, ['-c', PARAMIKO_ATTACK], { input: JSON.stringify({ port: server.port, attack, ...extra }), timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    const r = JSON.parse(p.stdout.toString()) as AttackReport;
    assert.ok(r.steps.includes('kex'), `paramiko completed the key exchange: ${JSON.stringify(r)}`);
    assert.equal(r.active, false, `the server ended the transport: ${JSON.stringify(r)}`);
    const err = await serverCloseOf(r.localPort);
    t.diagnostic(`${r.disconnect.length ? r.disconnect.join('; ') : 'closed without DISCONNECT'}; server error ${(err as { code?: string } | null)?.code}: ${err?.message}`);
    return { r, err };
  }

  describe('after the key exchange (paramiko)', { skip: paramikoSkip }, () => {
    test('USERAUTH_SUCCESS sent by a client', async (t) => {
      const { r, err } = await paramikoAttack(t, 'userauth-success');
      assertTyped(err, /PROTOCOL/);
      assert.equal(r.disconnect.length, 1, JSON.stringify(r));
      await survivorWorks();
    });

    test('CHANNEL_OPEN before authentication', async (t) => {
      const { r, err } = await paramikoAttack(t, 'channel-open-before-auth');
      assert.ok(!r.steps.includes('opened'), 'no channel was opened');
      assertTyped(err, /PROTOCOL/);
      await survivorWorks();
    });

    test('EXT_INFO from a client after authentication', async (t) => {
      const { r, err } = await paramikoAttack(t, 'ext-info-after-auth');
      assert.ok(r.steps.includes('authenticated'));
      assertTyped(err, /PROTOCOL/);
      await survivorWorks();
    });

    test('endless wrong passwords: the maxAuthTries-th (3) ends the connection', async (t) => {
      const { r, err } = await paramikoAttack(t, 'auth-tries');
      assert.equal(r.steps.filter((s) => s === 'refused').length, 1, JSON.stringify(r));
      assertTyped(err, /NO_MORE_AUTH_METHODS/);
      assert.equal(r.disconnect.length, 1, JSON.stringify(r));
      await survivorWorks();
    });

    test('window overrun: CHANNEL_DATA beyond the advertised window', async (t) => {
      const { r, err } = await paramikoAttack(t, 'window-overrun', { window: WINDOW, chunk: MAX_PACKET });
      assert.ok(r.steps.includes('session'));
      assertTyped(err, /PROTOCOL/);
      await survivorWorks();
    });

    test('oversized CHANNEL_DATA: larger than the advertised maximum packet', async (t) => {
      const { r, err } = await paramikoAttack(t, 'oversized-data', { size: MAX_PACKET + 1024 });
      assert.ok(r.steps.includes('session'));
      assertTyped(err, /PROTOCOL/);
      await survivorWorks();
    });
  });

  test('the server still accepts new connections after every attack', async () => {
    const fresh = await within(10_000, 'connect', connect('127.0.0.1', { port: server.port, username: 'bob', password: 'pw', knownHosts: null, clientKeys: null }));
    try {
      const r = await within(10_000, 'run', fresh.run('fresh'));
      assert.equal(r.stdout, 'alive: fresh\n');
    } finally {
      fresh.close();
    }
    await survivorWorks();
    assert.deepEqual(handlerErrors, []);
  });
});
