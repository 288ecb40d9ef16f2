import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { CIPHER_ALGORITHMS, MAC_ALGORITHMS, type CipherName, type MacName } from '../../src/protocol/algorithms.js';
import type { PacketKeys, PacketOpener, PacketSealer, RandomSource, TransportCrypto } from '../../src/protocol/crypto-api.js';
import { PacketReader, PacketWriter } from '../../src/protocol/packet-codec.js';
import { ByteQueue } from '../../src/protocol/byte-queue.js';
import { MacError, ProtocolError } from '../../src/protocol/errors.js';
import { createNullOpener, createNullSealer, createTransportCrypto } from '../../src/crypto/transport-crypto.js';

const node = createTransportCrypto();
const noble = createTransportCrypto({ impl: 'noble' });

interface Ssh2Cipher {
  allocPacket(payloadLen: number): Buffer;
  encrypt(packet: Buffer): void;
}
interface Ssh2Crypto {
  CIPHER_INFO: Record<string, unknown>;
  MAC_INFO: Record<string, unknown>;
  init: Promise<void>;
  createCipher(config: object): Ssh2Cipher;
}
const ssh2 = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as Ssh2Crypto;

function suites(): [CipherName, MacName | null][] {
  const out: [CipherName, MacName | null][] = [];
  for (const c of CIPHER_ALGORITHMS) {
    if (node.cipherInfo(c).aead) out.push([c, null]);
    else for (const m of MAC_ALGORITHMS) out.push([c, m]);
  }
  return out;
}

function keysFor(c: CipherName, m: MacName | null): PacketKeys {
  const ci = node.cipherInfo(c);
  return { encKey: randomBytes(ci.keyLength), iv: randomBytes(ci.ivLength), macKey: m ? randomBytes(node.macInfo(m).keyLength) : new Uint8Array(0) };
}

/** uint32 len || padlen || payload || random padding, aligned as the sealer asks. */
function makePacket(s: PacketSealer, payload: Uint8Array): Uint8Array {
  let pad = s.blockSize - ((4 + 1 + payload.length - s.aadLength) % s.blockSize);
  if (pad < 4) pad += s.blockSize;
  const p = new Uint8Array(4 + 1 + payload.length + pad);
  new DataView(p.buffer).setUint32(0, p.length - 4);
  p[4] = pad;
  p.set(payload, 5);
  p.set(randomBytes(pad), 5 + payload.length);
  return p;
}

/** What the framer does: read the length from a copy of the head, then open the exact packet. */
function openWire(o: PacketOpener, seq: number, wire: Uint8Array): Uint8Array {
  const len = o.decryptLength(seq, wire.slice(0, o.lengthPrefix));
  return o.open(seq, wire.subarray(0, 4 + len + o.macLength));
}

function pair(tc: TransportCrypto, c: CipherName, m: MacName | null, keys: PacketKeys): [PacketSealer, PacketOpener] {
  return [tc.createSealer(c, m, keys), tc.createOpener(c, m, keys)];
}

const sizes = [0, 1, 7, 15, 16, 17, 100, 1000, 32768, 3];

test('node and noble produce identical wire bytes and open each other, for every cipher x MAC', () => {
  for (const [c, m] of suites()) {
    const keys = keysFor(c, m);
    const [nodeSeal, nodeOpen] = pair(node, c, m, keys);
    const [nobleSeal, nobleOpen] = pair(noble, c, m, keys);
    assert.equal(nodeSeal.macLength, nobleSeal.macLength);
    let seq = 0xfffffffd; // crosses the uint32 wrap
    for (const n of sizes) {
      const payload = randomBytes(n);
      const packet = makePacket(nodeSeal, payload);
      const a = nodeSeal.seal(seq, packet.slice());
      const b = nobleSeal.seal(seq, packet.slice());
      assert.deepEqual(Buffer.from(a), Buffer.from(b), `${c} ${m} seq ${seq} size ${n}`);
      assert.equal(a.length, packet.length + nodeSeal.macLength);
      assert.deepEqual(Buffer.from(openWire(nobleOpen, seq, a)), Buffer.from(packet.subarray(4)), `${c} ${m} noble opens node`);
      assert.deepEqual(Buffer.from(openWire(nodeOpen, seq, b)), Buffer.from(packet.subarray(4)), `${c} ${m} node opens noble`);
      seq = (seq + 1) >>> 0;
    }
    for (const x of [nodeSeal, nodeOpen, nobleSeal, nobleOpen]) x.dispose();
  }
});

test('sealed bytes equal ssh2 (an independent implementation that interoperates with OpenSSH)', async () => {
  await ssh2.init;
  for (const [c, m] of suites()) {
    const keys = keysFor(c, m);
    const written: Buffer[] = [];
    const theirs = ssh2.createCipher({
      outbound: {
        onWrite: (b: Buffer) => written.push(Buffer.from(b)),
        cipherInfo: ssh2.CIPHER_INFO[c],
        cipherKey: Buffer.from(keys.encKey),
        cipherIV: Buffer.from(keys.iv),
        seqno: 7,
        macInfo: m ? ssh2.MAC_INFO[m] : undefined,
        macKey: m ? Buffer.from(keys.macKey) : undefined,
      },
    });
    const ours = node.createSealer(c, m, keys);
    for (let i = 0; i < 6; i++) {
      const alloc = theirs.allocPacket(i * 37); // may have room for the tag after the packet
      alloc.set(randomBytes(i * 37), 5);
      const packet = alloc.subarray(0, 4 + alloc.readUInt32BE(0));
      const mine = ours.seal(7 + i, packet.slice());
      written.length = 0;
      theirs.encrypt(alloc);
      assert.deepEqual(Buffer.from(mine), Buffer.concat(written), `${c} ${m} packet ${i}`);
    }
  }
});

test('a flipped bit after the length field, or in the MAC, is a MacError', () => {
  for (const [c, m] of suites()) {
    for (const tc of [node, noble]) {
      const keys = keysFor(c, m);
      for (let trial = 0; trial < 4; trial++) {
        // fresh pair per trial: a failed open leaves stream state behind, as it would end the connection
        const [s, o] = pair(tc, c, m, keys);
        const wire = s.seal(5, makePacket(s, randomBytes(50)));
        const bad = wire.slice();
        const pos = trial === 3 ? wire.length - 1 : o.lengthPrefix + Math.floor(Math.random() * (wire.length - o.lengthPrefix));
        bad[pos] ^= 1 << (trial % 8);
        assert.throws(() => openWire(o, 5, bad), MacError, `${c} ${m} byte ${pos}`);
      }
      // a packet opened under the wrong sequence number (GCM: the wrong invocation counter) fails
      const [s, o] = pair(tc, c, m, keys);
      const first = s.seal(5, makePacket(s, randomBytes(20)));
      const second = s.seal(6, makePacket(s, randomBytes(20)));
      if (node.cipherInfo(c).name.includes('gcm')) {
        assert.throws(() => openWire(o, 5, second), MacError, `${c} skipped packet`);
      } else if (c === 'chacha20-poly1305@openssh.com' || m?.includes('etm')) {
        assert.throws(() => openWire(o, 6, first), (e) => e instanceof MacError || e instanceof ProtocolError, `${c} ${m} wrong seq`);
      } else {
        assert.throws(() => openWire(o, 6, first), MacError, `${c} ${m} wrong seq`);
      }
    }
  }
});

test('an absurd or misaligned packet length is a ProtocolError before any MAC work', () => {
  const lengths = [0, 4, 0x7fffffff, 256 * 1024 + 16, 33];
  for (const [c, m] of suites()) {
    const keys = keysFor(c, m);
    const [s, o] = pair(node, c, m, keys);
    const packet = makePacket(s, randomBytes(40));
    for (const len of lengths) {
      const p = packet.slice();
      new DataView(p.buffer).setUint32(0, len);
      const [s2, o2] = pair(node, c, m, keys);
      const wire = s2.seal(1, p);
      assert.throws(() => o2.decryptLength(1, wire.subarray(0, o2.lengthPrefix)), ProtocolError, `${c} ${m} length ${len}`);
    }
    assert.throws(() => s.seal(1, new Uint8Array(17)), RangeError, `${c} ${m} unpadded input`);
    void o;
  }
  const nullOpen = createNullOpener();
  for (const len of [0, 13, 0x10000000]) {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, len);
    assert.throws(() => nullOpen.decryptLength(0, head), ProtocolError, `none, length ${len}`);
  }
});

test("sealers and openers never alias or modify the caller's key buffers", () => {
  for (const [c, m] of suites()) {
    for (const tc of [node, noble]) {
      const keys = keysFor(c, m); // Buffers, whose slice() is a view
      const before = [keys.encKey, keys.iv, keys.macKey].map((b) => Buffer.from(b).toString('hex'));
      const [s, o] = pair(tc, c, m, keys);
      for (let seq = 0; seq < 3; seq++) {
        const packet = makePacket(s, randomBytes(70));
        assert.deepEqual(Buffer.from(openWire(o, seq, s.seal(seq, packet.slice()))), Buffer.from(packet.subarray(4)));
      }
      s.dispose();
      o.dispose();
      assert.deepEqual([keys.encKey, keys.iv, keys.macKey].map((b) => Buffer.from(b).toString('hex')), before, `${c} ${m}`);
    }
  }
});

test('the none cipher passes packets through with block size 8', () => {
  const s = createNullSealer();
  const o = createNullOpener();
  assert.equal(s.blockSize, 8);
  assert.equal(s.macLength, 0);
  const packet = makePacket(s, new Uint8Array([5, 0, 0, 0, 1]));
  const wire = s.seal(0, packet);
  assert.deepEqual(openWire(o, 0, wire), packet.subarray(4));
});

test('GCM nonce: fixed field || 64-bit invocation counter, incremented per packet with carry', () => {
  const c: CipherName = 'aes128-gcm@openssh.com';
  const keys: PacketKeys = { encKey: randomBytes(16), iv: Buffer.from('00112233' + '00000000fffffffe', 'hex'), macKey: new Uint8Array(0) };
  const s = node.createSealer(c, null, keys);
  const nonces = ['0011223300000000fffffffe', '0011223300000000ffffffff', '001122330000000100000000'];
  for (const nonce of nonces) {
    const packet = makePacket(s, randomBytes(30));
    const wire = s.seal(0, packet.slice());
    const end = packet.length;
    const d = createDecipheriv('aes-128-gcm', keys.encKey, Buffer.from(nonce, 'hex'));
    d.setAAD(wire.subarray(0, 4));
    d.setAuthTag(wire.subarray(end));
    const plain = Buffer.concat([d.update(wire.subarray(4, end)), d.final()]);
    assert.deepEqual(plain, Buffer.from(packet.subarray(4)), nonce);
    assert.deepEqual(Buffer.from(wire.subarray(0, 4)), Buffer.from(packet.subarray(0, 4)), 'length in clear');
  }
});

test('unknown names and short keys are rejected with errors naming them', () => {
  assert.throws(() => node.cipherInfo('rc4' as CipherName), /rc4/);
  assert.throws(() => node.macInfo('hmac-md5' as MacName), /hmac-md5/);
  assert.throws(() => node.createSealer('aes128-ctr', null, keysFor('aes128-ctr', null)), /needs a MAC/);
  assert.throws(
    () => node.createSealer('aes256-ctr', 'hmac-sha1', { encKey: new Uint8Array(16), iv: new Uint8Array(16), macKey: new Uint8Array(20) }),
    /32-byte key/,
  );
  assert.equal(node.cipherInfo('chacha20-poly1305@openssh.com').keyLength, 64);
  assert.equal(node.cipherInfo('aes128-gcm@openssh.com').ivLength, 12);
  assert.equal(node.macInfo('hmac-sha2-512-etm@openssh.com').etm, true);
});

/** Splits `packet` at random points into parts; the first part keeps the 5 header bytes. */
function randomParts(packet: Uint8Array): Uint8Array[] {
  const cuts = new Set<number>([0, packet.length]);
  const k = Math.floor(Math.random() * 5);
  for (let i = 0; i < k; i++) cuts.add(5 + Math.floor(Math.random() * (packet.length - 5)));
  const sorted = [...cuts].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) parts.push(packet.subarray(sorted[i], sorted[i + 1]));
  // Empty parts and parts on either side of the small-part threshold are allowed too.
  if (Math.random() < 0.3) parts.splice(1, 0, new Uint8Array(0));
  return parts;
}

test('sealParts gives the same wire bytes as seal of the joined packet, and leaves the parts alone', () => {
  let checked = 0;
  for (const [c, m] of suites()) {
    const keys = keysFor(c, m);
    const whole = node.createSealer(c, m, keys);
    const split = node.createSealer(c, m, keys);
    const nobleOpen = noble.createOpener(c, m, keys);
    if (!split.sealParts) continue;
    let seq = 0xfffffffe;
    for (const n of [...sizes, 511, 512, 513, 32768 + 9, 65536]) {
      for (let rep = 0; rep < 3; rep++) {
        const packet = makePacket(whole, randomBytes(n));
        const before = Buffer.from(packet);
        const parts = randomParts(packet);
        const a: Uint8Array = split.sealParts(seq, parts);
        assert.deepEqual(Buffer.from(packet), before, `${c}: parts untouched`);
        const b = whole.seal(seq, packet.slice());
        assert.deepEqual(Buffer.from(a), Buffer.from(b), `${c} size ${n} parts ${parts.map((p) => p.length).join('+')}`);
        assert.deepEqual(Buffer.from(openWire(nobleOpen, seq, a)), Buffer.from(packet.subarray(4)), `${c}: noble opens sealParts`);
        seq = (seq + 1) >>> 0;
        checked++;
      }
    }
  }
  // Both AEAD families have the fast path on node.
  assert.ok(node.createSealer('aes128-gcm@openssh.com', null, keysFor('aes128-gcm@openssh.com', null)).sealParts);
  assert.ok(node.createSealer('chacha20-poly1305@openssh.com', null, keysFor('chacha20-poly1305@openssh.com', null)).sealParts);
  assert.ok(checked > 0);
});

test('sealParts rejects a short header part or a packet not padded to the block size', () => {
  for (const c of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as const) {
    const s = node.createSealer(c, null, keysFor(c, null));
    const good = makePacket(s, randomBytes(40));
    const bad: [string, Uint8Array[]][] = [
      ['no parts', []],
      ['header split inside its 5 bytes', [good.subarray(0, 3), good.subarray(3)]],
      ['one byte short', [good.subarray(0, 5), good.subarray(5, good.length - 1)]],
      ['one byte long', [good, new Uint8Array(1)]],
      ['too short', [good.subarray(0, 8)]],
    ];
    for (const [what, parts] of bad) assert.throws(() => s.sealParts!(0, parts), RangeError, `${c}: ${what}`);
  }
});

test('PacketWriter: the parts path and the assembled-packet path put the same bytes on the wire', () => {
  // A deterministic random source, so both writers pad alike.
  const counter = (): RandomSource => {
    let x = 1;
    return { bytes: (n) => Uint8Array.from({ length: n }, () => (x = (x * 73 + 41) & 0xff)) };
  };
  for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as const) {
    const keys = keysFor(c, null);
    const fast = node.createSealer(c, null, keys);
    const plain = node.createSealer(c, null, keys);
    const slow: PacketSealer = { blockSize: plain.blockSize, aadLength: plain.aadLength, macLength: plain.macLength, seal: (q, p) => plain.seal(q, p), dispose: () => plain.dispose() };
    const wf = new PacketWriter(fast, counter());
    const ws = new PacketWriter(slow, counter());
    const opener = noble.createOpener(c, null, keys);
    for (const n of [1, 9, 600, 32768, 5000]) {
      const parts = [Uint8Array.of(94, 0, 0, 0, 7, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff), randomBytes(n)];
      const seq = wf.seq;
      const a = wf.sealParts(parts);
      const b = ws.sealParts(parts);
      assert.deepEqual(Buffer.from(a), Buffer.from(b), `${c} ${n}`);
      const body = openWire(opener, seq, a);
      assert.deepEqual(Buffer.from(body.subarray(1, 1 + 9 + n)), Buffer.concat(parts), `${c} ${n}: payload`);
    }
    assert.equal(wf.seq, 5);
    assert.equal(wf.bytesSinceKex, ws.bytesSinceKex);
  }
});

test('PacketWriter.sealToPieces: the pieces join to the same wire bytes as sealParts, and do not alias the parts', () => {
  const counter = (): RandomSource => {
    let x = 7;
    return { bytes: (n) => Uint8Array.from({ length: n }, () => (x = (x * 73 + 41) & 0xff)) };
  };
  for (const tc of [node, noble]) {
    for (const c of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr'] as const) {
      const m = c === 'aes128-ctr' ? 'hmac-sha2-256-etm@openssh.com' : null;
      const keys = keysFor(c, m);
      const wp = new PacketWriter(tc.createSealer(c, m, keys), counter());
      const wj = new PacketWriter(tc.createSealer(c, m, keys), counter());
      const opener = noble.createOpener(c, m, keys);
      let multi = 0;
      for (const n of [0, 1, 9, 600, 4095, 4096, 32768, 5000, 70000]) {
        const parts = [Uint8Array.of(94, 0, 0, 0, 7, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff), randomBytes(n)];
        const payload = Buffer.concat(parts);
        const seq = wp.seq;
        const pieces = wp.sealToPieces(parts);
        const joined = wj.sealParts(parts);
        if (pieces.length > 1) multi++;
        // The caller may reuse its buffers at once: the pieces must not change.
        const wire = Buffer.concat(pieces);
        for (const p of parts) p.fill(0xee);
        assert.deepEqual(Buffer.concat(pieces), wire, `${c} ${n}: pieces alias the parts`);
        assert.deepEqual(wire, Buffer.from(joined), `${c} ${n}: pieces vs sealParts`);
        assert.deepEqual(Buffer.from(openWire(opener, seq, wire).subarray(1, 1 + payload.length)), payload, `${c} ${n}: opened`);
      }
      assert.equal(wp.seq, wj.seq);
      assert.equal(wp.bytesSinceKex, wj.bytesSinceKex);
      // node's AEAD sealers keep large ciphertext apart; the others give one piece.
      const expectPieces = tc === node && c !== 'aes128-ctr';
      assert.equal(multi > 0, expectPieces, `${c}: ${multi} packets in several pieces`);
    }
  }
});

test('ByteQueue.takeInto: a view into the chunk when contiguous, else a copy into the scratch buffer', () => {
  const q = new ByteQueue();
  const a = Uint8Array.of(1, 2, 3, 4, 5);
  q.push(a);
  q.push(Uint8Array.of(6, 7, 8));
  const scratch = new Uint8Array(16).fill(0xaa);
  const x = q.takeInto(3, scratch);
  assert.deepEqual([...x], [1, 2, 3]);
  assert.equal(x.buffer, a.buffer, 'contiguous: a view');
  assert.equal(q.contiguous(2), true);
  assert.equal(q.contiguous(3), false);
  const y = q.takeInto(4, scratch);
  assert.deepEqual([...y], [4, 5, 6, 7]);
  assert.equal(y.buffer, scratch.buffer, 'spanning: in the scratch buffer');
  assert.equal(q.length, 1);
  assert.deepEqual([...q.take(1)], [8]);
});

test('PacketReader: only openers that detach their output share a joining buffer; payloads stay intact', () => {
  const payloads = [40000, 5, 32777, 70000, 1, 32777, 100].map((n) => randomBytes(n));
  const cases: [string, PacketSealer, PacketOpener][] = [
    ['null (returns views of the wire)', createNullSealer(), createNullOpener()],
    ['aes128-gcm (detaches)', ...pair(node, 'aes128-gcm@openssh.com', null, keysFor('aes128-gcm@openssh.com', null))],
  ];
  for (const [what, sealer, opener] of cases) {
    const w = new PacketWriter(sealer, node.random);
    const r = new PacketReader(opener);
    const wire = Buffer.concat(payloads.map((p) => w.seal(p)));
    const got: Uint8Array[] = [];
    for (let o = 0; o < wire.length; o += 7001) {
      r.push(wire.subarray(o, o + 7001));
      for (let p = r.next(); p !== null; p = r.next()) got.push(p);
    }
    assert.equal(got.length, payloads.length, what);
    for (let i = 0; i < payloads.length; i++) assert.deepEqual(Buffer.from(got[i]!), payloads[i], `${what}: packet ${i}`);
  }
  assert.equal((createNullOpener() as { detachesOutput?: boolean }).detachesOutput, undefined);
  for (const c of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as const) {
    for (const tc of [node, noble]) assert.equal((tc.createOpener(c, null, keysFor(c, null)) as { detachesOutput?: boolean }).detachesOutput, true, c);
  }
});

test('PacketReader: payloads of real ciphers survive any chunking and stay intact after later packets', () => {
  for (const tc of [node, noble]) {
    for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr'] as const) {
      const m = c === 'aes128-ctr' ? 'hmac-sha2-256-etm@openssh.com' : null;
      const keys = keysFor(c, m);
      const w = new PacketWriter(tc.createSealer(c, m, keys), node.random);
      const r = new PacketReader(tc.createOpener(c, m, keys));
      const payloads = [40000, 5, 32777, 70000, 1, 32777, 100].map((n) => randomBytes(n));
      const wire = Buffer.concat(payloads.map((p) => w.seal(p)));
      // Chunk boundaries at random, with small chunks so most packets span several.
      const got: Uint8Array[] = [];
      for (let o = 0; o < wire.length; ) {
        const k = 1 + Math.floor(Math.random() * 9000);
        r.push(wire.subarray(o, o + k));
        o += k;
        for (let p = r.next(); p !== null; p = r.next()) got.push(p);
      }
      assert.equal(got.length, payloads.length, `${c}`);
      // Compared only now: an earlier payload must not have been overwritten by a later packet.
      for (let i = 0; i < payloads.length; i++) assert.deepEqual(Buffer.from(got[i]!), payloads[i], `${c} packet ${i}`);
    }
  }
});

test('PacketReader.ownQueued: reads lent from one reused buffer (overwritten after each) give intact payloads', () => {
  for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as const) {
    const keys = keysFor(c, null);
    const w = new PacketWriter(node.createSealer(c, null, keys), node.random);
    const r = new PacketReader(node.createOpener(c, null, keys));
    assert.equal(r.opensIntoNewMemory(), true, c);
    const payloads = [40000, 5, 32777, 70000, 1, 32777, 100].map((n) => randomBytes(n));
    const wire = Buffer.concat(payloads.map((p) => w.seal(p)));
    const lent = new Uint8Array(65536);
    const got: Uint8Array[] = [];
    for (let o = 0; o < wire.length; ) {
      const k = Math.min(1 + Math.floor(Math.random() * lent.length), wire.length - o);
      lent.set(wire.subarray(o, o + k));
      r.push(lent.subarray(0, k));
      o += k;
      for (let p = r.next(); p !== null; p = r.next()) got.push(p);
      r.ownQueued();
      lent.fill(0xee); // what the next read would do to the buffer
    }
    assert.equal(got.length, payloads.length, c);
    for (let i = 0; i < payloads.length; i++) assert.deepEqual(Buffer.from(got[i]!), payloads[i], `${c} packet ${i}`);
  }
  assert.equal(new PacketReader(createNullOpener()).opensIntoNewMemory(), false);
});
