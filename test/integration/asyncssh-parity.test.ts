/**
 * The AsyncSSH features added for parity, client and server both fleetssh:
 * process redirection (files, streams, another process, DEVNULL, stderr into
 * stdout) on the client and the server, getExtraInfo, clientVersion and
 * serverVersion, setKeepalive, disconnect with a reason, abort, localAddr,
 * listen backlog/keepalive options and matchKnownHosts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelRequestError, DisconnectError, HostKeyNotVerifiable, PermissionDenied } from '../../src/protocol/errors.js';
import { CertifiedKey, createCertificate } from '../../src/crypto/keys/certificate.js';
import { readPrivateKey, readPublicKey, writePrivateKey, writePublicKey } from '../../src/actors/key-files.js';
import { DisconnectReason } from '../../src/protocol/messages.js';
import { DEVNULL, PIPE, STDOUT } from '../../src/actors/process-redirect.js';
import { matchKnownHosts } from '../../src/actors/known-hosts-match.js';
import { parseKnownHosts } from '../../src/actors/host-key-check.js';

const hostKey = generatePrivateKey('ssh-ed25519');

async function fakeProcess(p: SSHServerProcess): Promise<void> {
  const cmd = p.command ?? '';
  if (cmd === 'cat') {
    p.stdin.pipe(p.stdout, { end: false });
    p.stdin.on('end', () => p.exit(0));
  } else if (cmd === 'both') {
    p.stdout.write('out1\n');
    p.stderr.write('err1\n');
    setTimeout(() => {
      p.stdout.write('out2\n');
      p.exit(3);
    }, 10);
  } else if (cmd === 'tty') {
    p.stdout.write(JSON.stringify({ termType: p.termType, termSize: p.termSize }));
    p.exit(0);
  } else if (cmd === 'peer') {
    p.stdout.write(JSON.stringify({ peer: p.getExtraInfo('peername'), client: p.getExtraInfo('clientVersion'), cipher: p.getExtraInfo('recv_cipher') }));
    p.exit(0);
  } else if (cmd === 'redirected') {
    // The server side of redirect: the client's input goes to a PassThrough that feeds the output back upper-cased.
    const upper = new PassThrough({ transform: undefined });
    const out = new PassThrough();
    upper.on('data', (c: Buffer) => out.write(String(c).toUpperCase()));
    upper.on('end', () => out.end());
    await p.redirect(upper, out, Readable.from(['to-stderr\n']));
    p.stdout.on('finish', () => p.exit(0));
  } else {
    p.stdout.write(`ran ${cmd}`);
    p.exit(0);
  }
}

async function setup(extra: Record<string, unknown> = {}) {
  const server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess, serverVersion: 'ParityServer_1.0', ...extra });
  const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, clientVersion: 'ParityClient_2.0' });
  return { server, conn, [Symbol.asyncDispose]: async () => (await conn.close(), await server.close()) };
}

describe('client process redirection', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-redirect-'));
  test.after?.(() => rmSync(dir, { recursive: true, force: true }));

  test('run: stdin from a file, stdout to a file (flushed when run resolves)', async () => {
    await using t = await setup();
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const data = 'line\n'.repeat(50_000);
    writeFileSync(input, data);
    const r = await t.conn.run('cat', { stdin: input, stdout: output });
    assert.equal(r.exitStatus, 0);
    assert.equal(r.stdout, '');
    const written = readFileSync(output, 'utf8');
    assert.equal(written.length, data.length);
    assert.ok(written === data, 'the file holds what was sent');
  });

  test('run: stderr STDOUT merges stderr into stdout; DEVNULL discards', async () => {
    await using t = await setup();
    const merged = await t.conn.run('both', { stderr: STDOUT });
    assert.equal(merged.stdout, 'out1\nerr1\nout2\n');
    assert.equal(merged.stderr, '');
    assert.equal(merged.exitStatus, 3);
    const quiet = await t.conn.run('both', { stdout: DEVNULL, stderr: PIPE });
    assert.equal(quiet.stdout, '');
    assert.equal(quiet.stderr, 'err1\n');
  });

  test('run: stdout to a Writable and stdin from a Readable; a missing input file rejects', async () => {
    await using t = await setup();
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (c: Buffer) => got.push(c));
    const r = await t.conn.run('cat', { stdin: Readable.from(['a', 'b', 'c']), stdout: sink });
    assert.equal(r.exitStatus, 0);
    assert.equal(Buffer.concat(got).toString(), 'abc');
    assert.ok(sink.writableEnded);
    await assert.rejects(t.conn.run('cat', { stdin: join(dir, 'missing') }), /ENOENT/);
    await assert.rejects(t.conn.run('cat', { stdin: DEVNULL, input: 'x' }), TypeError);
    await assert.rejects(t.conn.run('cat', { stdout: STDOUT as never }), TypeError);
    await assert.rejects(t.conn.run('cat', { stdin: 42 as never }), TypeError);
  });

  test('redirect: one process feeds another (stdout of the first into stdin of the second)', async () => {
    await using t = await setup();
    const first = await t.conn.createProcess('cat');
    const second = await t.conn.createProcess('cat');
    await second.redirect(first);
    first.stdin.end('piped through two\n');
    const r = await second.wait();
    assert.equal(r.stdout, 'piped through two\n');
    assert.equal((await first.wait()).exitStatus, 0);
  });

  test('server redirect: client input to a stream, output and stderr from streams', async () => {
    await using t = await setup();
    const r = await t.conn.run('redirected', { input: 'hello\n' });
    assert.equal(r.stdout, 'HELLO\n');
    assert.equal(r.stderr, 'to-stderr\n');
    assert.equal(r.exitStatus, 0);
  });
});

describe('connection info and control', { timeout: 60_000 }, () => {
  test('getExtraInfo and the version options on both sides', async () => {
    let serverConn: import('../../src/actors/server.js').SSHServerConnection | null = null;
    await using t = await setup();
    t.server.on('connection', (c) => (serverConn = c));
    const c = t.conn;
    assert.equal(c.serverVersion, 'SSH-2.0-ParityServer_1.0');
    assert.equal(c.getExtraInfo('clientVersion'), 'SSH-2.0-ParityClient_2.0');
    assert.equal(c.getExtraInfo('client_version'), 'SSH-2.0-ParityClient_2.0');
    assert.equal(c.getExtraInfo('serverVersion'), 'SSH-2.0-ParityServer_1.0');
    assert.deepEqual(c.getExtraInfo('peername'), ['127.0.0.1', t.server.port]);
    const [addr, lport] = c.getExtraInfo('sockname') as [string, number];
    assert.equal(addr, '127.0.0.1');
    assert.ok(lport > 0);
    assert.equal(c.getExtraInfo('username'), 'u');
    assert.equal(c.getExtraInfo('sendCipher'), c.algorithms!.cipherCS);
    assert.equal(c.getExtraInfo('recvCipher'), c.algorithms!.cipherSC);
    assert.equal(c.getExtraInfo('no-such-thing', 'dflt'), 'dflt');
    const r = await c.run('peer');
    const info = JSON.parse(String(r.stdout));
    assert.deepEqual(info.peer, ['127.0.0.1', lport]);
    assert.equal(info.client, 'SSH-2.0-ParityClient_2.0');
    assert.equal(info.cipher, c.algorithms!.cipherCS);
    const second = await connect('127.0.0.1', { port: t.server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    assert.ok(serverConn);
    assert.equal((serverConn as import('../../src/actors/server.js').SSHServerConnection).getExtraInfo('serverVersion'), 'SSH-2.0-ParityServer_1.0');
    assert.equal(second.getExtraInfo('clientVersion'), 'SSH-2.0-fleetssh_0.1');
    await second.close();
  });

  test('bad version strings, localAddr and family are checked before any I/O', async () => {
    await assert.rejects(connect('127.0.0.1', { clientVersion: 'has space' }), TypeError);
    await assert.rejects(connect('127.0.0.1', { clientVersion: 'a-b' }), TypeError);
    await assert.rejects(connect('127.0.0.1', { localAddr: 5 as never }), TypeError);
    await assert.rejects(connect('127.0.0.1', { family: 5 as never }), RangeError);
    await assert.rejects(connect('127.0.0.1', { preferredAuth: 5 as never }), /preferredAuth: expected method names/);
    await assert.rejects(connect('127.0.0.1', { preferredAuth: ['publickey', 'pass word'] }), /preferredAuth: expected method names/);
    await assert.rejects(listen({ serverHostKeys: [hostKey], serverVersion: '' }), TypeError);
    await assert.rejects(listen({ serverHostKeys: [hostKey], backlog: -1 }), RangeError);
  });

  test('localAddr binds the local end', async () => {
    await using t = await setup();
    const c = await connect('127.0.0.1', { port: t.server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, localAddr: ['127.0.0.1', 0], family: 4 });
    assert.equal((c.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
    await c.close();
  });

  test('setKeepalive: beats against a live server keep the connection; 0 stops them', async () => {
    await using t = await setup({ keepaliveInterval: 40, keepaliveCountMax: 2, backlog: 8 });
    t.conn.setKeepalive(30, 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.conn.closed, false);
    t.conn.setKeepalive(0);
    assert.throws(() => t.conn.setKeepalive(-1), RangeError);
    assert.throws(() => t.conn.setKeepalive(10, 0), RangeError);
    assert.equal((await t.conn.run('x')).stdout, 'ran x');
  });

  test('disconnect sends the chosen reason; the client closes cleanly', async () => {
    await using t = await setup();
    const seen = new Promise<Error | null>((resolve) => t.server.once('connectionClosed', (_c: unknown, err: Error | null) => resolve(err)));
    await t.conn.disconnect(DisconnectReason.TOO_MANY_CONNECTIONS, 'going away');
    assert.equal(t.conn.error, null);
    const err = await seen;
    assert.ok(err instanceof DisconnectError);
    assert.equal(err.reason, DisconnectReason.TOO_MANY_CONNECTIONS);
    assert.match(err.message, /going away/);
    assert.throws(() => void t.conn.disconnect(0), RangeError);
  });

  test('server disconnect reaches the client as that reason; abort drops without a message', async () => {
    let serverConn: import('../../src/actors/server.js').SSHServerConnection | null = null;
    const server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess });
    server.on('connection', (c) => (serverConn = c));
    try {
      const c1 = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
      await serverConn!.disconnect(DisconnectReason.BY_APPLICATION, 'maintenance');
      await c1.waitClosed();
      assert.ok(c1.error instanceof DisconnectError);
      assert.match(c1.error.message, /maintenance/);
      const c2 = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
      await c2.abort();
      assert.equal(c2.closed, true);
    } finally {
      await server.close();
    }
  });
});

describe('host key, pty policy, key files', { timeout: 60_000 }, () => {
  test('getServerHostKey reports the presented key; process getExtraInfo reaches the connection', async () => {
    await using t = await setup();
    const k = t.conn.getServerHostKey();
    assert.ok(k);
    assert.equal(k.keyType, 'ssh-ed25519');
    assert.equal(k.fingerprint, hostKey.fingerprintSHA256());
    assert.ok(Buffer.from(k.publicBlob).equals(Buffer.from(hostKey.publicBlob)));
    const proc = await t.conn.createProcess('x');
    assert.equal(proc.getExtraInfo('username'), 'u');
    await proc.wait();
  });

  test('allowPty: false refuses pty requests; sessions without a pty still run', async () => {
    await using t = await setup({ allowPty: false });
    await assert.rejects(t.conn.run('x', { termType: 'xterm' }), ChannelRequestError);
    assert.equal((await t.conn.run('x')).stdout, 'ran x');
    await assert.rejects(listen({ serverHostKeys: [hostKey], allowPty: 'no' as never }), TypeError);
  });

  test('writePrivateKey (mode 0600, even over an existing file) and writePublicKey read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-keyfiles-'));
    try {
      const key = generatePrivateKey('ecdsa-sha2-nistp256', { comment: 'written' });
      const priv = join(dir, 'id_ecdsa');
      writeFileSync(priv, 'old', { mode: 0o644 });
      await writePrivateKey(priv, key, 'openssh', 'pw');
      assert.equal(statSync(priv).mode & 0o777, 0o600);
      const back = await readPrivateKey(priv, 'pw');
      assert.equal(back.fingerprintSHA256(), key.fingerprintSHA256());
      await writePublicKey(priv + '.pub', key);
      assert.equal((await readPublicKey(priv + '.pub')).fingerprintSHA256(), key.fingerprintSHA256());
      await assert.rejects(writePrivateKey(join(dir, 'x'), key.publicOnly()), TypeError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('knownHosts as key lists, auth method switches', { timeout: 60_000 }, () => {
  const base = { username: 'u', password: 'p', clientKeys: null } as const;

  test('hostKeys accept, another key or a revoked one refuse, a CA accepts its host certificate', async () => {
    await using t = await setup();
    const ok = await connect('127.0.0.1', { ...base, port: t.server.port, knownHosts: { hostKeys: [hostKey.publicOnly()] } });
    await ok.close();
    const other = generatePrivateKey('ssh-ed25519');
    await assert.rejects(connect('127.0.0.1', { ...base, port: t.server.port, knownHosts: { hostKeys: [other] } }), HostKeyNotVerifiable);
    await assert.rejects(connect('127.0.0.1', { ...base, port: t.server.port, knownHosts: { hostKeys: [hostKey], revokedKeys: [hostKey] } }), HostKeyNotVerifiable);
    await assert.rejects(connect('127.0.0.1', { ...base, port: t.server.port, knownHosts: { hostKeys: ['x' as never] } }), TypeError);
    const ca = generatePrivateKey('ssh-ed25519');
    const cert = createCertificate(ca, hostKey, { type: 'host', keyId: 'h', principals: ['127.0.0.1'] });
    await using certServer = await listen({ serverHostKeys: [new CertifiedKey(hostKey, cert)], passwords: { u: 'p' }, processFactory: fakeProcess });
    const viaCa = await connect('127.0.0.1', { ...base, port: certServer.port, knownHosts: { caKeys: [ca] } });
    await viaCa.close();
    await assert.rejects(connect('127.0.0.1', { ...base, port: certServer.port, knownHosts: { caKeys: [other] } }), HostKeyNotVerifiable);
  });

  test('passwordAuth, kbdintAuth and publicKeyAuth false leave that method out', async () => {
    const userKey = generatePrivateKey('ssh-ed25519');
    const seen: string[] = [];
    await using server = await listen({
      serverHostKeys: [hostKey],
      processFactory: fakeProcess,
      handler: {
        validatePassword: (_u, pw) => (seen.push('password'), pw === 'p'),
        validatePublicKey: (_u, k) => (seen.push('publickey'), Buffer.from(k.publicBlob).equals(Buffer.from(userKey.publicBlob))),
        getKbdintChallenge: () => (seen.push('kbdint'), { prompts: [{ prompt: 'Password: ', echo: false }] }),
        validateKbdintResponse: (_u, r) => r[0] === 'p',
      },
    });
    const o = { port: server.port, username: 'u', knownHosts: null, agentPath: null } as const;
    await assert.rejects(connect('127.0.0.1', { ...o, password: 'p', clientKeys: null, passwordAuth: false, kbdintAuth: false }), PermissionDenied);
    assert.deepEqual(seen, []);
    const viaKbdint = await connect('127.0.0.1', { ...o, password: 'p', clientKeys: null, passwordAuth: false });
    await viaKbdint.close();
    assert.deepEqual(seen, ['kbdint']);
    seen.length = 0;
    const viaPassword = await connect('127.0.0.1', { ...o, password: 'p', clientKeys: [userKey], publicKeyAuth: false, kbdintAuth: false });
    await viaPassword.close();
    assert.deepEqual(seen, ['password']);
    await assert.rejects(connect('127.0.0.1', { ...o, passwordAuth: 'no' as never }), TypeError);
  });
});

describe('connection-wide process defaults', { timeout: 30_000 }, () => {
  test('termType, termSize and encoding from connect() apply to run/createProcess; a session option wins', async () => {
    await using server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess, sftpFactory: true });
    const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, termType: 'vt100', termSize: [100, 30], encoding: null });
    try {
      const r = await conn.run('tty');
      assert.ok(Buffer.isBuffer(r.stdout));
      assert.deepEqual(JSON.parse(r.stdout.toString()), { termType: 'vt100', termSize: [100, 30, 0, 0] });
      const own = await conn.run('tty', { termType: 'xterm', encoding: 'utf8' });
      assert.equal(JSON.parse(String(own.stdout)).termType, 'xterm');
      // SFTP opens its own session: no pty is asked for there.
      const sftp = await conn.startSftpClient();
      assert.ok(Array.isArray(await sftp.listdir('/')));
      await sftp.exit();
    } finally {
      await conn.close();
    }
    await assert.rejects(connect('127.0.0.1', { encoding: 'nope' as never }), TypeError);
  });
});

describe('line editor (listen lineEditor)', { timeout: 30_000 }, () => {
  async function lineServer() {
    return listen({
      serverHostKeys: [hostKey],
      passwords: { u: 'p' },
      lineEditor: { historySize: 10 },
      processFactory: async (p) => {
        p.stdout.write('user: ');
        const lines = createInterface({ input: p.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
        const user = (await lines.next()).value as string;
        p.setEcho(false);
        p.stdout.write('password: ');
        const pw = (await lines.next()).value as string;
        p.setEcho(true);
        p.stdout.write(`${user}/${pw}\n`);
        p.stderr.write('bye\n');
        p.exit(0);
      },
    });
  }

  test('a pty session reads edited lines, echo off hides a password, output gets CRLF and is flushed by exit', async () => {
    await using server = await lineServer();
    const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    try {
      const proc = await conn.createProcess('login', { termType: 'xterm' });
      let screen = '';
      const seen = (text: string): Promise<void> =>
        new Promise((resolve) => {
          const check = (): void => {
            if (!screen.includes(text)) return;
            proc.stdout.off('data', onData);
            resolve();
          };
          const onData = (c: string): void => ((screen += c), check());
          proc.stdout.on('data', onData);
          check();
        });
      await seen('user: ');
      proc.stdin.write('bobb\x7f\r');
      // Typed after the prompt: echo is off by then (keys typed ahead of it would still be echoed, as on any terminal).
      await seen('password: ');
      proc.stdin.write('s3cret\r');
      proc.stdin.end();
      proc.stdout.on('data', (c: string) => (screen += c));
      const r = await proc.wait();
      assert.equal(r.exitStatus, 0);
      assert.equal(screen, 'user: bobb\b \b\r\npassword: \r\nbob/s3cret\r\n');
      assert.equal(r.stderr, 'bye\r\n');
      // Without a pty the editor stays out of the way.
      const raw = await conn.run('login', { input: 'x\ny\n' });
      assert.equal(raw.stdout, 'user: password: x/y\n');
    } finally {
      await conn.close();
    }
  });
});

describe('matchKnownHosts', () => {
  test('splits host keys, CA keys and revoked keys for a host and port', () => {
    const a = generatePrivateKey('ssh-ed25519');
    const ca = generatePrivateKey('ssh-ed25519');
    const bad = generatePrivateKey('ecdsa-sha2-nistp256');
    const kh = parseKnownHosts(
      `web1,10.0.0.1 ${a.exportPublicKey()}\n@cert-authority *.example ${ca.exportPublicKey()}\n@revoked * ${bad.exportPublicKey()}\n[web1]:2222 ${bad.exportPublicKey()}\n`,
    );
    const m = matchKnownHosts(kh, 'web1', '10.0.0.1');
    assert.deepEqual(m.hostKeys.map((k) => k.fingerprintSHA256()), [a.fingerprintSHA256()]);
    assert.equal(m.caKeys.length, 0);
    assert.deepEqual(m.revokedKeys.map((k) => k.fingerprintSHA256()), [bad.fingerprintSHA256()]);
    assert.equal(matchKnownHosts(kh, 'db.example').caKeys[0]!.fingerprintSHA256(), ca.fingerprintSHA256());
    assert.deepEqual(matchKnownHosts(kh, 'web1', null, 2222).hostKeys.map((k) => k.keyType), ['ecdsa-sha2-nistp256']);
    assert.equal(matchKnownHosts(kh, 'other').hostKeys.length, 0);
    assert.throws(() => matchKnownHosts(kh, 'web1', null, 0), RangeError);
  });
});

describe('client session factory (createSession(factory, command))', { timeout: 30_000 }, () => {
  test('callbacks see data by stream, EOF, the exit status and the close, in order', async () => {
    await using t = await setup();
    const events: string[] = [];
    const [channel, session] = await t.conn.createSession(
      () => ({
        chan: null as unknown,
        connectionMade(c: unknown) {
          this.chan = c;
          events.push('made');
        },
        sessionStarted: () => events.push('started'),
        dataReceived: (d: string | Buffer, type: number | null) => events.push(`${type === null ? 'out' : 'err'}:${String(d)}`),
        eofReceived: () => events.push('eof'),
        exitStatusReceived: (s: number) => events.push(`status:${s}`),
        connectionLost: (err: Error | null) => events.push(`lost:${err === null ? 'clean' : err.message}`),
      }),
      'both',
    );
    assert.equal(session.chan, channel);
    await channel.waitClosed();
    for (let i = 0; i < 50 && !events.some((e) => e.startsWith('lost')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events.slice(0, 2), ['made', 'started']);
    assert.equal(events.filter((e) => e.startsWith('out:')).join(''), 'out:out1\nout:out2\n');
    assert.ok(events.includes('err:err1\n'));
    assert.ok(events.indexOf('eof') < events.indexOf('lost:clean'));
    assert.ok(events.includes('status:3'));
    assert.equal(events[events.length - 1], 'lost:clean');
  });

  test('a callback that throws closes the channel and reaches connectionLost', async () => {
    await using t = await setup();
    let lost: Error | null | undefined;
    const [channel] = await t.conn.createSession(
      () => ({
        dataReceived: () => {
          throw new Error('app bug');
        },
        connectionLost: (err: Error | null) => (lost = err),
      }),
      'both',
    );
    await channel.waitClosed();
    for (let i = 0; i < 50 && lost === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lost?.message, 'app bug');
    await assert.rejects(t.conn.createSession((() => 5) as never, 'x'), TypeError);
  });
});

describe('tcpKeepalive', { timeout: 30_000 }, () => {
  /** The kernel's view of the TCP connections on `port`: `ss -o` shows a keepalive timer when SO_KEEPALIVE is on. */
  function ssTimers(port: number): string {
    return execFileSync('ss', ['-tno', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  }

  test('SO_KEEPALIVE on the client socket and on accepted sockets only when asked', { skip: existsSync('/usr/bin/ss') || existsSync('/bin/ss') ? undefined : 'ss not installed' }, async () => {
    await using on = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess, tcpKeepalive: true });
    const c1 = await connect('127.0.0.1', { port: on.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, tcpKeepalive: true });
    // ss shows one timer per socket: a retransmit timer hides the keepalive one until the data is acknowledged.
    let both = ssTimers(on.port);
    for (let i = 0; i < 50 && both.match(/timer:\(keepalive/g)?.length !== 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      both = ssTimers(on.port);
    }
    assert.equal(both.match(/timer:\(keepalive/g)?.length, 2, both);
    await c1.close();
    await using off = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess });
    const c2 = await connect('127.0.0.1', { port: off.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    const none = ssTimers(off.port);
    assert.equal(none.match(/timer:\(keepalive/g), null, none);
    await c2.close();
    await assert.rejects(connect('127.0.0.1', { tcpKeepalive: 1 as never }), TypeError);
  });
});
