import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type ConnectionMessage, decodeConnectionMessage, encodeConnectionMessage } from '../../src/protocol/connection-messages.js';
import {
  decodeForwardPort,
  decodeStringList,
  decodeTcpipForward,
  encodeForwardPort,
  encodeStringList,
  encodeTcpipForward,
} from '../../src/protocol/global-requests.js';
import { ReplyQueue } from '../../src/protocol/connection-reply-queue.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

// Layouts assembled by hand from RFC 4254 §5.1, §5.2, §5.4.
const vectors: Array<[ConnectionMessage, string]> = [
  [
    { msg: 'channelOpen', channelType: 'session', sender: 0, window: 0x200000, maxPacket: 0x8000, typeData: new Uint8Array(0) },
    '5a 00000007 73657373696f6e 00000000 00200000 00008000',
  ],
  [
    { msg: 'channelOpenConfirmation', recipient: 3, sender: 1, window: 65536, maxPacket: 16384, typeData: new Uint8Array(0) },
    '5b 00000003 00000001 00010000 00004000',
  ],
  [{ msg: 'channelOpenFailure', recipient: 2, reason: 1, description: 'no', lang: '' }, '5c 00000002 00000001 00000002 6e6f 00000000'],
  [{ msg: 'channelWindowAdjust', recipient: 1, bytes: 0xffffffff }, '5d 00000001 ffffffff'],
  [{ msg: 'channelData', recipient: 0, data: Uint8Array.of(0x68, 0x69) }, '5e 00000000 00000002 6869'],
  [{ msg: 'channelExtendedData', recipient: 0, dataType: 1, data: Uint8Array.of(0x21) }, '5f 00000000 00000001 00000001 21'],
  [{ msg: 'channelEof', recipient: 9 }, '60 00000009'],
  [{ msg: 'channelClose', recipient: 9 }, '61 00000009'],
  [{ msg: 'channelRequest', recipient: 0, requestType: 'shell', wantReply: true, data: new Uint8Array(0) }, '62 00000000 00000005 7368656c6c 01'],
  [{ msg: 'channelSuccess', recipient: 4 }, '63 00000004'],
  [{ msg: 'channelFailure', recipient: 4 }, '64 00000004'],
  [{ msg: 'globalRequest', name: 'keepalive@openssh.com', wantReply: true, data: new Uint8Array(0) }, '50 00000015 ' + hex(Buffer.from('keepalive@openssh.com')) + ' 01'],
  [{ msg: 'requestSuccess', data: Uint8Array.of(0, 0, 0x1f, 0x90) }, '51 00001f90'],
  [{ msg: 'requestFailure' }, '52'],
];

for (const [m, h] of vectors) {
  test(`vector: ${m.msg}`, () => {
    assert.equal(hex(encodeConnectionMessage(m)), h.replace(/\s+/g, ''));
    assert.deepEqual(decodeConnectionMessage(fromHex(h)), m);
  });
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 80 });
const name = fc.string({ maxLength: 30 });
const messageArb: fc.Arbitrary<ConnectionMessage> = fc.oneof(
  fc.tuple(name, fc.boolean(), bytes).map(([n, wantReply, data]): ConnectionMessage => ({ msg: 'globalRequest', name: n, wantReply, data })),
  bytes.map((data): ConnectionMessage => ({ msg: 'requestSuccess', data })),
  fc.constant<ConnectionMessage>({ msg: 'requestFailure' }),
  fc.tuple(name, u32, u32, u32, bytes).map(([channelType, sender, window, maxPacket, typeData]): ConnectionMessage => ({ msg: 'channelOpen', channelType, sender, window, maxPacket, typeData })),
  fc.tuple(u32, u32, u32, u32, bytes).map(([recipient, sender, window, maxPacket, typeData]): ConnectionMessage => ({ msg: 'channelOpenConfirmation', recipient, sender, window, maxPacket, typeData })),
  fc.tuple(u32, u32, name, name).map(([recipient, reason, description, lang]): ConnectionMessage => ({ msg: 'channelOpenFailure', recipient, reason, description, lang })),
  fc.tuple(u32, u32).map(([recipient, b]): ConnectionMessage => ({ msg: 'channelWindowAdjust', recipient, bytes: b })),
  fc.tuple(u32, bytes).map(([recipient, data]): ConnectionMessage => ({ msg: 'channelData', recipient, data })),
  fc.tuple(u32, u32, bytes).map(([recipient, dataType, data]): ConnectionMessage => ({ msg: 'channelExtendedData', recipient, dataType, data })),
  u32.map((recipient): ConnectionMessage => ({ msg: 'channelEof', recipient })),
  u32.map((recipient): ConnectionMessage => ({ msg: 'channelClose', recipient })),
  fc.tuple(u32, name, fc.boolean(), bytes).map(([recipient, requestType, wantReply, data]): ConnectionMessage => ({ msg: 'channelRequest', recipient, requestType, wantReply, data })),
  u32.map((recipient): ConnectionMessage => ({ msg: 'channelSuccess', recipient })),
  u32.map((recipient): ConnectionMessage => ({ msg: 'channelFailure', recipient })),
);

test('property: decode(encode(m)) for every connection message', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      assert.deepEqual(decodeConnectionMessage(encodeConnectionMessage(m)), m);
    }),
    { numRuns: 500 },
  );
});

const malformed: Array<[string, string]> = [
  ['empty payload', ''],
  ['not a connection message', '14'],
  ['truncated CHANNEL_OPEN', '5a 00000007 73657373696f6e 00000000 0020'],
  ['CHANNEL_DATA length beyond payload', '5e 00000000 00000010 6869'],
  ['CHANNEL_DATA trailing byte', '5e 00000000 00000001 68 69'],
  ['CHANNEL_EOF trailing byte', '60 00000001 00'],
  ['CHANNEL_CLOSE truncated', '61 000000'],
  ['WINDOW_ADJUST truncated', '5d 00000001 ffff'],
  ['REQUEST_FAILURE with data', '52 00'],
  ['CHANNEL_REQUEST without want-reply', '62 00000000 00000005 7368656c6c'],
  ['OPEN_FAILURE without language tag', '5c 00000002 00000001 00000000'],
  ['CHANNEL_SUCCESS trailing', '63 00000004 00'],
  ['GLOBAL_REQUEST name invalid UTF-8', '50 00000001 ff 00'],
];

for (const [what, h] of malformed) {
  test(`malformed: ${what} -> ProtocolError`, () => {
    assert.throws(() => decodeConnectionMessage(fromHex(h)), ProtocolError);
  });
}

test('global request payloads: tcpip-forward, bound port, hostkeys string list', () => {
  // RFC 4254 §7.1: string address to bind, uint32 port number to bind
  assert.equal(hex(encodeTcpipForward({ address: 'localhost', port: 8080 })), '00000009' + hex(Buffer.from('localhost')) + '00001f90');
  fc.assert(
    fc.property(name, u32, fc.array(bytes, { maxLength: 5 }), (address, port, list) => {
      assert.deepEqual(decodeTcpipForward(encodeTcpipForward({ address, port })), { address, port });
      assert.equal(decodeForwardPort(encodeForwardPort(port)), port);
      assert.deepEqual(decodeStringList(encodeStringList(list)), list);
    }),
  );
  assert.throws(() => decodeTcpipForward(fromHex('00000000 0000')), ProtocolError);
  assert.throws(() => decodeForwardPort(fromHex('00000001 00')), ProtocolError);
  assert.throws(() => decodeStringList(fromHex('00000005 00')), ProtocolError);
  assert.throws(() => decodeStringList(encodeStringList([Uint8Array.of(1), Uint8Array.of(2)]), 1), ProtocolError);
});

test('reply queue releases answers in request order', () => {
  const q = new ReplyQueue();
  const a = q.push();
  const b = q.push();
  q.push({ ok: false });
  assert.ok(q.answer({ ok: true }, b));
  assert.deepEqual(q.drain(), []);
  assert.ok(q.answer({ ok: true }, a));
  assert.deepEqual(q.drain(), [{ ok: true }, { ok: true }, { ok: false }]);
  assert.equal(q.answer({ ok: true }), false);
  assert.equal(q.answer({ ok: true }, a), false);
});
