/**
 * authorized_keys options enforced by our server (sshd(8) AUTHORIZED_KEYS FILE
 * FORMAT): one file with an entry per client key, each with other options;
 * from= and expiry-time decide whether the key is accepted, command= replaces
 * the command (original in SSH_ORIGINAL_COMMAND), environment= sets variables,
 * no-pty/restrict refuse a terminal, and handlers read the matched entry
 * through conn.getKeyOption / conn.checkKeyPermission.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServer, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { importAuthorizedKeys, readAuthorizedKeys } from '../../src/index.js';
import { makeTempDir } from '../helpers/ssh-client.js';

const OPTIONS: Record<string, string> = {
  plain: '',
  fromOk: 'from="10.1.2.3,127.0.0.1"',
  fromCidrOk: 'from="127.0.0.0/8"',
  fromBad: 'from="10.0.0.0/8"',
  fromNegated: 'from="!127.0.0.1,*"',
  expired: 'expiry-time="20000101"',
  notExpired: 'expiry-time="29991231Z"',
  forced: 'command="echo forced"',
  env: 'environment="FLEET_KEY=from-key",environment="LANG=C"',
  noPty: 'no-pty',
  restrict: 'restrict',
  restrictPty: 'restrict,pty,command="do \\"quoted\\" thing"',
};

describe('authorized_keys options enforced by the server', () => {
  let server: SSHServer;
  const keys: Record<string, SSHKey> = {};
  let last: { proc: SSHServerProcess; conn: SSHServerConnection } | null = null;
  let connSeen: SSHServerConnection | null = null;

  before(async () => {
    const dir = makeTempDir('fleetssh-authkeys-');
    const lines: string[] = ['# comment line', 'bad-option="x" ssh-ed25519 AAAA broken'];
    // The same key twice: the first entry's from= does not match us, so the second applies (as sshd).
    keys.twice = generatePrivateKey('ssh-ed25519');
    lines.push(`from="192.0.2.1",command="never" ${keys.twice.exportPublicKey()}`);
    lines.push(`command="second entry" ${keys.twice.exportPublicKey()}`);
    for (const [name, opts] of Object.entries(OPTIONS)) {
      keys[name] = generatePrivateKey('ssh-ed25519', { comment: name });
      lines.push(`${opts ? opts + ' ' : ''}${keys[name]!.exportPublicKey()}`);
    }
    const path = join(dir, 'authorized_keys');
    writeFileSync(path, lines.join('\n') + '\n');
    server = await listen({
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      authorizedClientKeys: path,
      handler: {
        sessionRequested: (conn) => {
          connSeen = conn;
          return true;
        },
      },
      processFactory: (proc) => {
        last = { proc, conn: connSeen! };
        proc.stdout.write(`${proc.command}|${proc.termType ?? 'no-tty'}\n`);
        proc.exit(0);
      },
    });
  });

  after(async () => {
    await server?.close();
  });

  const login = (name: string) =>
    connect('127.0.0.1', { port: server.port, username: 'u', clientKeys: [keys[name]!], knownHosts: null, config: null, agentPath: null });

  async function runAs(name: string, command: string, termType?: string): Promise<string> {
    const conn = await login(name);
    try {
      return (await conn.run(command, termType ? { termType } : {})).stdout as string;
    } finally {
      await conn.close();
    }
  }

  for (const name of ['plain', 'fromOk', 'fromCidrOk', 'notExpired']) {
    test(`${name} (${OPTIONS[name] || 'no options'}): accepted`, async () => {
      assert.equal(await runAs(name, 'hello'), 'hello|no-tty\n');
    });
  }

  for (const name of ['fromBad', 'fromNegated', 'expired']) {
    test(`${name} (${OPTIONS[name]}): refused`, async () => {
      await assert.rejects(login(name), { code: 'ERR_SSH_PERMISSION_DENIED' });
    });
  }

  test('command= replaces the requested command; the original is in SSH_ORIGINAL_COMMAND', async () => {
    assert.equal(await runAs('forced', 'rm -rf /'), 'echo forced|no-tty\n');
    assert.equal(last!.proc.env.SSH_ORIGINAL_COMMAND, 'rm -rf /');
    assert.equal(last!.proc.forcedCommand, true);
    assert.equal(last!.conn.getKeyOption('command'), 'echo forced');
  });

  test('a client cannot smuggle SSH_ORIGINAL_COMMAND past a forced command', async () => {
    const conn = await login('forced');
    try {
      await conn.run('real', { env: { SSH_ORIGINAL_COMMAND: 'fake' } });
      assert.equal(last!.proc.env.SSH_ORIGINAL_COMMAND, 'real');
    } finally {
      await conn.close();
    }
  });

  test('the first entry that authorizes the client is the one applied', async () => {
    assert.equal(await runAs('twice', 'x'), 'second entry|no-tty\n');
  });

  test('environment= sets variables over what the client sent', async () => {
    const conn = await login('env');
    try {
      await conn.run('x', { env: { FLEET_KEY: 'from-client', OTHER: 'kept' } });
      assert.equal(last!.proc.env.FLEET_KEY, 'from-key');
      assert.equal(last!.proc.env.LANG, 'C');
      assert.equal(last!.proc.env.OTHER, 'kept');
      assert.deepEqual(last!.conn.getKeyOption('environment'), { FLEET_KEY: 'from-key', LANG: 'C' });
    } finally {
      await conn.close();
    }
  });

  test('a terminal is granted without options, refused with no-pty and restrict, granted with restrict,pty', async () => {
    // A pty session has the line editor by default (as AsyncSSH), which writes "\n" as "\r\n" like a terminal.
    assert.equal(await runAs('plain', 'x', 'xterm'), 'x|xterm\r\n');
    await assert.rejects(runAs('noPty', 'x', 'xterm'), { code: 'ERR_SSH_CHANNEL_REQUEST' });
    await assert.rejects(runAs('restrict', 'x', 'xterm'), { code: 'ERR_SSH_CHANNEL_REQUEST' });
    assert.equal(await runAs('restrictPty', 'x', 'xterm'), 'do "quoted" thing|xterm\r\n');
  });

  test('handlers see the matched entry through getKeyOption / checkKeyPermission', async () => {
    await runAs('restrict', 'x');
    const c = last!.conn;
    for (const p of ['pty', 'port-forwarding', 'agent-forwarding', 'x11-forwarding', 'user-rc'] as const) assert.equal(c.checkKeyPermission(p), false, p);
    assert.equal(c.getKeyOption('restrict'), true);
    assert.equal(c.getKeyOption('command', 'none'), 'none');
    await runAs('plain', 'x');
    assert.equal(last!.conn.checkKeyPermission('port-forwarding'), true);
    assert.equal(last!.conn.getKeyOption('restrict'), false);
    await runAs('fromOk', 'x');
    assert.equal(last!.conn.getKeyOption('from'), '10.1.2.3,127.0.0.1');
    assert.throws(() => last!.conn.checkKeyPermission('bogus' as 'pty'), TypeError);
  });

  test('readAuthorizedKeys / importAuthorizedKeys are exported and report bad lines', async () => {
    const parsed = importAuthorizedKeys(`no-pty ${keys.plain!.exportPublicKey()}\nunknown-opt ssh-ed25519 AAAA\n`);
    assert.equal(parsed.entries.length, 1);
    assert.equal(parsed.entries[0]!.options.permissions.pty, false);
    assert.equal(parsed.errors.length, 1);
    await assert.rejects(readAuthorizedKeys('/nonexistent/authorized_keys'), { code: 'ENOENT' });
  });
});
