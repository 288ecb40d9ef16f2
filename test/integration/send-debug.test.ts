/**
 * sendDebug (AsyncSSH's send_debug) on client and server connections, both
 * fleetssh: each side's SSH_MSG_DEBUG reaches the other's 'debug' event, in
 * order with the session that follows; bad arguments are refused up front.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { encodeDebug } from '../../src/protocol/transport.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';

const hostKey = generatePrivateKey('ssh-ed25519');

describe('sendDebug', { timeout: 30_000 }, () => {
  test('RFC 4253 §11.3 layout: byte 4, always_display, message, language tag', () => {
    assert.equal(Buffer.from(encodeDebug('hi', 'en', true)).toString('hex'), '04' + '01' + '00000002' + '6869' + '00000002' + '656e');
    assert.equal(Buffer.from(encodeDebug('', '', false)).toString('hex'), '04' + '00' + '00000000' + '00000000');
  });

  test('client -> server and server -> client reach the peer\'s debug event', async () => {
    const serverSaw: string[] = [];
    const process = (p: SSHServerProcess): void => {
      // The client's debug was sent before the exec request: it has arrived by now.
      p.connection!.sendDebug('hello from the server', 'en', true);
      p.stdout.write(JSON.stringify(serverSaw));
      p.exit(0);
    };
    await using server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: process });
    server.on('connection', (c: SSHServerConnection) => {
      c.on('debug', (m: string) => serverSaw.push(m));
      // Before the key exchange: held back until it is done (strict kex forbids it during the first one).
      c.sendDebug('sent before the key exchange');
    });
    const clientSaw: string[] = [];
    const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    conn.on('debug', (m: string) => clientSaw.push(m));
    try {
      conn.sendDebug('hello from the client');
      conn.sendDebug('ünïcode ✓', 'de');
      const r = await conn.run('x');
      assert.deepEqual(JSON.parse(String(r.stdout)), ['peer debug: hello from the client', 'peer debug: ünïcode ✓']);
      // Sent before the session's data: seen by the time the output is.
      assert.deepEqual(clientSaw, ['peer debug: hello from the server']);
      assert.throws(() => conn.sendDebug(3 as never), TypeError);
      assert.throws(() => conn.sendDebug('x', 'en', 'yes' as never), TypeError);
      assert.throws(() => conn.sendDebug('x'.repeat(40_000)), RangeError);
    } finally {
      await conn.close();
    }
  });
});
