/**
 * SSHServerConnection.openConnection / createConnection (AsyncSSH's server
 * create_connection / open_connection): a forwarded-tcpip channel opened by
 * our server toward our client, accepted by the client's remote listener
 * with the origin the server gave; refused without a matching listener.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHForwardChannel, ForwardChannelInfo } from '../../src/actors/forward-channel.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelOpenError } from '../../src/protocol/errors.js';

const hostKey = generatePrivateKey('ssh-ed25519');

async function readAll(s: SSHForwardChannel): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('server openConnection', { timeout: 30_000 }, () => {
  test('the client gets the channel on its remote listener, with the origin the server named; data flows both ways', async () => {
    await using server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' } });
    let sconn: SSHServerConnection | null = null;
    let early: Promise<unknown> | null = null;
    server.on('connection', (c: SSHServerConnection) => {
      sconn = c;
      early = c.openConnection('127.0.0.1', 1).then(
        () => 'opened',
        (e: unknown) => e,
      );
    });
    const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null });
    try {
      assert.ok((await early!) instanceof ChannelOpenError, 'refused before authentication, nothing sent');
      const got: { info: ForwardChannelInfo; text: Promise<string> }[] = [];
      const listener = await conn.startServer((stream, info) => {
        got.push({ info, text: readAll(stream) });
        stream.end('from the client\n');
      }, '127.0.0.1', 0);
      const chan = await sconn!.openConnection('127.0.0.1', listener.port, '192.0.2.7', 5555);
      chan.end('from the server\n');
      assert.equal(await readAll(chan), 'from the client\n');
      assert.equal(got.length, 1);
      assert.deepEqual(got[0]!.info, { channelType: 'forwarded-tcpip', destHost: '127.0.0.1', destPort: listener.port, origHost: '192.0.2.7', origPort: 5555 });
      assert.equal(await got[0]!.text, 'from the server\n');

      const [stream, made] = await sconn!.createConnection((s) => ({ wrapped: s.info.origPort }), '127.0.0.1', listener.port);
      assert.deepEqual(made, { wrapped: 0 });
      stream.end();
      assert.equal(await readAll(stream), 'from the client\n');

      // No listener on that port: the client refuses.
      await assert.rejects(sconn!.openConnection('127.0.0.1', listener.port === 65535 ? 65534 : listener.port + 1), ChannelOpenError);
      assert.throws(() => void sconn!.openConnection('127.0.0.1', 70000), RangeError);
      await assert.rejects(sconn!.createConnection(3 as never, '127.0.0.1', 1), TypeError);
    } finally {
      await conn.close();
    }
  });
});
