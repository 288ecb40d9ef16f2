/**
 * ChannelIO's writev path: large chunks go to the channel as they are (not
 * copied into one buffer), small ones ride with their neighbours, bytes and
 * order are kept, and the write callback runs once everything was taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChannelIO, joinSmall, type ChannelPort } from '../../src/actors/channel-io.js';

const join = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts);

test('joinSmall keeps bytes and order, passes large chunks on as views, joins small runs with at most one packet of the next', () => {
  const header = Buffer.alloc(30, 1);
  const data = Buffer.alloc(200_000, 2);
  const out = joinSmall([header, data, header, data]);
  assert.deepEqual(join(out), join([header, data, header, data]));
  assert.equal(out.length, 4);
  assert.equal(out[0]!.length, 32768, 'header + start of the data: one packet');
  assert.equal(out[1]!.buffer, data.buffer, 'the rest of the data is a view, not a copy');
  assert.equal(joinSmall([data])[0], data);
  assert.deepEqual(joinSmall([]), []);
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 4000, max: 70_000 })), { maxLength: 12 }), (sizes) => {
    const chunks = sizes.map((n, i) => Buffer.alloc(n, i));
    const got = joinSmall(chunks);
    assert.deepEqual(join(got), join(chunks));
    for (const g of got) assert.ok(g.length > 0);
  }), { numRuns: 200 });
});

test('a corked burst of writes reaches the channel as pieces, callbacks after the last was taken', async () => {
  const sent: Uint8Array[] = [];
  let window = 10_000;
  const port: ChannelPort = {
    post: (fn) => fn(),
    sendData: (data) => {
      const n = Math.min(window, data.length);
      window -= n;
      sent.push(data.subarray(0, n));
      return n;
    },
    sendEof: () => undefined,
    consume: () => undefined,
    socketWritable: () => true,
  };
  const io = new ChannelIO(port, { encoding: null });
  const big = Buffer.alloc(50_000, 7);
  const small = Buffer.from('hdr');
  let done = 0;
  io.writable.cork();
  io.writable.write(small, () => done++);
  io.writable.write(big, () => done++);
  io.writable.write(small, () => done++);
  process.nextTick(() => io.writable.uncork());
  await new Promise((r) => setImmediate(r));
  assert.equal(done, 0, 'window of 10,000: not everything taken yet');
  window = Infinity;
  io.pump();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, 3);
  assert.deepEqual(join(sent), join([small, big, small]));
  assert.ok(sent.some((s) => s.buffer === big.buffer), 'the large chunk went on as a view');
});
