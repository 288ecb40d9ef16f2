// Hostile bytes at the protocol core: whatever a peer sends, receive() never
// throws, and the connection either keeps waiting or ends with a typed
// DisconnectError (never an untyped failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SSHCore, type CoreEvent } from '../../src/protocol/core.js';
import { createTransportCrypto } from '../../src/crypto/transport-crypto.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { DisconnectError } from '../../src/protocol/errors.js';
import { PacketWriter } from '../../src/protocol/packet-codec.js';
import { createNullSealerOpener } from '../../src/protocol/null-cipher.js';
import { runHandshake } from '../../src/crypto/handshake.js';

const crypto = createTransportCrypto();
const hostKey = generatePrivateKey('ssh-ed25519').toSigningKeyRef();

function feed(role: 'client' | 'server', chunks: Uint8Array[]): CoreEvent[] {
  const core = role === 'server' ? new SSHCore({ role, crypto, hostKeys: [hostKey] }) : new SSHCore({ role, crypto, username: 'u' });
  core.start(0);
  const events: CoreEvent[] = [];
  for (const c of chunks) {
    core.receive(c); // must not throw
    events.push(...core.takeEvents());
    core.takeOutbound();
  }
  return events;
}

function checkClosed(events: CoreEvent[]): void {
  for (const e of events) {
    if (e.type !== 'closed') continue;
    const err = (e as Extract<CoreEvent, { type: 'closed' }>).error;
    assert.ok(err === null || err instanceof DisconnectError, `typed error, got ${String(err)}`);
    assert.equal(typeof err?.code, 'string');
  }
  assert.ok(events.filter((e) => e.type === 'closed').length <= 1, 'closed at most once');
}

const version = new TextEncoder().encode('SSH-2.0-fuzz\r\n');

test('random bytes after a valid version line: no throw, typed close', () => {
  fc.assert(
    fc.property(fc.constantFrom<'client' | 'server'>('client', 'server'), fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 6 }), (role, chunks) => {
      checkClosed(feed(role, [version, ...chunks]));
    }),
    { numRuns: 300 },
  );
});

test('well-framed packets with random payloads (any message number) before key exchange: no throw, typed close', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'client' | 'server'>('client', 'server'),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 5 }),
      (role, msgs) => {
        const w = new PacketWriter(createNullSealerOpener().sealer, crypto.random);
        const packets = msgs.map(([type, body]) => w.seal(Uint8Array.of(type, ...body)));
        checkClosed(feed(role, [version, ...packets]));
      },
    ),
    { numRuns: 300 },
  );
});

test('random version lines: no throw, typed close', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (line) => {
      checkClosed(feed('server', [new TextEncoder().encode(line + '\r\n')]));
    }),
    { numRuns: 200 },
  );
});


/** A client and a server core, connected and authenticated, driven synchronously. */
function establishedPair() {
  const client = new SSHCore({ role: 'client', crypto, username: 'u', password: 'pw', kexAlgs: ['curve25519-sha256'] });
  const server = new SSHCore({ role: 'server', crypto, hostKeys: [hostKey], kexAlgs: ['curve25519-sha256'] });
  const serverEvents: CoreEvent[] = [];
  const answer = (core: SSHCore, e: CoreEvent, sink?: CoreEvent[]) => {
    sink?.push(e);
    if (e.type === 'work') {
      const w = e as Extract<CoreEvent, { type: 'work' }>;
      core.completeWork(w.id, null, runHandshake(w.request));
    } else if (e.type === 'decision') {
      const d = e as Extract<CoreEvent, { type: 'decision' }>;
      core.decide(d.id, true);
    }
  };
  const pump = () => {
    for (let i = 0; i < 200; i++) {
      let busy = false;
      for (const e of client.takeEvents()) (busy = true), answer(client, e);
      for (const e of server.takeEvents()) (busy = true), answer(server, e, serverEvents);
      const a = client.takeOutbound();
      const b = server.takeOutbound();
      if (a.length) (busy = true), server.receive(Buffer.concat(a));
      if (b.length) (busy = true), client.receive(Buffer.concat(b));
      if (!busy) return;
    }
  };
  client.start(0);
  server.start(0);
  pump();
  return { client, server, serverEvents, pump };
}

test('authenticated, encrypted payloads with any message number and content: the server never throws and ends typed', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 200 })), { minLength: 1, maxLength: 4 }), (msgs) => {
      const p = establishedPair();
      assert.equal(p.server.authenticated, true);
      const transport = (p.client as unknown as { transport: { send(b: Uint8Array): void } }).transport;
      for (const [type, body] of msgs) transport.send(Uint8Array.of(type, ...body));
      p.pump();
      checkClosed(p.serverEvents);
    }),
    { numRuns: 150 },
  );
});
