/**
 * Our client against our own server: exec with stdin/stdout/stderr, exit
 * status and signal, env, pty with size, terminal resize and signals,
 * readline, check/ProcessError, refused requests, many concurrent channels.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelRequestError, ProcessError } from '../../src/protocol/errors.js';

const hostKey = generatePrivateKey('ssh-ed25519');

/** A tiny "shell": commands the test server understands. */
async function fakeProcess(p: SSHServerProcess): Promise<void> {
  const cmd = p.command ?? '';
  if (cmd === 'cat') {
    p.stdin.pipe(p.stdout, { end: false });
    p.stdin.on('end', () => p.exit(0));
  } else if (cmd === 'upper-stderr') {
    let text = '';
    p.stdin.setEncoding('utf8');
    for await (const chunk of p.stdin) text += chunk;
    p.stderr.write(text.toUpperCase());
    p.exit(0);
  } else if (cmd.startsWith('exit ')) {
    p.stdout.write('out\n');
    p.stderr.write('err\n');
    p.exit(Number(cmd.slice(5)));
  } else if (cmd === 'kill-me') {
    p.exitWithSignal('KILL', true, 'killed');
  } else if (cmd === 'env') {
    p.stdout.write(JSON.stringify(p.env));
    p.exit(0);
  } else if (cmd === 'tty') {
    p.stdout.write(JSON.stringify({ termType: p.termType, termSize: p.termSize, modes: p.termModes }) + '\n');
    p.on('terminalSizeChanged', (cols: number, rows: number) => p.stdout.write(`resized ${cols}x${rows}\n`));
    p.on('signal', (name: string) => {
      p.stdout.write(`signal ${name}\n`);
      p.exit(130);
    });
  } else if (cmd.startsWith('lines ')) {
    const n = Number(cmd.slice(6));
    for (let i = 0; i < n; i++) p.stdout.write(`line ${i}\r\n`);
    p.exit(0);
  } else if (cmd === 'throw') {
    throw new Error('application bug');
  } else {
    p.stdout.write(`ran ${cmd}`);
    p.exit(0);
  }
}

async function setup() {
  const server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess, encoding: null });
  const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
  return {
    server,
    conn,
    async [Symbol.asyncDispose]() {
      await conn.close();
      await server.close();
    },
  };
}

describe('exec', () => {
  test('stdout, stderr and exit status; check turns failure into ProcessError', async () => {
    await using env = await setup();
    const ok = await env.conn.run('exit 0');
    assert.deepEqual([ok.stdout, ok.stderr, ok.exitStatus, ok.returncode, ok.exitSignal], ['out\n', 'err\n', 0, 0, null]);
    const bad = await env.conn.run('exit 7');
    assert.equal(bad.exitStatus, 7);
    const err = await env.conn.run('exit 7', { check: true }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ProcessError);
    assert.equal(err.exitStatus, 7);
    assert.equal(err.returncode, 7);
    assert.equal(err.stdout, 'out\n');
    assert.equal(err.stderr, 'err\n');
  });

  test('exit signal with core dump flag and message', async () => {
    await using env = await setup();
    const r = await env.conn.run('kill-me');
    assert.equal(r.exitStatus, null);
    assert.deepEqual(r.exitSignal, { signal: 'KILL', coreDumped: true, message: 'killed', lang: '' });
    assert.equal(r.returncode, -9);
    await assert.rejects(env.conn.run('kill-me', { check: true }), (e: unknown) => e instanceof ProcessError && e.exitSignal === 'KILL' && e.returncode === -9);
  });

  test('input goes to stdin; binary output with encoding null', async () => {
    await using env = await setup();
    const r = await env.conn.run('cat', { input: 'hello\nworld\n' });
    assert.equal(r.stdout, 'hello\nworld\n');
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    const b = await env.conn.run('cat', { input: bytes, encoding: null });
    assert.ok(Buffer.isBuffer(b.stdout));
    assert.equal(Buffer.compare(b.stdout as Buffer, Buffer.from(bytes)), 0);
    const e = await env.conn.run('upper-stderr', { input: 'abc' });
    assert.deepEqual([e.stdout, e.stderr], ['', 'ABC']);
  });

  test('multi-byte UTF-8 split across packets decodes intact', async () => {
    await using env = await setup();
    const text = 'žluťoučký kůň 🐎 '.repeat(5000);
    const r = await env.conn.run('cat', { input: text });
    assert.equal(r.stdout, text);
  });

  test('env variables reach the server process', async () => {
    await using env = await setup();
    const r = await env.conn.run('env', { env: { LANG: 'C.UTF-8', FOO: 'bar baz' } });
    assert.deepEqual(JSON.parse(r.stdout as string), { LANG: 'C.UTF-8', FOO: 'bar baz' });
  });

  test('pty with type, size and modes; resize and signal', async () => {
    await using env = await setup();
    const proc = await env.conn.createProcess('tty', { termType: 'xterm-256color', termSize: [120, 40, 960, 640], termModes: { 53: 1, 128: 38400 } });
    const first = JSON.parse((await proc.readline())!);
    assert.deepEqual(first, { termType: 'xterm-256color', termSize: [120, 40, 960, 640], modes: { 53: 1, 128: 38400 } });
    proc.changeTerminalSize(100, 30);
    assert.equal(await proc.readline(), 'resized 100x30');
    proc.sendSignal('INT');
    assert.equal(await proc.readline(), 'signal INT');
    assert.equal(await proc.readline(), null);
    const done = await proc.wait();
    assert.equal(done.exitStatus, 130);
  });

  test('readline and async iteration over lines', async () => {
    await using env = await setup();
    const proc = await env.conn.createProcess('lines 500');
    const lines: string[] = [];
    for await (const line of proc) lines.push(line);
    assert.equal(lines.length, 500);
    assert.equal(lines[499], 'line 499');
    assert.equal((await proc.wait()).exitStatus, 0);
  });

  test('createProcess streams: write stdin, end, read stdout', async () => {
    await using env = await setup();
    const proc = await env.conn.createProcess('cat');
    proc.stdin.write('a');
    proc.stdin.write('b');
    proc.stdin.end('c');
    let out = '';
    for await (const c of proc.stdout) out += c;
    assert.equal(out, 'abc');
    assert.equal((await proc.wait()).exitStatus, 0);
  });

  test('openSession gives stdin/stdout/stderr; createSession the channel', async () => {
    await using env = await setup();
    const { stdin, stdout, channel } = await env.conn.openSession('cat');
    stdin.end('xyz');
    let out = '';
    for await (const c of stdout) out += c;
    await channel.waitClosed();
    assert.equal(out, 'xyz');
    assert.equal(channel.exitStatus, 0);
  });

  test('a throwing processFactory ends that session with status 1 only', async () => {
    await using env = await setup();
    const r = await env.conn.run('throw');
    assert.equal(r.exitStatus, 1);
    assert.equal((await env.conn.run('echo')).stdout, 'ran echo');
  });

  test('without processFactory exec is refused with ChannelRequestError', async () => {
    await using server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' } });
    await using conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    await assert.rejects(conn.run('ls'), ChannelRequestError);
    await assert.rejects(conn.createProcess(null), ChannelRequestError);
  });

  test('onStartRequested: called once as the exec request leaves, before its reply; not when the session is refused', async () => {
    await using env = await setup();
    const seen: string[] = [];
    const p = env.conn.createProcess('exit 0', { onStartRequested: () => seen.push('requested') });
    const proc = await p;
    seen.push('replied');
    await proc.wait();
    assert.deepEqual(seen, ['requested', 'replied']);
    await using refusing = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: fakeProcess, handler: { sessionRequested: () => false } });
    await using conn = await connect('127.0.0.1', { port: refusing.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    let called = 0;
    await assert.rejects(conn.createProcess('exit 0', { onStartRequested: () => called++ }));
    assert.equal(called, 0, 'a refused channel open never started anything');
    await assert.rejects(env.conn.run('x', { onStartRequested: 1 as unknown as () => void }), /onStartRequested/);
  });

  test('timeout closes the channel and throws TimeoutError', async () => {
    await using env = await setup();
    await assert.rejects(env.conn.run('tty', { timeout: 50 }), (e: unknown) => (e as Error).name === 'TimeoutError');
    assert.equal((await env.conn.run('again')).stdout, 'ran again');
  });

  test('64 concurrent channels on one connection, each with its own output', async () => {
    await using env = await setup();
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => env.conn.run('cat', { input: `channel ${i} `.repeat(1000) })));
    results.forEach((r, i) => assert.equal(r.stdout, `channel ${i} `.repeat(1000)));
  });

  test('API misuse is a TypeError/RangeError naming the argument', async () => {
    await using env = await setup();
    await assert.rejects(env.conn.run(42 as unknown as string), /command/);
    await assert.rejects(env.conn.run('x', { termType: 'xterm', termSize: [1] as unknown as [number, number] }), RangeError);
    await assert.rejects(env.conn.run('x', { timeout: -1 }), /timeout/);
    await assert.rejects(connect('127.0.0.1', { port: 70000 }), /port/);
    await assert.rejects(connect('', {}), /host/);
    await assert.rejects(connect('127.0.0.1', { kexAlgs: ['nope'] }), /kexAlgs/);
    await assert.rejects(listen({ serverHostKeys: [] }), /serverHostKeys/);
  });
});
