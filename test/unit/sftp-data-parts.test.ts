/**
 * DATA replies kept in the pieces they arrived in: SftpDeframer.nextParts
 * hands out views (no copy) at any chunking, and decodeDataParts parses the
 * header across pieces, returns the data as views and refuses a length
 * that disagrees with the packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SftpDeframer } from '../../src/protocol/sftp-framing.js';
import { decodeDataParts, encodeDataHeader, decodeReply, statusReply } from '../../src/protocol/sftp-replies.js';
import { ProtocolError } from '../../src/protocol/errors.js';

function dataPacket(id: number, data: Uint8Array): Uint8Array {
  return Buffer.concat([encodeDataHeader(id, data.length), data]);
}

test('nextParts yields whole packets as views at any chunking; DATA decodes without a join', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }), (data, cuts) => {
    const wire = Buffer.concat([dataPacket(7, data), statusReply(8, 0)]);
    const d = new SftpDeframer();
    const got: Uint8Array[][] = [];
    let at = 0;
    for (let i = 0; at < wire.length; i++) {
      const n = cuts[i % cuts.length]!;
      d.push(wire.subarray(at, at + n));
      at += n;
      for (let p = d.nextParts(); p; p = d.nextParts()) got.push(p);
    }
    assert.equal(got.length, 2);
    for (const p of got[0]!) assert.equal(p.buffer, wire.buffer, 'a view of the chunk, not a copy');
    const dp = decodeDataParts(got[0]!)!;
    assert.equal(dp.id, 7);
    assert.equal(dp.length, data.length);
    assert.deepEqual(Buffer.concat(dp.parts), Buffer.from(data));
    assert.equal(decodeDataParts(got[1]!), null, 'not DATA');
    assert.equal(decodeReply(Buffer.concat(got[1]!)).kind, 'status');
  }), { numRuns: 200 });
});

test('decodeDataParts refuses a DATA length that disagrees with the packet, or a short header', () => {
  const p = dataPacket(1, new Uint8Array(100)).subarray(4);
  const bad = Buffer.from(p);
  bad.writeUInt32BE(99, 5);
  assert.throws(() => decodeDataParts([bad.subarray(0, 3), bad.subarray(3)]), ProtocolError);
  assert.throws(() => decodeDataParts([p.subarray(0, 4), p.subarray(4, 8)]), ProtocolError);
});
