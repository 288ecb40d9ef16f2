/**
 * Two ConnectionLayers (client and server) wired back to back in memory
 * through a fake LayerContext; payloads are delivered from a FIFO queue so
 * that both sides can have messages in flight at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnectionLayer, type ConnectionEvent, type ConnectionOptions } from '../../src/protocol/connection.js';
import { FakeLayerContext } from '../helpers/fake-layer-context.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { type ConnectionMessage, decodeConnectionMessage, encodeConnectionMessage } from '../../src/protocol/connection-messages.js';
import { OpenFailure } from '../../src/protocol/messages.js';

class Side extends FakeLayerContext<ConnectionEvent> {
  sentMessages(): ConnectionMessage[] {
    return this.sent.map(decodeConnectionMessage);
  }
}

interface Pair {
  c: ConnectionLayer;
  s: ConnectionLayer;
  cs: Side;
  ss: Side;
  run(): void;
}

function pair(clientOpts: Partial<ConnectionOptions> = {}, serverOpts: Partial<ConnectionOptions> = {}): Pair {
  const queue: Array<() => void> = [];
  const cs = new Side(queue);
  const ss = new Side(queue);
  const c = new ConnectionLayer(cs, { role: 'client', ...clientOpts });
  const s = new ConnectionLayer(ss, { role: 'server', ...serverOpts });
  cs.peer = s;
  ss.peer = c;
  const run = (): void => {
    for (let i = 0; queue.length > 0; i++) {
      assert.ok(i < 1_000_000, 'did not settle');
      queue.shift()!();
    }
    // As SSHCore does once the application has dispatched every event: closed ids are free again.
    for (const l of [c, s]) {
      l.eventsTaken();
      l.eventsTaken();
    }
  };
  return { c, s, cs, ss, run };
}

/** Opens a session channel from the client, accepted by the server; returns [clientId, serverId]. */
function openSession(p: Pair, type = 'session'): [number, number] {
  let serverId = -1;
  p.ss.onEvent = (e) => {
    if (e.type === 'channelOpenRequest') {
      serverId = e.id;
      p.s.acceptChannel(e.id);
    }
  };
  const id = p.c.openChannel(type, new Uint8Array(0));
  p.run();
  p.ss.onEvent = () => {};
  assert.ok(p.cs.events.some((e) => e.type === 'channelOpenConfirmed' && e.id === id));
  return [id, serverId];
}

test('open, exec request with reply, data both ways, EOF, close; ids are freed and reused', () => {
  const p = pair();
  const [cid, sid] = openSession(p);
  p.ss.onEvent = (e) => {
    if (e.type === 'channelRequest') p.s.replyRequest(e.id, e.requestType === 'exec', e.seq ?? undefined);
  };
  p.c.sendRequest(cid, 'exec', true, Uint8Array.of(0, 0, 0, 2, 0x6c, 0x73));
  p.c.sendRequest(cid, 'bogus', true);
  p.run();
  assert.deepEqual(
    p.cs.events.filter((e) => e.type === 'channelRequestReply'),
    [
      { type: 'channelRequestReply', id: cid, ok: true },
      { type: 'channelRequestReply', id: cid, ok: false },
    ],
  );
  assert.equal(p.c.sendData(cid, Buffer.from('hello')), 5);
  assert.equal(p.s.sendData(sid, Buffer.from('err'), 1), 3);
  p.c.sendEof(cid);
  p.run();
  const sData = p.ss.events.find((e) => e.type === 'channelData')!;
  assert.deepEqual(sData, { type: 'channelData', id: sid, data: Uint8Array.from(Buffer.from('hello')) });
  assert.deepEqual(p.cs.events.find((e) => e.type === 'channelData'), { type: 'channelData', id: cid, data: Uint8Array.from(Buffer.from('err')), extended: 1 });
  assert.ok(p.ss.events.some((e) => e.type === 'channelEof' && e.id === sid));
  p.s.close(sid);
  p.run();
  assert.ok(p.cs.events.some((e) => e.type === 'channelClose' && e.id === cid));
  assert.ok(p.ss.events.some((e) => e.type === 'channelClose' && e.id === sid));
  assert.deepEqual(p.c.channelIds, []);
  assert.deepEqual(p.s.channelIds, []);
  assert.equal(p.cs.sentMessages().filter((m) => m.msg === 'channelClose').length, 1, 'client answered CLOSE once');
  assert.equal(openSession(p)[0], cid, 'the freed id is reused');
  assert.equal(p.cs.failure ?? p.ss.failure, null);
});

test('channel request replies go out in request order even when answered out of order', () => {
  const p = pair();
  const [cid, sid] = openSession(p);
  const seqs: number[] = [];
  p.ss.onEvent = (e) => {
    if (e.type === 'channelRequest' && e.seq !== null) seqs.push(e.seq);
  };
  p.c.sendRequest(cid, 'env', true);
  p.c.sendRequest(cid, 'keepalive@openssh.com', true);
  p.c.sendRequest(cid, 'pty-req', true);
  p.c.sendRequest(cid, 'signal', false);
  p.run();
  assert.equal(seqs.length, 2, 'keepalive is answered automatically, no event');
  p.s.replyRequest(sid, true, seqs[1]);
  p.run();
  assert.equal(p.cs.events.filter((e) => e.type === 'channelRequestReply').length, 0, 'held until the first is answered');
  p.s.replyRequest(sid, true, seqs[0]);
  p.run();
  assert.deepEqual(
    p.cs.events.filter((e) => e.type === 'channelRequestReply').map((e) => (e as { ok: boolean }).ok),
    [true, false, true],
  );
  assert.equal(p.s.replyRequest(sid, true), false, 'nothing left to answer');
  assert.equal(p.s.replyRequest(sid, true, seqs[0]), false, 'already answered');
});

test('a late reply for a closed channel does not land on a new channel reusing its id', () => {
  const p = pair();
  const [cid, sid] = openSession(p);
  let oldSeq = -1;
  p.ss.onEvent = (e) => {
    if (e.type === 'channelRequest' && e.seq !== null) oldSeq = e.seq;
  };
  p.c.sendRequest(cid, 'exec', true);
  p.run();
  p.c.close(cid);
  p.run();
  assert.equal(p.s.replyRequest(sid, true, oldSeq), false, 'channel gone');
  const [cid2, sid2] = openSession(p);
  assert.equal(sid2, sid);
  let newSeq = -1;
  p.ss.onEvent = (e) => {
    if (e.type === 'channelRequest' && e.seq !== null) newSeq = e.seq;
  };
  p.c.sendRequest(cid2, 'shell', true);
  p.run();
  assert.notEqual(newSeq, oldSeq);
  assert.equal(p.s.replyRequest(sid2, true, oldSeq), false, 'stale seq ignored');
  p.run();
  assert.equal(p.cs.events.filter((e) => e.type === 'channelRequestReply' && e.id === cid2).length, 0);
  assert.equal(p.s.replyRequest(sid2, true, newSeq), true);
  p.run();
  assert.deepEqual(p.cs.events.at(-1), { type: 'channelRequestReply', id: cid2, ok: true });
});

test('global requests: in-order replies with data; keepalive@openssh.com answered with failure', () => {
  const p = pair();
  const seqs: number[] = [];
  p.ss.onEvent = (e) => {
    if (e.type === 'globalRequest' && e.seq !== null) seqs.push(e.seq);
  };
  p.c.globalRequest('tcpip-forward', true, Uint8Array.of(1));
  p.c.globalRequest('keepalive@openssh.com', true);
  p.c.globalRequest('no-more-sessions@openssh.com', false);
  p.run();
  assert.equal(p.ss.events.length, 2);
  assert.deepEqual(p.ss.events[0], { type: 'globalRequest', name: 'tcpip-forward', wantReply: true, data: Uint8Array.of(1), seq: 0 });
  p.s.replyGlobalRequest(true, Uint8Array.of(0, 0, 0x1f, 0x90), seqs[0]);
  p.run();
  assert.deepEqual(p.cs.events, [
    { type: 'globalRequestReply', ok: true, data: Uint8Array.of(0, 0, 0x1f, 0x90) },
    { type: 'globalRequestReply', ok: false, data: new Uint8Array(0) },
  ]);
});

test('open failures: rejected by the app, client refuses session, maxChannels', () => {
  const p = pair({}, { maxChannels: 1 });
  p.ss.onEvent = (e) => {
    if (e.type === 'channelOpenRequest' && e.channelType === 'direct-tcpip') p.s.rejectChannel(e.id, OpenFailure.CONNECT_FAILED, 'refused');
    else if (e.type === 'channelOpenRequest') p.s.acceptChannel(e.id);
  };
  const a = p.c.openChannel('direct-tcpip');
  p.run();
  assert.deepEqual(p.cs.events.at(-1), { type: 'channelOpenFailed', id: a, reason: OpenFailure.CONNECT_FAILED, description: 'refused' });
  const b = p.c.openChannel('session');
  const c = p.c.openChannel('session');
  p.run();
  assert.deepEqual(p.cs.events.slice(-2), [
    { type: 'channelOpenConfirmed', id: b },
    { type: 'channelOpenFailed', id: c, reason: OpenFailure.RESOURCE_SHORTAGE, description: 'too many channels' },
  ]);
  assert.throws(() => p.s.openChannel('x11'), /maxChannels/);
  const q = pair();
  q.s.openChannel('session');
  q.run();
  assert.equal(q.ss.events.at(-1)!.type, 'channelOpenFailed');
  assert.equal((q.ss.events.at(-1) as { reason: number }).reason, OpenFailure.ADMINISTRATIVELY_PROHIBITED);
  assert.equal(q.cs.events.filter((e) => e.type === 'channelOpenRequest').length, 0);
  assert.deepEqual(q.s.channelIds, []);
});

test('sendData is bounded by the remote window and split at the remote max packet; channelWindow when it reopens', () => {
  const p = pair({}, { windowSize: 1000, maxPacketSize: 300 });
  const [cid, sid] = openSession(p);
  const data = new Uint8Array(2500).map((_, i) => i & 0xff);
  assert.equal(p.c.sendData(cid, data), 1000);
  assert.equal(p.c.sendWindow(cid), 0);
  assert.equal(p.c.sendData(cid, data.subarray(1000)), 0);
  const sizes = p.cs.sentMessages().filter((m) => m.msg === 'channelData').map((m) => (m as { data: Uint8Array }).data.length);
  assert.deepEqual(sizes, [300, 300, 300, 100]);
  p.run();
  p.s.consume(sid, 499);
  p.run();
  assert.equal(p.ss.sentMessages().filter((m) => m.msg === 'channelWindowAdjust').length, 0, 'less than half the window consumed');
  p.s.consume(sid, 1);
  p.run();
  assert.deepEqual(p.cs.events.at(-1), { type: 'channelWindow', id: cid, available: 500 });
  assert.throws(() => p.s.consume(sid, 501), RangeError);
});

test('property: random writes and consumes arrive byte-exact and never overrun the window', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 4096 }),
      fc.integer({ min: 1, max: 1500 }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 10 }),
      (writes, window, maxPacket, consumeSizes) => {
        const p = pair({}, { windowSize: window, maxPacketSize: Math.min(maxPacket, window) });
        const [cid, sid] = openSession(p);
        let total = 0;
        const chunks = writes.map((n) => {
          const b = new Uint8Array(n).map((_, i) => (total + i) * 7);
          total += n;
          return b;
        });
        const expected = Buffer.concat(chunks);
        const received: Buffer[] = [];
        let unconsumed = 0;
        let k = 0;
        p.ss.onEvent = (e) => {
          if (e.type === 'channelData') {
            received.push(Buffer.from(e.data));
            unconsumed += e.data.length;
          }
        };
        let pending = Buffer.alloc(0);
        const pump = (): void => {
          while (pending.length > 0 || chunks.length > 0) {
            if (pending.length === 0) pending = Buffer.from(chunks.shift()!);
            const n = p.c.sendData(cid, pending);
            pending = pending.subarray(n);
            if (pending.length > 0) return;
          }
        };
        p.cs.onEvent = (e) => {
          if (e.type === 'channelWindow') pump();
        };
        pump();
        for (let guard = 0; guard < 100000; guard++) {
          p.run();
          if (unconsumed === 0) break;
          const n = Math.min(unconsumed, consumeSizes[k++ % consumeSizes.length]!);
          unconsumed -= n;
          p.s.consume(sid, n);
        }
        p.run();
        assert.equal(p.ss.failure, null);
        assert.equal(p.cs.failure, null);
        assert.ok(Buffer.concat(received).equals(expected));
      },
    ),
    { numRuns: 60 },
  );
});

test('close before confirmation: CLOSE follows the confirmation, then channelClose', () => {
  const p = pair();
  p.ss.onEvent = (e) => {
    if (e.type === 'channelOpenRequest') p.s.acceptChannel(e.id);
  };
  const id = p.c.openChannel('session');
  p.c.close(id);
  p.run();
  assert.deepEqual(p.cs.events, [{ type: 'channelClose', id }]);
  assert.deepEqual(p.c.channelIds, []);
  assert.deepEqual(p.s.channelIds, []);
});

/** Feeds raw messages to a server layer that has one open channel (local 0, peer's id 5). */
function rawServer(opts: Partial<ConnectionOptions> = {}): { s: ConnectionLayer; side: Side } {
  const side = new Side([]);
  const s = new ConnectionLayer(side, { role: 'server', windowSize: 100, maxPacketSize: 50, ...opts });
  side.onEvent = (e) => {
    if (e.type === 'channelOpenRequest') s.acceptChannel(e.id);
  };
  s.handle(encodeConnectionMessage({ msg: 'channelOpen', channelType: 'session', sender: 5, window: 1000, maxPacket: 100, typeData: new Uint8Array(0) }));
  assert.deepEqual(s.channelIds, [0]);
  return { s, side };
}

const enc = encodeConnectionMessage;
const data = (n: number, recipient = 0): Uint8Array => enc({ msg: 'channelData', recipient, data: new Uint8Array(n) });

const bad: Array<[string, Uint8Array[]]> = [
  ['data for an unknown channel', [data(1, 7)]],
  ['oversized data packet', [data(51)]],
  ['window overrun', [data(50), data(50), data(1)]],
  ['extended data overrun', [data(50), enc({ msg: 'channelExtendedData', recipient: 0, dataType: 1, data: new Uint8Array(51) })]],
  ['data after EOF', [enc({ msg: 'channelEof', recipient: 0 }), data(1)]],
  ['second EOF', [enc({ msg: 'channelEof', recipient: 0 }), enc({ msg: 'channelEof', recipient: 0 })]],
  ['message after the channel closed', [enc({ msg: 'channelClose', recipient: 0 }), data(1)]],
  ['unsolicited channel success', [enc({ msg: 'channelSuccess', recipient: 0 })]],
  ['unsolicited global reply', [enc({ msg: 'requestFailure' })]],
  ['confirmation for an open channel', [enc({ msg: 'channelOpenConfirmation', recipient: 0, sender: 1, window: 1, maxPacket: 1, typeData: new Uint8Array(0) })]],
  ['window adjust overflow', [enc({ msg: 'channelWindowAdjust', recipient: 0, bytes: 0xffffffff })]],
  ['request for an unknown channel', [enc({ msg: 'channelRequest', recipient: 3, requestType: 'shell', wantReply: true, data: new Uint8Array(0) })]],
  ['open with maximum packet 0', [enc({ msg: 'channelOpen', channelType: 'session', sender: 1, window: 1, maxPacket: 0, typeData: new Uint8Array(0) })]],
  ['truncated window adjust', [enc({ msg: 'channelWindowAdjust', recipient: 0, bytes: 1 }).subarray(0, 7)]],
  ['trailing bytes on EOF', [Uint8Array.of(96, 0, 0, 0, 0, 1)]],
  ['an auth message number', [Uint8Array.of(50)]],
];

for (const [what, msgs] of bad) {
  test(`protocol error: ${what}`, () => {
    const { s, side } = rawServer();
    for (const m of msgs) s.handle(m);
    assert.ok(side.failure instanceof ProtocolError, `got ${side.failure?.message ?? 'no failure'}`);
    const sent = side.sent.length;
    s.handle(data(1));
    assert.equal(side.sent.length, sent, 'silent after failure');
  });
}

test('the window is not overrun by exactly filling it; data after our CLOSE is accepted and dropped', () => {
  const { s, side } = rawServer();
  s.handle(data(50));
  s.handle(data(50));
  assert.equal(side.failure, null);
  s.close(0);
  const events = side.events.length;
  s.consume(0, 100);
  assert.equal(side.sentMessages().filter((m) => m.msg === 'channelWindowAdjust').length, 0, 'no adjust after CLOSE');
  s.handle(enc({ msg: 'channelRequest', recipient: 0, requestType: 'exit-status', wantReply: true, data: Uint8Array.of(0, 0, 0, 0) }));
  assert.equal(side.events.length, events);
  s.handle(enc({ msg: 'channelClose', recipient: 0 }));
  assert.deepEqual(side.events.at(-1), { type: 'channelClose', id: 0 });
  assert.equal(side.failure, null);
});

test('API misuse throws RangeError/TypeError naming the argument', () => {
  const { s } = rawServer();
  assert.throws(() => s.sendData(9, new Uint8Array(1)), /id: no channel 9/);
  assert.throws(() => s.openChannel(''), TypeError);
  assert.throws(() => new ConnectionLayer(new Side([]), { role: 'client', windowSize: 0 }), /windowSize/);
  s.sendEof(0);
  assert.throws(() => s.sendData(0, new Uint8Array(1)), /EOF/);
});

test('a channel the peer closed keeps its id until its batch is dispatched; calls for it meanwhile are no-ops', () => {
  const p = pair();
  const [cid, sid] = openSession(p);
  p.c.eventsTaken(); // the batch before the close
  p.s.sendData(sid, Buffer.from('bye'));
  p.s.close(sid);
  const before = p.cs.sent.length;
  // Deliver DATA and CLOSE to the client as one batch (the events are not dispatched yet).
  p.run = () => undefined;
  const deliver = p.ss.sent.slice(-2);
  for (const m of deliver) p.c.handle(m);
  assert.deepEqual(p.cs.events.slice(-2).map((e) => e.type), ['channelData', 'channelClose']);
  const after = p.cs.sent.length;
  assert.equal(after, before + 1, 'the client answered CLOSE');
  // While the batch is dispatched: calls for the closed id do nothing and do not throw.
  assert.equal(p.c.sendData(cid, Buffer.from('late')), 4, 'swallowed');
  p.c.consume(cid, 3);
  p.c.sendEof(cid);
  p.c.sendRequest(cid, 'signal', false);
  assert.equal(p.c.replyRequest(cid, true), false);
  p.c.close(cid);
  assert.equal(p.cs.sent.length, after, 'nothing sent for the closed channel');
  assert.deepEqual(p.c.channelIds, []);
  // A channel opened meanwhile does not take the id: later events of the batch still name the old channel.
  const other = p.c.openChannel('session');
  assert.notEqual(other, cid);
  p.c.eventsTaken(); // the batch with the close is handed out
  assert.notEqual(p.c.openChannel('session'), cid, 'still reserved while that batch is dispatched');
  p.c.eventsTaken(); // ... and dispatched
  assert.equal(p.c.openChannel('session'), cid, 'free again');
  assert.equal(p.cs.failure, null);
});

test('a message for a channel the peer already closed is a protocol error, though its id is still reserved', () => {
  const p = pair();
  const [cid, sid] = openSession(p);
  p.s.close(sid);
  const close = p.ss.sent.at(-1)!;
  p.c.handle(close);
  p.c.handle(encodeConnectionMessage({ msg: 'channelData', recipient: cid, data: Uint8Array.of(1) }));
  assert.ok(p.cs.failure instanceof ProtocolError);
  assert.match(p.cs.failure.message, /unknown channel/);
});
