/**
 * OpenSSH `ssh` against the fleetssh server: session behaviour. A pty from
 * `ssh -tt` (terminal type, size and modes reach our processFactory; a real
 * terminal is made with util-linux `script`), env from SetEnv/SendEnv, exit
 * status and exit signal as ssh reports them, stderr kept apart from stdout,
 * a binary stdin -> stdout round trip, and 8 MiB each way checked by SHA-256
 * while re-keying every MiB (started by ssh with RekeyLimit, and by our server
 * with rekeyBytes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { findBinary, keygen, makeTempDir, requireBinary, runProcess, runSsh, sshArgs, type KeyFiles, type SshTarget } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh', 'openssh-client') ?? requireBinary('ssh-keygen', 'openssh-client');
const MiB = 1 << 20;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** `n` deterministic bytes: AES-128-CTR keystream under a fixed key (same on both sides). */
function* deterministicChunks(n: number): Generator<Buffer> {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x42), Buffer.alloc(16, 0));
  for (let left = n; left > 0; left -= 64 * 1024) yield c.update(Buffer.alloc(Math.min(left, 64 * 1024)));
}

async function writeAll(w: Writable, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (!w.write(chunk)) await new Promise<void>((r) => w.once('drain', r));
  }
}

/** The commands our test server understands. */
async function sessionProcess(p: SSHServerProcess): Promise<void> {
  const cmd = p.command ?? '';
  if (cmd === 'describe') {
    p.stdout.write(JSON.stringify({ termType: p.termType, termSize: p.termSize, modes: p.termModes, env: p.env }));
    p.exit(0);
  } else if (cmd.startsWith('exit ')) {
    p.stdout.write('to stdout\n');
    p.stderr.write('to stderr\n');
    p.exit(Number(cmd.slice(5)));
  } else if (cmd === 'signal') {
    p.stdout.write('before the signal\n');
    p.exitWithSignal('TERM', false, 'terminated by the test');
  } else if (cmd === 'cat') {
    p.stdin.pipe(p.stdout, { end: false });
    p.stdin.on('end', () => p.exit(0));
  } else if (cmd === 'sha256') {
    const h = createHash('sha256');
    let n = 0;
    for await (const chunk of p.stdin) {
      h.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    p.stdout.write(`${n} ${h.digest('hex')}\n`);
    p.exit(0);
  } else if (cmd.startsWith('produce ')) {
    await writeAll(p.stdout, deterministicChunks(Number(cmd.slice(8))));
    p.exit(0);
  } else {
    p.stderr.write(`unknown command ${cmd}\n`);
    p.exit(127);
  }
}

describe('OpenSSH ssh -> fleetssh server: sessions', { skip, timeout: 150_000 }, () => {
  const hostKey = generatePrivateKey('ssh-ed25519');
  let clientKey: KeyFiles;
  const servers: SSHServer[] = [];
  let main: { server: SSHServer; knownHostsFile: string };
  let rekeying: { server: SSHServer; knownHostsFile: string };

  async function start(extra: Partial<ListenOptions> = {}): Promise<{ server: SSHServer; knownHostsFile: string }> {
    const server = await within(10_000, 'listen', listen({
      serverHostKeys: [hostKey],
      authorizedClientKeys: [importPublicKey(clientKey.publicLine)],
      processFactory: sessionProcess,
      encoding: null,
      ...extra,
    }));
    servers.push(server);
    const knownHostsFile = join(makeTempDir('fleetssh-server-kh-'), 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
    return { server, knownHostsFile };
  }

  before(async () => {
    clientKey = await within(30_000, 'ssh-keygen', keygen('ed25519'));
    main = await start();
    rekeying = await start({ rekeyBytes: MiB });
  });
  after(async () => {
    await within(10_000, 'server close', Promise.all(servers.map((s) => s.close())));
  });

  const target = (s = main, over: Partial<SshTarget> = {}): SshTarget => ({
    port: s.server.port,
    identityFile: clientKey.privatePath,
    knownHostsFile: s.knownHostsFile,
    ...over,
  });

  test('ssh -tt without a local terminal: pty-req carries TERM, a 0x0 size; env from SetEnv and SendEnv', async () => {
    const r = await runSsh(['-tt', 'describe'], {
      target: target(main, { options: { SetEnv: 'FLEET_SET=one TWO=2', SendEnv: 'FLEET_SENT_*' } }),
      env: { ...process.env, TERM: 'xterm-fleet', FLEET_SENT_A: 'sent a', FLEET_NOT_SENT: 'no' },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout.toString()) as { termType: string; termSize: number[]; env: Record<string, string> };
    assert.equal(d.termType, 'xterm-fleet');
    assert.deepEqual(d.termSize, [0, 0, 0, 0]);
    assert.deepEqual(d.env, { FLEET_SENT_A: 'sent a', FLEET_SET: 'one', TWO: '2' });
  });

  test('ssh -tt inside a real terminal (script): size and terminal modes reach processFactory', { skip: requireBinary('script', 'bsdutils') }, async () => {
    const cmd = ['ssh', ...sshArgs(target()), '-tt', 'describe'].map((a) => `'${a}'`).join(' ');
    const r = await runProcess(findBinary('script')!, ['-q', '-e', '-c', `stty cols 123 rows 45 && exec ${cmd}`, '/dev/null'], {
      env: { ...process.env, TERM: 'vt220' },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    const json = /\{.*\}/s.exec(r.stdout.toString())?.[0];
    assert.ok(json, r.stdout.toString());
    const d = JSON.parse(json) as { termType: string; termSize: number[]; modes: Record<string, number> };
    assert.equal(d.termType, 'vt220');
    assert.deepEqual(d.termSize.slice(0, 2), [123, 45]);
    // RFC 4254 §8 opcode 1 is VINTR; a fresh terminal's interrupt key is ^C (3).
    assert.equal(d.modes['1'], 3);
    assert.ok(Object.keys(d.modes).length > 20, 'ssh sent its terminal modes');
  });

  for (const status of [0, 1, 42]) {
    test(`exit status ${status} propagates; stderr stays apart from stdout`, async () => {
      const r = await runSsh([`exit ${status}`], { target: target(), timeoutMs: 20_000 });
      assert.equal(r.code, status, r.stderr);
      assert.equal(r.stdout.toString(), 'to stdout\n');
      assert.equal(r.stderr, 'to stderr\n');
    });
  }

  test('exit-signal: OpenSSH 9.2 ssh exits 255 (it keeps no exit status) after all output', async () => {
    // Verified behaviour: ssh's client loop does not act on "exit-signal", so with
    // no exit-status its own exit code is 255 and it prints nothing at INFO level.
    const r = await runSsh(['signal'], { target: target(main, { logLevel: 'DEBUG1' }), timeoutMs: 20_000 });
    assert.equal(r.code, 255, r.stderr);
    assert.equal(r.stdout.toString(), 'before the signal\n');
    assert.match(r.stderr, /exit-signal/);
    assert.doesNotMatch(r.stderr, /exit-status/);
  });

  test('binary stdin -> stdout round trip of 4 MiB (cat)', async () => {
    const input = randomBytes(4 * MiB);
    const r = await runSsh(['cat'], { target: target(), input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, input.length);
    assert.ok(r.stdout.equals(input), 'the bytes came back unchanged');
  });

  const newkeys = (stderr: string): number => stderr.match(/SSH2_MSG_NEWKEYS received/g)?.length ?? 0;

  test('8 MiB upload with RekeyLimit=1M, hashed by the server', async () => {
    const input = randomBytes(8 * MiB);
    const r = await runSsh(['sha256'], { target: target(main, { logLevel: 'DEBUG1', options: { RekeyLimit: '1M' } }), input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.toString(), `${input.length} ${createHash('sha256').update(input).digest('hex')}\n`);
    assert.ok(newkeys(r.stderr) >= 5, `ssh re-keyed (${newkeys(r.stderr)} key exchanges)`);
  });

  test('8 MiB download with RekeyLimit=1M, checked by hash', async () => {
    const n = 8 * MiB;
    const r = await runSsh([`produce ${n}`], { target: target(main, { logLevel: 'DEBUG1', options: { RekeyLimit: '1M' } }), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const want = createHash('sha256');
    for (const c of deterministicChunks(n)) want.update(c);
    assert.equal(r.stdout.length, n);
    assert.equal(createHash('sha256').update(r.stdout).digest('hex'), want.digest('hex'));
    assert.ok(newkeys(r.stderr) >= 5, `ssh re-keyed (${newkeys(r.stderr)} key exchanges)`);
  });

  test('server-initiated re-keying (rekeyBytes 1 MiB): 8 MiB each way intact', async () => {
    const input = randomBytes(8 * MiB);
    const up = await runSsh(['sha256'], { target: target(rekeying, { logLevel: 'DEBUG1' }), input, timeoutMs: 60_000 });
    assert.equal(up.code, 0, up.stderr.slice(-2000));
    assert.equal(up.stdout.toString(), `${input.length} ${createHash('sha256').update(input).digest('hex')}\n`);
    assert.ok(newkeys(up.stderr) >= 5, `the server re-keyed (${newkeys(up.stderr)} key exchanges)`);
    const down = await runSsh(['cat'], { target: target(rekeying, { logLevel: 'DEBUG1' }), input, timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr.slice(-2000));
    assert.ok(down.stdout.equals(input), 'cat through a re-keying server returned the same bytes');
    // ssh alone would not re-key within 16 MiB (its default limit is per cipher, in GiB),
    // so these key exchanges were started by our server.
    assert.ok(newkeys(down.stderr) >= 5, `the server re-keyed (${newkeys(down.stderr)} key exchanges)`);
  });

  test('eight ssh sessions at once on one server', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => runSsh([`exit ${i + 3}`], { target: target(), timeoutMs: 30_000 })),
    );
    assert.deepEqual(runs.map((r) => r.code), [3, 4, 5, 6, 7, 8, 9, 10]);
    for (const r of runs) assert.equal(r.stdout.toString(), 'to stdout\n');
  });
});
