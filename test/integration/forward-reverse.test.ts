/**
 * Reverse direction: the SSH server dials out (connectReverse) to a client
 * that listens (listenReverse); then sessions and forwarding work as usual.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectReverse, listenReverse } from '../../src/actors/reverse.js';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { startHashServer, uploadThrough, within } from './forward-helpers.js';

test('connectReverse -> listenReverse: exec and a forwarded stream over the reversed connection', { timeout: 30_000 }, async () => {
  const hostKey = generatePrivateKey('ssh-ed25519');
  const got: SSHClientConnection[] = [];
  const listener = await listenReverse({
    username: 'u',
    password: 'pw',
    clientKeys: null,
    // The dialing server's key is checked as for any connection.
    knownHosts: (_host, _port, key) => Buffer.compare(key.publicBlob, hostKey.publicBlob) === 0,
    onConnection: (c) => got.push(c),
  });
  const hash = await startHashServer();
  try {
    const serverConn = await within(10_000, 'connectReverse', connectReverse('127.0.0.1', listener.port, {
      serverHostKeys: [hostKey],
      passwords: { u: 'pw' },
      processFactory: (proc) => {
        proc.stdout.write(`reverse ran ${proc.command}\n`);
        proc.exit(0);
      },
    }));
    assert.equal(serverConn.username, 'u');
    await within(5000, 'client side', (async () => {
      while (got.length === 0) await new Promise((r) => setTimeout(r, 10));
    })());
    const client = got[0]!;
    assert.equal((await client.run('hello')).stdout, 'reverse ran hello\n');
    const up = await uploadThrough(await client.openConnection('127.0.0.1', hash.port), 4 * 1024 * 1024);
    assert.equal(up.echoed, up.sent);
  } finally {
    await listener.close();
    await hash.close();
  }
  assert.equal(got[0]!.closed, true, 'closing the reverse listener closed its connections');
});

test('connectReverse to a port nobody listens on rejects; listenReverse validates its options', async () => {
  const l = await listenReverse({ clientKeys: null, knownHosts: null });
  const port = l.port;
  await l.close();
  await assert.rejects(connectReverse('127.0.0.1', port, { serverHostKeys: [generatePrivateKey('ssh-ed25519')] }), /ECONNREFUSED/);
  await assert.rejects(connectReverse('127.0.0.1', 0, { serverHostKeys: [] }), RangeError);
  await assert.rejects(listenReverse({ onConnection: 5 as unknown as () => void }), TypeError);
});
