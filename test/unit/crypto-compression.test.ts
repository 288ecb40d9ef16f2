import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, inflateSync } from 'node:zlib';
import { CompressionError } from '../../src/protocol/errors.js';
import { createCompressor, createDecompressor } from '../../src/crypto/compression.js';

const impls = ['node', 'noble'] as const;

/** Packets that refer back to earlier ones: the stream must keep its window across packets. */
function payloads(): Uint8Array[] {
  const words = ['channel', 'data', 'window', 'adjust', 'exit-status', 'fleetssh'];
  const out: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    if (i % 10 === 9) out.push(randomBytes(3000));
    else out.push(Buffer.from(Array.from({ length: 1 + i * 7 }, (_, j) => words[(i + j) % words.length]).join(' ')));
  }
  out.push(new Uint8Array(200_000));
  return out;
}

test('zlib streams round-trip between node:zlib and pako in both directions, packet by packet', () => {
  const input = payloads();
  for (const from of impls) {
    for (const to of impls) {
      const c = createCompressor('zlib@openssh.com', from)!;
      const d = createDecompressor('zlib@openssh.com', to)!;
      const wire: Uint8Array[] = [];
      for (const p of input) {
        const z = c.compress(p);
        wire.push(z);
        assert.deepEqual(Buffer.from(d.decompress(z, 256 * 1024)), Buffer.from(p), `${from} -> ${to}`);
      }
      // An independent reader: the concatenated packets are one zlib stream, each ending in a sync flush.
      const all = inflateSync(Buffer.concat(wire), { finishFlush: constants.Z_SYNC_FLUSH });
      assert.deepEqual(all, Buffer.concat(input));
      const small = wire.slice(0, 9).reduce((n, z) => n + z.length, 0);
      const raw = input.slice(0, 9).reduce((n, z) => n + z.length, 0);
      assert.ok(small < raw / 3, `${from} compresses repetitive packets (${small} of ${raw})`);
      c.dispose();
      d.dispose();
    }
  }
});

test('a zip bomb over maxSize is a CompressionError, not an unbounded inflate', () => {
  for (const from of impls) {
    for (const to of impls) {
      const bomb = createCompressor('zlib', from)!.compress(new Uint8Array(20 * 1024 * 1024));
      assert.ok(bomb.length < 64 * 1024);
      const d = createDecompressor('zlib', to)!;
      assert.throws(() => d.decompress(bomb, 256 * 1024), CompressionError, `${from} -> ${to}`);
      assert.throws(() => d.decompress(new Uint8Array([1, 2, 3]), 100), CompressionError, 'a failed stream stays closed');
    }
  }
});

test('corrupt compressed data is a CompressionError', () => {
  for (const to of impls) {
    const d = createDecompressor('zlib@openssh.com', to)!;
    assert.throws(() => d.decompress(Uint8Array.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0x00, 0x11]), 1000), CompressionError, to);
    const d2 = createDecompressor('zlib@openssh.com', to)!;
    assert.throws(() => d2.decompress(Uint8Array.from([0x12, 0x34, 0x56, 0x78]), 1000), CompressionError, `${to} bad header`);
  }
});

test("'none' gives no compressor; unknown names are rejected", () => {
  assert.equal(createCompressor('none'), null);
  assert.equal(createDecompressor('none'), null);
  assert.throws(() => createCompressor('lz4' as 'none'), /lz4/);
});
