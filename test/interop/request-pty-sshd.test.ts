/**
 * requestPty and the connection-wide command/requestPty against OpenSSH's
 * sshd: `tty` prints a device when sshd made a pty and "not a tty" when not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { sshdSkipReason } from '../helpers/openssh.js';
import { connectSshd, sshdConnectionFixture, within } from '../helpers/interop-matrix.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/ssh-client.js';

const skip = sshdSkipReason();

describe('requestPty against sshd', { skip, timeout: 60_000 }, () => {
  const fx = sshdConnectionFixture();

  const tty = async (c: SSHClientConnection, ...args: Parameters<SSHClientConnection['run']>): Promise<string> =>
    String((await within(15_000, c.run(...args), 'tty')).stdout).trim();

  test("'force' gets a pty without a termType; default and 'auto' with a command do not", async () => {
    assert.match(await tty(fx.conn, 'tty', { requestPty: 'force' }), /^\/dev\/pts\/\d+$/);
    assert.equal(await tty(fx.conn, 'tty'), 'not a tty');
    assert.equal(await tty(fx.conn, 'tty', { termType: 'xterm', requestPty: 'auto' }), 'not a tty');
    assert.equal(await tty(fx.conn, 'tty', { termType: 'xterm', requestPty: false }), 'not a tty');
    assert.match(await tty(fx.conn, 'tty; echo $TERM', { termType: 'vt100' }), /^\/dev\/pts\/\d+\s+vt100$/);
  });

  test("'auto' asks a pty for a shell", async () => {
    const proc = await within(15_000, fx.conn.createProcess(null, { termType: 'dumb', requestPty: 'auto' }), 'shell');
    proc.stdin.end('tty; exit\n');
    const r = await within(15_000, proc.wait(), 'shell exit');
    assert.match(String(r.stdout), /\/dev\/pts\/\d+/);
  });

  test('connect() command and requestPty: run() with no command runs it in a pty', async () => {
    const c = await connectSshd(fx.sshd, { command: 'tty', requestPty: 'force' });
    try {
      assert.match(await tty(c), /^\/dev\/pts\/\d+$/);
      assert.equal(await tty(c, 'tty', { requestPty: false }), 'not a tty');
    } finally {
      await within(10_000, c.close(), 'close');
    }
  });

  test('ssh_config RemoteCommand (tokens expanded) and RequestTTY force: the connection-wide command and requestPty', async () => {
    const cfg = join(makeTempDir('remotecmd-'), 'config');
    writeFileSync(cfg, "Host *\n  RemoteCommand printf '%%s|' %r; tty\n  RequestTTY force\n");
    const c = await connectSshd(fx.sshd, { config: cfg });
    try {
      assert.match(await tty(c), /^root\|\/dev\/pts\/\d+$/);
      // A command given to run() wins over RemoteCommand; requestPty still comes from RequestTTY.
      assert.match(await tty(c, 'tty'), /^\/dev\/pts\/\d+$/);
    } finally {
      await within(10_000, c.close(), 'close');
    }
    // Another file: connect() caches a config file for a few seconds (a fleet reads it once, not per host).
    const cfg2 = cfg + '-no';
    writeFileSync(cfg2, 'Host *\n  RemoteCommand tty\n  RequestTTY no\n');
    const d = await connectSshd(fx.sshd, { config: cfg2 });
    try {
      assert.equal(await tty(d), 'not a tty');
    } finally {
      await within(10_000, d.close(), 'close');
    }
  });
});
