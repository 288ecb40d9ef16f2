import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketWriter, PaddingPool, type PieceSealer } from '../../src/protocol/packet-codec.js';
import { createNullSealerOpener } from '../../src/protocol/null-cipher.js';
import type { RandomSource } from '../../src/protocol/crypto-api.js';

/** A random source whose output is a known stream (a counter), with every block it gave out recorded. */
function streamSource(): RandomSource & { stream(): Uint8Array; calls: number } {
  const blocks: Uint8Array[] = [];
  let x = 0;
  return {
    calls: 0,
    bytes(n) {
      this.calls++;
      const b = Uint8Array.from({ length: n }, () => (x = (x + 1) & 0xff));
      blocks.push(b.slice());
      return b;
    },
    stream: () => Uint8Array.from(blocks.flatMap((b) => [...b])),
  };
}

/** The padding of a cleartext packet: its last padLen bytes. */
const paddingOf = (wire: Uint8Array): Uint8Array => wire.subarray(wire.length - wire[4]!);

/** A sealer that passes its pieces through (cleartext), so padding views reach the "wire" as handed out. */
function passThroughPieces(): PieceSealer {
  return {
    blockSize: 8,
    aadLength: 0,
    macLength: 0,
    seal: (_seq, packet) => packet,
    sealPieces: (_seq, parts) => [...parts],
    dispose: () => undefined,
  };
}

test('PaddingPool: writers on one random source share one pool, and no padding byte goes out twice', () => {
  const random = streamSource();
  const a = new PacketWriter(createNullSealerOpener().sealer, random);
  const b = new PacketWriter(createNullSealerOpener().sealer, random);
  const pads: Uint8Array[] = [];
  // Enough packets to cross at least two refills, alternating connections.
  for (let i = 0; i < 2000; i++) {
    const w = i % 3 === 0 ? b : a;
    pads.push(paddingOf(w.seal(new Uint8Array(1 + (i % 17)).fill(5))).slice());
  }
  const used = Uint8Array.from(pads.flatMap((p) => [...p]));
  assert.ok(used.length > 2 * PaddingPool.BLOCK, 'the run crosses refills');
  // In sealing order, the paddings are consecutive runs of the random stream: no byte reused by either
  // writer; the only bytes skipped are a block's tail too short for the next padding (< 256).
  const stream = Buffer.from(random.stream());
  let cursor = 0;
  for (const p of pads) {
    const at = stream.indexOf(Buffer.from(p), cursor);
    assert.ok(at >= cursor && at - cursor < 256, `padding found right after the previous one (at ${at}, cursor ${cursor})`);
    if (at > cursor) assert.equal(at % PaddingPool.BLOCK, 0, 'bytes are skipped only at a refill');
    cursor = at + p.length;
  }
  assert.ok(random.calls <= Math.ceil(used.length / PaddingPool.BLOCK) + 1, `one CSPRNG call per block, got ${random.calls}`);
});

test('PaddingPool: padding handed out as a view never changes when other writers draw or the pool refills', () => {
  const random = streamSource();
  const a = new PacketWriter(passThroughPieces(), random);
  const b = new PacketWriter(passThroughPieces(), random);
  const held = a.sealToPieces([Uint8Array.of(21)]);
  const pad = held[held.length - 1]!;
  const before = Buffer.from(pad);
  for (let i = 0; i < 3 * PaddingPool.BLOCK; i++) b.sealToPieces([Uint8Array.of(21, i & 0xff)]);
  assert.deepEqual(Buffer.from(pad), before);
  // And b never got a's bytes: a's padding came first in the stream, b's started after it.
  const next = b.sealToPieces([Uint8Array.of(21)]);
  assert.notEqual(next[next.length - 1]!.buffer === pad.buffer && next[next.length - 1]!.byteOffset === pad.byteOffset, true);
});

test('PaddingPool: each random source has its own pool', () => {
  const r1 = streamSource();
  const r2 = streamSource();
  assert.equal(PaddingPool.for(r1), PaddingPool.for(r1));
  assert.notEqual(PaddingPool.for(r1), PaddingPool.for(r2));
  new PacketWriter(createNullSealerOpener().sealer, r1).seal(Uint8Array.of(5));
  assert.equal(r2.calls, 0, 'a writer draws only from its own source');
});

test('PaddingPool: a random source that returns fewer bytes than asked is refused', () => {
  const short: RandomSource = { bytes: () => new Uint8Array(2) };
  const w = new PacketWriter(createNullSealerOpener().sealer, short);
  assert.throws(() => w.seal(Uint8Array.of(5)), RangeError);
});
