// Two protocol cores wired back to back in memory, with real crypto run
// inline: handshake, auth, a channel carrying data both ways while re-keys
// are started by either side, automatic re-key by volume, random chunking,
// and the strict-kex first-packet rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SSHCore, type CoreOptions, type CoreEvent } from '../../src/protocol/core.js';
import { createTransportCrypto } from '../../src/crypto/transport-crypto.js';
import { runHandshake } from '../../src/crypto/handshake.js';
import { chooseGexGroup } from '../../src/crypto/handshake.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { PacketWriter } from '../../src/protocol/packet-codec.js';
import { createNullSealerOpener } from '../../src/protocol/null-cipher.js';
import { Msg } from '../../src/protocol/messages.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import type { KexName, CipherName, MacName } from '../../src/protocol/algorithms.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const crypto = createTransportCrypto();

interface Side {
  core: SSHCore;
  received: Buffer[];
  kexCount: number;
  closed: CoreEvent | null;
  channelId: number | null;
  eof: boolean;
}

/** A seeded xorshift so chunk splits are reproducible. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** `lent`: the client reads through receiveLent() from one buffer that is scribbled over after every call, as the socket's reused read buffer is. */
function makePair(extra: Partial<CoreOptions> = {}, seed = 1, lent = false) {
  const scratch = Buffer.alloc(9000);
  const base = { crypto, chooseGexGroup, ...extra };
  const client: Side = {
    core: new SSHCore({ role: 'client', username: 'alice', password: 'pw', ...base }),
    received: [],
    kexCount: 0,
    closed: null,
    channelId: null,
    eof: false,
  };
  const server: Side = {
    core: new SSHCore({ role: 'server', hostKeys: [hostKey.toSigningKeyRef()], ...base }),
    received: [],
    kexCount: 0,
    closed: null,
    channelId: null,
    eof: false,
  };
  const rand = rng(seed);
  const pending: (() => void)[] = [];

  function handle(side: Side, other: Side, ev: CoreEvent): void {
    const c = side.core;
    switch (ev.type) {
      case 'work': {
        const e = ev as Extract<CoreEvent, { type: 'work' }>;
        pending.push(() => {
          try {
            c.completeWork(e.id, null, runHandshake(e.request));
          } catch (err) {
            c.completeWork(e.id, err as Error);
          }
        });
        return;
      }
      case 'decision': {
        const e = ev as Extract<CoreEvent, { type: 'decision' }>;
        const k = e.request.kind;
        const answer = k === 'hostKey' || k === 'beginAuth' ? true : k === 'password' ? e.request.password === 'pw' : null;
        pending.push(() => c.decide(e.id, answer));
        return;
      }
      case 'kexComplete':
        side.kexCount++;
        return;
      case 'closed':
        side.closed = ev;
        return;
      case 'channelOpenRequest':
        side.channelId = ev.id as number;
        c.connection.acceptChannel(ev.id as number);
        return;
      case 'channelOpenConfirmed':
        side.channelId = ev.id as number;
        return;
      case 'channelData': {
        const data = ev.data as Uint8Array;
        side.received.push(Buffer.from(data));
        c.connection.consume(ev.id as number, data.length);
        return;
      }
      case 'channelEof':
        side.eof = true;
        return;
    }
    void other;
  }

  /** Moves bytes and answers work until nothing is left to do. */
  function run(maxRounds = 100000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const [from, to] of [
        [client, server],
        [server, client],
      ] as const) {
        for (const ev of from.core.takeEvents()) handle(from, to, ev);
        const out = from.core.takeOutbound();
        if (out.length) {
          moved = true;
          const all = Buffer.concat(out);
          let pos = 0;
          while (pos < all.length) {
            const n = 1 + Math.floor(rand() * 9000);
            const chunk = all.subarray(pos, pos + n);
            if (lent && to === client) {
              const view = scratch.subarray(0, chunk.length);
              view.set(chunk);
              to.core.receiveLent(view);
              scratch.fill(0xa5);
            } else to.core.receive(chunk);
            pos += n;
          }
        }
      }
      if (pending.length) {
        moved = true;
        for (const p of pending.splice(0)) p();
      }
      if (!moved) return;
    }
    throw new Error('did not settle');
  }
  return { client, server, run };
}

function established(extra: Partial<CoreOptions> = {}, seed = 1, lent = false) {
  const p = makePair(extra, seed, lent);
  p.client.core.start(0);
  p.server.core.start(0);
  p.run();
  assert.equal(p.client.closed, null, `client closed: ${JSON.stringify(p.client.closed)}`);
  assert.equal(p.client.core.authenticated, true);
  assert.equal(p.server.core.authenticated, true);
  p.client.core.connection.openChannel('session');
  p.run();
  assert.notEqual(p.client.channelId, null);
  assert.notEqual(p.server.channelId, null);
  return p;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  const r = rng(seed);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Sends `data` on the side's channel as the window allows, pumping in between. */
function send(p: ReturnType<typeof makePair>, side: Side, data: Buffer, midway?: () => void): void {
  let off = 0;
  let fired = false;
  while (off < data.length) {
    const n = side.core.connection.sendData(side.channelId!, data.subarray(off, Math.min(off + 100000, data.length)));
    off += n;
    if (!fired && midway && off > data.length / 2) {
      fired = true;
      midway();
    }
    p.run();
  }
}

const sha = (b: Buffer | Buffer[]) => createHash('sha256').update(Array.isArray(b) ? Buffer.concat(b) : b).digest('hex');

test('core pair: handshake, password auth and a channel for every kex method', () => {
  const methods: KexName[] = [
    'mlkem768x25519-sha256',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group14-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group14-sha1',
    'diffie-hellman-group-exchange-sha1',
  ];
  for (const kex of methods) {
    const p = established({ kexAlgs: [kex] });
    assert.equal(p.client.core.negotiated?.kex, kex);
    send(p, p.client, pattern(5000, 1));
    assert.equal(sha(p.server.received), sha(pattern(5000, 1)), kex);
  }
});

test('core pair: every cipher and MAC carries data', () => {
  const ciphers: CipherName[] = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-cbc', '3des-cbc'];
  const macs: MacName[] = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha1', 'hmac-sha2-512'];
  for (const cipher of ciphers) {
    for (const mac of cipher.includes('@openssh') ? [macs[0]!] : macs) {
      const p = established({ kexAlgs: ['curve25519-sha256'], encryptionAlgs: [cipher], macAlgs: [mac], compressionAlgs: ['zlib@openssh.com', 'none'] });
      assert.equal(p.client.core.negotiated?.cipherCS, cipher);
      const data = pattern(70000, 2);
      send(p, p.server, data);
      assert.equal(sha(p.client.received), sha(data), `${cipher} ${mac}`);
    }
  }
});

test('core pair: data keeps flowing, byte-exact, across re-keys started by either side', () => {
  const p = established({ kexAlgs: ['curve25519-sha256'] }, 7);
  const up = pattern(3_000_000, 3);
  const down = pattern(3_000_000, 4);
  send(p, p.client, up, () => p.client.core.rekey());
  send(p, p.server, down, () => p.server.core.rekey());
  // Both directions at once while a re-key runs.
  p.client.core.rekey();
  send(p, p.client, pattern(200_000, 5));
  assert.equal(sha(p.server.received), sha([up, pattern(200_000, 5)]));
  assert.equal(sha(p.client.received), sha(down));
  assert.ok(p.client.kexCount >= 4, `kex rounds: ${p.client.kexCount}`);
  assert.equal(p.client.kexCount, p.server.kexCount);
});

test('lent reads: a reused read buffer loses nothing, across re-keys and a cipher change at a re-key', () => {
  const p = established({ kexAlgs: ['curve25519-sha256'] }, 13, true);
  const first = pattern(500_000, 8);
  send(p, p.server, first, () => p.server.core.rekey());
  // The server now offers only a cipher whose opener reads in place: the client's
  // opener changes kind at a NEWKEYS in the middle of a lent chunk.
  (p.server.core.transport as unknown as { o: { cipherAlgs: readonly string[] } }).o.cipherAlgs = ['aes128-ctr'];
  const second = pattern(500_000, 9);
  send(p, p.server, second, () => p.server.core.rekey());
  send(p, p.client, pattern(100_000, 10));
  assert.equal(p.client.closed, null, `client closed: ${JSON.stringify(p.client.closed)}`);
  assert.equal(p.client.core.negotiated?.cipherSC, 'aes128-ctr', 'the re-key switched ciphers');
  assert.equal(sha(p.client.received), sha([first, second]));
});

test('core pair: re-key by volume happens by itself and loses nothing', () => {
  const p = established({ kexAlgs: ['ecdh-sha2-nistp256'], rekeyBytes: 256 * 1024 }, 11);
  const data = pattern(4_000_000, 6);
  send(p, p.client, data);
  assert.equal(sha(p.server.received), sha(data));
  assert.ok(p.client.kexCount > 10, `expected many re-keys, got ${p.client.kexCount}`);
  console.log(`volume re-keys: ${p.client.kexCount}, bytes: ${Buffer.concat(p.server.received).length}`);
});

test('core pair: any chunking of the byte stream gives the same result', () => {
  for (let seed = 20; seed < 26; seed++) {
    const p = established({ kexAlgs: ['curve25519-sha256'], rekeyBytes: 100_000 }, seed);
    const data = pattern(300_000, seed);
    send(p, p.client, data);
    assert.equal(sha(p.server.received), sha(data), `seed ${seed}`);
  }
});

test('strict kex: a packet before the client KEXINIT ends the connection', () => {
  const server = new SSHCore({ role: 'server', crypto, hostKeys: [hostKey.toSigningKeyRef()] });
  server.start(0);
  const { sealer } = createNullSealerOpener();
  const w = new PacketWriter(sealer, crypto.random);
  const kexinit = new SSHCore({ role: 'client', crypto, username: 'x' });
  kexinit.start(0);
  // The client core's first output is its version line then its KEXINIT packet.
  const clientOut = Buffer.concat(kexinit.takeOutbound());
  const nl = clientOut.indexOf(0x0a);
  const version = clientOut.subarray(0, nl + 1);
  const kexPacket = clientOut.subarray(nl + 1);
  server.receive(version);
  server.receive(w.seal(new Uint8Array([Msg.IGNORE, 0, 0, 0, 0])));
  server.receive(kexPacket);
  const closed = server.takeEvents().find((e) => e.type === 'closed') as Extract<CoreEvent, { type: 'closed' }> | undefined;
  assert.ok(closed, 'server closed the connection');
  assert.ok(closed.error instanceof ProtocolError);
  assert.match(closed.error.message, /strict kex/);
});

test('a corrupted byte after key exchange ends the connection with a MAC error', () => {
  const p = established({ kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-ctr'], macAlgs: ['hmac-sha2-256'] });
  p.client.core.connection.sendData(p.client.channelId!, Buffer.from('hello'));
  const out = Buffer.concat(p.client.core.takeOutbound());
  out[out.length - 3]! ^= 1;
  p.server.core.receive(out);
  const closed = p.server.core.takeEvents().find((e) => e.type === 'closed') as Extract<CoreEvent, { type: 'closed' }>;
  assert.ok(closed);
  assert.equal(closed.error?.code, 'ERR_SSH_MAC');
});

test('re-key by time: tick() past rekeySeconds starts a key exchange, and not before', () => {
  const p = established({ kexAlgs: ['curve25519-sha256'], rekeySeconds: 60 });
  const before = p.client.kexCount;
  assert.equal(p.client.core.nextDeadline(), 60_000);
  p.client.core.tick(59_000);
  p.run();
  assert.equal(p.client.kexCount, before);
  p.client.core.tick(60_500);
  p.run();
  assert.equal(p.client.kexCount, before + 1);
  assert.equal(p.server.kexCount, before + 1);
  send(p, p.client, pattern(50_000, 9));
  assert.equal(sha(p.server.received), sha(pattern(50_000, 9)));
});

test('a channel closed by the peer keeps its id until the next takeEvents; calls from its batch are no-ops', () => {
  const p = established();
  const cid = p.client.channelId!;
  const s = p.server.core.connection;
  s.sendData(p.server.channelId!, Buffer.from('last words'));
  s.close(p.server.channelId!);
  // DATA and CLOSE reach the client in one receive: one batch of events.
  p.client.core.receive(Buffer.concat(p.server.core.takeOutbound()));
  const batch = p.client.core.takeEvents();
  assert.deepEqual(batch.map((e) => e.type), ['channelData', 'channelClose']);
  const c = p.client.core.connection;
  // Dispatching channelData: the application answers on a channel the batch will close.
  assert.equal(c.sendData(cid, Buffer.from('reply')), 5);
  c.consume(cid, 10);
  c.sendRequest(cid, 'signal', false);
  c.sendEof(cid);
  const other = c.openChannel('session');
  assert.notEqual(other, cid, 'not reused while its batch is dispatched');
  assert.equal(p.client.closed, null);
  assert.deepEqual(p.client.core.takeEvents(), []);
  assert.equal(c.openChannel('session'), cid, 'free after the batch');
});
