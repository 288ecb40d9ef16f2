/**
 * authorized_keys options that limit forwarding (sshd(8) AUTHORIZED_KEYS FILE
 * FORMAT): no-port-forwarding, permitopen="host:port", permitlisten="[host:]port",
 * enforced by the fleetssh server for the entry the client's key matched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelOpenError } from '../../src/protocol/errors.js';
import { startHashServer, uploadThrough } from './forward-helpers.js';

test('permitopen / permitlisten / no-port-forwarding from authorized_keys', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-fwd-ak-'));
  const hash = await startHashServer();
  const limited = generatePrivateKey('ssh-ed25519');
  const denied = generatePrivateKey('ssh-ed25519');
  const pub = (k: typeof limited): string => k.exportPublicKey('openssh').trim();
  const ak = join(dir, 'authorized_keys');
  writeFileSync(ak, [
    `permitopen="127.0.0.1:${hash.port}",permitlisten="localhost:*" ${pub(limited)}`,
    `no-port-forwarding ${pub(denied)}`,
    '',
  ].join('\n'));
  const server = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: ak });
  const opts = { port: server.port, username: 'u', knownHosts: null };
  try {
    const a = await connect('127.0.0.1', { ...opts, clientKeys: [limited] });
    const up = await uploadThrough(await a.openConnection('127.0.0.1', hash.port), 1 << 20);
    assert.equal(up.echoed, up.sent, 'the permitted destination works');
    await assert.rejects(a.openConnection('127.0.0.1', hash.port + 1 === 65536 ? 1 : hash.port + 1), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 1);
    await assert.rejects(a.openConnection('localhost', hash.port), ChannelOpenError, 'permitopen compares the host name as given');
    const l = await a.forwardRemotePort('localhost', 0, '127.0.0.1', hash.port);
    assert.ok(l.port > 0, 'permitlisten localhost:* allows any port on localhost');
    await assert.rejects(a.forwardRemotePort('127.0.0.1', 0, '127.0.0.1', hash.port), /refused/);
    await a.close();

    const b = await connect('127.0.0.1', { ...opts, clientKeys: [denied] });
    await assert.rejects(b.openConnection('127.0.0.1', hash.port), ChannelOpenError);
    await assert.rejects(b.openUnixConnection(join(dir, 'x.sock')), ChannelOpenError);
    await assert.rejects(b.forwardRemotePort('localhost', 0, '127.0.0.1', hash.port), /refused/);
    await b.close();
  } finally {
    await server.close();
    await hash.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
