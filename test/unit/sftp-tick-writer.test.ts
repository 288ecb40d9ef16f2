/**
 * TickWriter batches the packets of one event-loop turn into one writev:
 * packets queued by separate callbacks of that turn (file-system
 * completions of different files, timers) leave together, and a packet
 * queued in a later turn goes in a write of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { TickWriter } from '../../src/actors/sftp-tick-writer.js';

function recorder(): { stream: Writable; writes: number[] } {
  const writes: number[] = [];
  const stream = new Writable({
    writev(chunks, cb) {
      writes.push(chunks.length);
      cb();
    },
    write(_chunk, _enc, cb) {
      writes.push(1);
      cb();
    },
  });
  return { stream, writes };
}

test('TickWriter: packets of separate callbacks in one event-loop turn leave in one writev', async () => {
  const { stream, writes } = recorder();
  const out = new TickWriter(stream);
  const p = (n: number): Uint8Array => new Uint8Array([n]);
  // Two callbacks of the same turn, each with its own microtask and nextTick
  // queue drained in between, as two file-system completions are.
  await new Promise<void>((resolve) => {
    setTimeout(() => {
      out.write(p(1), p(2));
      process.nextTick(() => out.write(p(3)));
    }, 0);
    setTimeout(() => {
      out.write(p(4));
      Promise.resolve().then(() => out.write(p(5)));
    }, 0);
    setTimeout(() => setImmediate(resolve), 1);
  });
  assert.deepEqual(writes, [5]);
  out.write(p(6));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [5, 1], 'a later turn: a write of its own');
});
