/**
 * Sessions of the fleetssh client on a real OpenSSH 9.2 sshd: exec with stdin
 * to stdout (binary-safe through `cat`), stderr, exit statuses, exit signals,
 * environment through AcceptEnv (and a variable sshd refuses), a pty with its
 * type and size, a window change, many concurrent channels on one connection,
 * and `check: true` turning a failure into ProcessError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createCipheriv } from 'node:crypto';
import { IncompleteReadError, ProcessError, TimeoutError } from '../../src/protocol/errors.js';
import { sshdSkipReason } from '../helpers/openssh.js';
import { sshdConnectionFixture, within } from '../helpers/interop-matrix.js';

const skip = sshdSkipReason();

/** Deterministic pseudo-random bytes: AES-128-CTR keystream of a fixed key (every byte value occurs). */
function pseudoRandom(length: number, seed = 1): Buffer {
  const key = Buffer.alloc(16, seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

describe('client -> sshd sessions', { skip, timeout: 240_000 }, () => {
  const fx = sshdConnectionFixture();

  test('exec: 1 MiB of binary stdin comes back unchanged through cat', async () => {
    const data = pseudoRandom(1 << 20);
    const r = await within(30_000, fx.conn.run('cat', { input: data, encoding: null }), 'cat');
    assert.equal(r.exitStatus, 0);
    assert.ok(Buffer.isBuffer(r.stdout));
    assert.equal(r.stdout.length, data.length);
    assert.ok(r.stdout.equals(data), 'stdout equals stdin byte for byte');
    assert.equal(r.stderr.length, 0);
  });

  test('exec: every byte value 0..255 and a lone CR survive, and sshd hashes what we sent', async () => {
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\0\r\n')]);
    const r = await within(15_000, fx.conn.run('sha256sum', { input: data }), 'sha256sum');
    assert.equal(r.exitStatus, 0);
    assert.equal(String(r.stdout).split(' ')[0], createHash('sha256').update(data).digest('hex'));
  });

  test('exec: stdout and stderr arrive on their own streams', async () => {
    const r = await within(15_000, fx.conn.run('echo to-out; echo to-err >&2; echo more-out; echo more-err 1>&2'), 'stderr');
    assert.equal(r.stdout, 'to-out\nmore-out\n');
    assert.equal(r.stderr, 'to-err\nmore-err\n');
    assert.equal(r.exitStatus, 0);
  });

  for (const status of [0, 1, 42, 255]) {
    test(`exec: exit status ${status}`, async () => {
      const r = await within(15_000, fx.conn.run(`exit ${status}`), `exit ${status}`);
      assert.equal(r.exitStatus, status);
      assert.equal(r.exitSignal, null);
      assert.equal(r.returncode, status);
    });
  }

  for (const [sig, num] of [['TERM', 15], ['KILL', 9], ['HUP', 1]] as const) {
    test(`exec: kill -${sig} $$ gives exit signal ${sig}`, async () => {
      const r = await within(15_000, fx.conn.run(`echo before; kill -${sig} $$; echo after`), `kill ${sig}`);
      assert.equal(r.stdout, 'before\n');
      assert.equal(r.exitStatus, null);
      assert.ok(r.exitSignal, 'an exit-signal arrived');
      assert.equal(r.exitSignal.signal, sig);
      assert.equal(r.returncode, -num);
    });
  }

  test('env: FLEETSSH_* passes (AcceptEnv), other names are refused by sshd', async () => {
    const env = { FLEETSSH_ONE: 'one value', FLEETSSH_TWO: 'a=b;c', OTHER_REFUSED: 'nope' };
    const r = await within(
      15_000,
      fx.conn.run('printf "%s|%s|%s" "$FLEETSSH_ONE" "$FLEETSSH_TWO" "${OTHER_REFUSED-unset}"', { env }),
      'env',
    );
    assert.equal(r.stdout, 'one value|a=b;c|unset');
    assert.equal(r.exitStatus, 0);
    // AsyncSSH's SSHCompletedProcess.env/.subsystem: what the process was started with.
    assert.deepEqual(r.env, env);
    assert.equal(r.subsystem, null);
  });

  test('ProcessError and CompletedProcess carry env and subsystem; a subsystem process reports its name', async () => {
    const env = { FLEETSSH_ONE: 'x' };
    const err = await within(15_000, fx.conn.run('exit 3', { env, check: true }).then(() => null, (e: unknown) => e), 'check');
    assert.ok(err instanceof ProcessError, `got ${String(err)}`);
    assert.deepEqual([err.exitStatus, err.env, err.subsystem], [3, env, null]);
    const plain = await within(15_000, fx.conn.run('true'), 'true');
    assert.deepEqual([plain.env, plain.subsystem], [null, null]);
    // sshd's sftp-server answers; we only need the process to start and end.
    const proc = await within(15_000, fx.conn.createProcess({ subsystem: 'sftp', encoding: null }), 'sftp subsystem');
    assert.equal(proc.subsystem, 'sftp');
    proc.stdin.end();
    const done = await within(15_000, proc.wait(), 'sftp subsystem end');
    assert.deepEqual([done.subsystem, done.command, done.env], ['sftp', null, null]);
  });

  test('pty: termType is $TERM, termSize is what stty size prints, and a tty is attached', async () => {
    const r = await within(
      15_000,
      fx.conn.run('echo "term=$TERM"; stty size; test -t 0 && echo stdin-is-tty', { termType: 'xterm-256color', termSize: [123, 37] }),
      'pty',
    );
    assert.equal(r.exitStatus, 0);
    // A pty turns "\n" into "\r\n" (onlcr) and merges stderr into stdout.
    assert.equal(String(r.stdout).replace(/\r\n/g, '\n'), 'term=xterm-256color\n37 123\nstdin-is-tty\n');
  });

  test('pty: without a pty there is no tty', async () => {
    const r = await within(15_000, fx.conn.run('test -t 0 && echo tty || echo no-tty'), 'no pty');
    assert.equal(r.stdout, 'no-tty\n');
  });

  test('pty: a window change reaches the process (stty size after SIGWINCH)', async () => {
    const proc = await within(
      15_000,
      fx.conn.createProcess('stty size; trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.05; done', { termType: 'vt100', termSize: [80, 24] }),
      'createProcess',
    );
    try {
      assert.equal(await within(10_000, proc.readline(), 'first line'), '24 80');
      assert.equal(await within(10_000, proc.readline(), 'ready'), 'ready');
      proc.changeTerminalSize(132, 50);
      assert.equal(await within(10_000, proc.readline(), 'resized'), '50 132');
      const r = await within(10_000, proc.wait(), 'wait');
      assert.equal(r.exitStatus, 0);
    } finally {
      if (!proc.channel.closed) await within(10_000, proc.close(), 'close');
    }
  });

  test('concurrency: 20 parallel runs on one connection each get their own output', async () => {
    const N = 20;
    const results = await within(
      60_000,
      Promise.all(Array.from({ length: N }, (_, i) => fx.conn.run(`head -c ${1000 * (i + 1)} /dev/zero | tr '\\0' x | wc -c; echo job${i} >&2; exit ${i}`))),
      '20 parallel runs',
    );
    results.forEach((r, i) => {
      assert.equal(String(r.stdout).trim(), String(1000 * (i + 1)), `job ${i} stdout`);
      assert.equal(r.stderr, `job${i}\n`, `job ${i} stderr`);
      assert.equal(r.exitStatus, i, `job ${i} exit status`);
    });
  });

  test('concurrency: 20 parallel cat channels stream their own data', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => pseudoRandom(64 * 1024 + i, i + 2));
    const results = await within(60_000, Promise.all(inputs.map((input) => fx.conn.run('cat', { input, encoding: null }))), '20 cats');
    results.forEach((r, i) => assert.ok(Buffer.from(r.stdout).equals(inputs[i]!), `channel ${i} echoed its own data`));
  });

  test('check: true throws ProcessError carrying status and output', async () => {
    await assert.rejects(within(15_000, fx.conn.run('echo partial; echo oops >&2; exit 3', { check: true }), 'check'), (err: unknown) => {
      assert.ok(err instanceof ProcessError, `got ${String(err)}`);
      assert.equal(err.code, 'ERR_SSH_PROCESS');
      assert.equal(err.exitStatus, 3);
      assert.equal(err.exitSignal, null);
      assert.equal(err.stdout, 'partial\n');
      assert.equal(err.stderr, 'oops\n');
      return true;
    });
  });

  test('check: true throws ProcessError for a signal, and passes on status 0', async () => {
    await assert.rejects(within(15_000, fx.conn.run('kill -TERM $$', { check: true }), 'check signal'), (err: unknown) => {
      assert.ok(err instanceof ProcessError, `got ${String(err)}`);
      assert.equal(err.exitSignal, 'TERM');
      return true;
    });
    const ok = await within(15_000, fx.conn.run('true', { check: true }), 'check ok');
    assert.equal(ok.exitStatus, 0);
  });

  test('timeout: TimeoutError carries the command and the output written before it (AsyncSSH TimeoutError)', async () => {
    const cmd = "printf 'partial-out'; printf 'partial-err' >&2; sleep 20";
    const err = await fx.conn.run(cmd, { timeout: 1500 }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.code, 'ERR_SSH_TIMEOUT');
    assert.equal(err.command, cmd);
    assert.equal(err.stdout, 'partial-out');
    assert.equal(err.stderr, 'partial-err');
  });

  test('readUntil / readExactly: expect-style reads of prompts; what follows stays for the next read and for wait()', async () => {
    const proc = await fx.conn.createProcess("printf 'login: '; read u; printf 'hi %s\\nHDR0123rest-of-it' \"$u\"; printf 'e1>' >&2");
    assert.equal(await proc.readUntil('login: '), 'login: ');
    proc.stdin.write('bob\n');
    assert.equal(await proc.readUntil(/hi \w+\n/), 'hi bob\n');
    assert.equal(await proc.readExactly(3), 'HDR');
    assert.equal(await proc.readUntil(['XX', '23', '0']), '0');
    assert.equal(await proc.readUntil('>', 'stderr'), 'e1>');
    proc.stdin.end();
    const r = await proc.wait();
    assert.equal(r.stdout, '123rest-of-it', 'wait() returns what the reads left');
    const short = await fx.conn.createProcess("printf 'abc'", { encoding: null });
    const err = await short.readExactly(10).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(Buffer.from(err.partial).toString(), 'abc');
    assert.equal(err.expected, 10);
    await short.wait();
  });

  test('the connection is still healthy after all of the above', async () => {
    const r = await within(15_000, fx.conn.run('echo still-here'), 'final run');
    assert.equal(r.stdout, 'still-here\n');
    assert.equal(fx.conn.closed, false);
  });
});
