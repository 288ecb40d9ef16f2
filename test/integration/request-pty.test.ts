/**
 * AsyncSSH's request_pty ('force', 'auto', true, false) on client sessions,
 * and the connection-wide `command`, `subsystem` and `requestPty` of
 * connect() used by createProcess/run when they are not given their own;
 * client and server both fleetssh, the server reporting what it was asked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { wantsPty } from '../../src/actors/client-session.js';
import type { ConnectOptions } from '../../src/actors/client-options.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';

const hostKey = generatePrivateKey('ssh-ed25519');

/** Reports what the session asked for: command, subsystem, and the pty (or null). */
function report(p: SSHServerProcess): void {
  p.stdout.write(JSON.stringify({ command: p.command, subsystem: p.subsystem, termType: p.termType, termSize: p.termSize }));
  p.exit(0);
}

async function setup(options: ConnectOptions = {}) {
  const server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: report });
  const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, ...options });
  return {
    conn,
    async seen(...args: Parameters<typeof conn.run>): Promise<{ command: string | null; subsystem: string | null; termType: string | null }> {
      return JSON.parse(String((await conn.run(...args)).stdout));
    },
    [Symbol.asyncDispose]: async () => (await conn.close(), await server.close()),
  };
}

describe('requestPty', { timeout: 30_000 }, () => {
  test('the decision table of AsyncSSH (request_pty x term_type x command/subsystem)', () => {
    assert.equal(wantsPty(undefined, 'xterm', 'ls', undefined), true);
    assert.equal(wantsPty(true, undefined, 'ls', undefined), false);
    assert.equal(wantsPty(true, '', null, undefined), false);
    assert.equal(wantsPty(false, 'xterm', null, undefined), false);
    assert.equal(wantsPty('force', undefined, 'ls', undefined), true);
    assert.equal(wantsPty('force', undefined, null, 'sftp'), true);
    assert.equal(wantsPty('auto', 'xterm', null, undefined), true);
    assert.equal(wantsPty('auto', 'xterm', null, null), true);
    assert.equal(wantsPty('auto', 'xterm', 'ls', undefined), false);
    assert.equal(wantsPty('auto', 'xterm', null, 'sub'), false);
    assert.equal(wantsPty('auto', undefined, null, undefined), false);
  });

  test("'force' asks for a pty without a termType (type \"\"); false drops a termType; 'auto' only for a shell", async () => {
    await using t = await setup();
    assert.deepEqual(await t.seen('x', { requestPty: 'force' }), { command: 'x', subsystem: null, termType: '', termSize: [80, 24, 0, 0] });
    assert.equal((await t.seen('x', { requestPty: false, termType: 'xterm' })).termType, null);
    assert.equal((await t.seen('x', { requestPty: 'auto', termType: 'xterm' })).termType, null);
    assert.equal((await t.seen(null, { requestPty: 'auto', termType: 'xterm' })).termType, 'xterm');
    assert.equal((await t.seen('x', { requestPty: true, termType: 'vt100' })).termType, 'vt100');
    // createSession takes it too.
    const chan = await t.conn.createSession('x', { requestPty: 'force' });
    chan.stdin.end();
    let out = '';
    for await (const c of chan.stdout) out += String(c);
    assert.equal(JSON.parse(out).termType, '');
    await assert.rejects(t.conn.run('x', { requestPty: 'yes' as never }), TypeError);
  });

  test('connect() command, subsystem and requestPty are the defaults of createProcess/run; a call that gives its own wins', async () => {
    {
      await using t = await setup({ command: 'default-cmd', requestPty: 'force' });
      assert.deepEqual(await t.seen(), { command: 'default-cmd', subsystem: null, termType: '', termSize: [80, 24, 0, 0] });
      assert.deepEqual(JSON.parse(String((await t.conn.run({ check: true })).stdout)), { command: 'default-cmd', subsystem: null, termType: '', termSize: [80, 24, 0, 0] });
      const own = await t.seen('mine', { requestPty: false });
      assert.deepEqual(own, { command: 'mine', subsystem: null, termType: null, termSize: null });
      // null: a shell, not the default command.
      assert.equal((await t.seen(null, { requestPty: false })).command, null);
      const proc = await t.conn.createProcess();
      proc.stdin.end();
      assert.equal(proc.command, 'default-cmd');
      assert.equal(JSON.parse(String((await proc.wait()).stdout)).command, 'default-cmd');
      // SFTP opens its own session and does not take these defaults (no pty over the SFTP stream).
    }
    {
      await using t = await setup({ subsystem: 'mysub', termType: 'xterm', requestPty: 'auto' });
      // The subsystem wins over a command, as in AsyncSSH; 'auto' then asks no pty.
      assert.deepEqual(await t.seen('cmd'), { command: null, subsystem: 'mysub', termType: null, termSize: null });
      assert.deepEqual(await t.seen('cmd', { subsystem: null }), { command: 'cmd', subsystem: null, termType: null, termSize: null });
      assert.equal((await t.seen(null, { subsystem: null })).termType, 'xterm');
    }
    await assert.rejects(connect('127.0.0.1', { port: 1, requestPty: 'sometimes' as never }), TypeError);
    await assert.rejects(connect('127.0.0.1', { port: 1, command: 3 as never }), TypeError);
  });
});
