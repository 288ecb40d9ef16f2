// Unit tests for the transport's pure codecs: version exchange, KEXINIT,
// negotiation, packet framing (null cipher) and key derivation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { VersionExchange, MAX_VERSION_LINE } from '../../src/protocol/version-exchange.js';
import { decodeKexInit, encodeKexInit, negotiate, guessIsRight, type KexInitMessage } from '../../src/protocol/kexinit.js';
import { PacketReader, PacketWriter, MAX_PACKET_LENGTH } from '../../src/protocol/packet-codec.js';
import { createNullSealerOpener } from '../../src/protocol/null-cipher.js';
import { deriveKey } from '../../src/protocol/key-derivation.js';
import { ProtocolError, ProtocolNotSupported, KeyExchangeFailed } from '../../src/protocol/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const seededRandom = { bytes: (n: number) => new Uint8Array(n).fill(7) };

test('version exchange: accepts a version line split across chunks and returns the rest', () => {
  const v = new VersionExchange(true);
  assert.deepEqual(v.receive(enc('SSH-2.0-Open')), { kind: 'needMore' });
  const r = v.receive(enc('SSH_9.2 Debian\r\nXYZ'));
  assert.equal(r.kind, 'done');
  if (r.kind === 'done') {
    assert.equal(r.version, 'SSH-2.0-OpenSSH_9.2 Debian');
    assert.deepEqual([...r.rest], [...enc('XYZ')]);
  }
});

test('version exchange: a server may send banner lines first, a client may not', () => {
  const fromServer = new VersionExchange(true);
  const r = fromServer.receive(enc('hello\r\nworld\nSSH-2.0-x\r\n'));
  assert.equal(r.kind, 'done');
  if (r.kind === 'done') assert.deepEqual(r.banner, ['hello', 'world']);
  const fromClient = new VersionExchange(false);
  assert.throws(() => fromClient.receive(enc('hello\r\nSSH-2.0-x\r\n')), ProtocolError);
});

test('version exchange: limits and bad versions', () => {
  assert.throws(() => new VersionExchange(true).receive(new Uint8Array(MAX_VERSION_LINE + 1).fill(0x41)), ProtocolError);
  assert.throws(() => new VersionExchange(true).receive(enc('x\n'.repeat(1025) + 'SSH-2.0-x\r\n')), ProtocolError);
  assert.throws(() => new VersionExchange(true).receive(enc('SSH-1.5-old\r\n')), ProtocolNotSupported);
  assert.throws(() => new VersionExchange(true).receive(enc('SSH-2.0-a\0b\r\n')), ProtocolError);
  const ok = new VersionExchange(true).receive(enc('SSH-1.99-compat\r\n'));
  assert.equal(ok.kind, 'done');
  assert.throws(() => VersionExchange.line('has space'), RangeError);
});

const nameArb = fc.stringMatching(/^[a-z0-9@.-]{1,20}$/);
const listArb = fc.array(nameArb, { maxLength: 6 });
const kexInitArb = fc.record({
  cookie: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  kex: listArb,
  hostKey: listArb,
  cipherCS: listArb,
  cipherSC: listArb,
  macCS: listArb,
  macSC: listArb,
  compressionCS: listArb,
  compressionSC: listArb,
  langCS: listArb,
  langSC: listArb,
  firstKexPacketFollows: fc.boolean(),
});

test('KEXINIT: decode(encode(m)) == m', () => {
  fc.assert(
    fc.property(kexInitArb, (m) => {
      const d = decodeKexInit(encodeKexInit(m as KexInitMessage));
      assert.deepEqual({ ...d, cookie: [...d.cookie] }, { ...m, cookie: [...m.cookie] });
    }),
  );
});

test('KEXINIT: truncated or trailing bytes are rejected', () => {
  const m: KexInitMessage = {
    cookie: new Uint8Array(16),
    kex: ['curve25519-sha256'],
    hostKey: ['ssh-ed25519'],
    cipherCS: ['aes128-ctr'],
    cipherSC: ['aes128-ctr'],
    macCS: ['hmac-sha2-256'],
    macSC: ['hmac-sha2-256'],
    compressionCS: ['none'],
    compressionSC: ['none'],
    langCS: [],
    langSC: [],
    firstKexPacketFollows: false,
  };
  const bytes = encodeKexInit(m);
  for (const cut of [1, 10, 17, 30, bytes.length - 1]) assert.throws(() => decodeKexInit(bytes.subarray(0, cut)), ProtocolError);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodeKexInit(longer), ProtocolError);
});

function lists(over: Partial<KexInitMessage>): KexInitMessage {
  return {
    cookie: new Uint8Array(16),
    kex: ['curve25519-sha256', 'ext-info-c'],
    hostKey: ['ssh-ed25519', 'rsa-sha2-256'],
    cipherCS: ['aes128-gcm@openssh.com', 'aes128-ctr'],
    cipherSC: ['aes128-gcm@openssh.com', 'aes128-ctr'],
    macCS: ['hmac-sha2-256'],
    macSC: ['hmac-sha2-256'],
    compressionCS: ['none'],
    compressionSC: ['none'],
    langCS: [],
    langSC: [],
    firstKexPacketFollows: false,
    ...over,
  };
}

test('negotiation: first client algorithm the server supports; AEAD implies no MAC; markers ignored', () => {
  const isAead = (c: string) => c.includes('gcm') || c.includes('chacha');
  const n = negotiate(
    lists({}),
    lists({ kex: ['kex-strict-s-v00@openssh.com', 'ecdh-sha2-nistp256', 'curve25519-sha256'], hostKey: ['rsa-sha2-256', 'ssh-ed25519'], cipherSC: ['aes128-ctr'] }),
    isAead,
  );
  assert.equal(n.kex, 'curve25519-sha256');
  assert.equal(n.hostKey, 'ssh-ed25519');
  assert.equal(n.cipherCS, 'aes128-gcm@openssh.com');
  assert.equal(n.macCS, null);
  assert.equal(n.cipherSC, 'aes128-ctr');
  assert.equal(n.macSC, 'hmac-sha2-256');
  assert.throws(() => negotiate(lists({}), lists({ kex: ['ext-info-c', 'diffie-hellman-group1-sha1'] }), isAead), KeyExchangeFailed);
  assert.throws(() => negotiate(lists({}), lists({ compressionSC: ['zlib'] }), isAead), /compression/);
  assert.equal(guessIsRight(lists({}), lists({})), true);
  assert.equal(guessIsRight(lists({}), lists({ hostKey: ['rsa-sha2-256'] })), false);
});

test('packets: any payload survives any chunking (null cipher)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const { sealer, opener } = createNullSealerOpener();
        const w = new PacketWriter(sealer, seededRandom);
        const r = new PacketReader(opener);
        const wire = payloads.map((p) => w.seal(p));
        const all = new Uint8Array(wire.reduce((n, x) => n + x.length, 0));
        let o = 0;
        for (const x of wire) {
          assert.equal(x.length % 8, 0, 'packets are block aligned');
          all.set(x, o);
          o += x.length;
        }
        const got: number[][] = [];
        let pos = 0;
        let i = 0;
        while (pos < all.length) {
          const n = cuts[i++ % cuts.length]!;
          r.push(all.subarray(pos, pos + n));
          pos += n;
          for (let p = r.next(); p; p = r.next()) got.push([...p]);
        }
        assert.deepEqual(got, payloads.map((p) => [...p]));
        assert.equal(r.seq, payloads.length);
      },
    ),
    { numRuns: 60 },
  );
});

test('packets: bad lengths and padding are protocol errors', () => {
  const cases: [string, number[]][] = [
    ['length too large', [0x7f, 0xff, 0xff, 0xff, 4, 0, 0, 0]],
    ['length above the 256 KiB cap', [0, 4, 0, 1, 4, 0, 0, 0]],
    ['length too small', [0, 0, 0, 1, 0, 0, 0, 0]],
    ['padding below 4', [0, 0, 0, 8, 2, 5, 5, 5, 5, 5, 0, 0]],
    ['padding longer than packet', [0, 0, 0, 8, 200, 5, 5, 5, 5, 5, 5, 5]],
  ];
  for (const [name, bytes] of cases) {
    const r = new PacketReader(createNullSealerOpener().opener);
    r.push(new Uint8Array(bytes));
    assert.throws(() => r.next(), ProtocolError, name);
  }
  assert.equal(MAX_PACKET_LENGTH, 262144);
});

test('key derivation matches RFC 4253 §7.2 computed independently with node:crypto', () => {
  const K = new Uint8Array([0, 0, 0, 2, 1, 2]);
  const H = new Uint8Array(32).fill(9);
  const sid = new Uint8Array(32).fill(3);
  const hash = (name: string, d: Uint8Array) => new Uint8Array(createHash(name).update(d).digest());
  const k1 = createHash('sha256').update(K).update(H).update('C').update(sid).digest();
  const k2 = createHash('sha256').update(K).update(H).update(k1).digest();
  const got = deriveKey(hash as never, 'sha256', K, H, 'C', sid, 64);
  assert.deepEqual([...got], [...Buffer.concat([k1, k2])]);
  assert.deepEqual([...deriveKey(hash as never, 'sha256', K, H, 'C', sid, 16)], [...k1.subarray(0, 16)]);
});
