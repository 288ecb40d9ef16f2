import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type SessionRequest,
  TerminalMode,
  decodeSessionRequest,
  decodeTcpipChannelData,
  decodeTerminalModes,
  decodeX11ChannelData,
  encodeSessionRequest,
  encodeTcpipChannelData,
  encodeTerminalModes,
  encodeX11ChannelData,
} from '../../src/protocol/session-requests.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const s = (t: string): string => Buffer.from(t).length.toString(16).padStart(8, '0') + hex(Buffer.from(t));

// Hand-assembled from the layouts in RFC 4254 §6.2, §6.7, §6.10, RFC 4335 §3, §8 (modes).
const vectors: Array<[SessionRequest, string]> = [
  [
    { type: 'pty-req', termType: 'xterm', cols: 80, rows: 24, widthPx: 640, heightPx: 480, modes: { [TerminalMode.ECHO]: 1, [TerminalMode.TTY_OP_ISPEED]: 38400 } },
    s('xterm') + '00000050 00000018 00000280 000001e0' + '0000000b' + '35 00000001' + '80 00009600' + '00',
  ],
  [{ type: 'window-change', cols: 132, rows: 43, widthPx: 0, heightPx: 0 }, '00000084 0000002b 00000000 00000000'],
  [{ type: 'exit-signal', signal: 'KILL', coreDumped: true, message: 'killed', lang: '' }, s('KILL') + '01' + s('killed') + '00000000'],
  [{ type: 'exit-status', status: 127 }, '0000007f'],
  [{ type: 'break', breakLength: 500 }, '000001f4'],
  [{ type: 'x11-req', singleConnection: false, authProtocol: 'MIT-MAGIC-COOKIE-1', authCookie: 'ab12', screen: 0 }, '00' + s('MIT-MAGIC-COOKIE-1') + s('ab12') + '00000000'],
  [{ type: 'env', name: 'LANG', value: 'C.UTF-8' }, s('LANG') + s('C.UTF-8')],
  [{ type: 'exec', command: 'uname -a' }, s('uname -a')],
  [{ type: 'subsystem', name: 'sftp' }, s('sftp')],
  [{ type: 'signal', signal: 'TERM' }, s('TERM')],
  [{ type: 'xon-xoff', clientCanDo: true }, '01'],
  [{ type: 'shell' }, ''],
  [{ type: 'auth-agent-req@openssh.com' }, ''],
];

for (const [req, h] of vectors) {
  test(`vector: ${req.type}`, () => {
    const { requestType, data } = encodeSessionRequest(req);
    assert.equal(requestType, req.type);
    assert.equal(hex(data), h.replace(/\s+/g, ''));
    assert.deepEqual(decodeSessionRequest(req.type, fromHex(h)), req);
  });
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const str = fc.string({ maxLength: 30 });
const modes = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 159 }), u32), { maxLength: 10 })
  .map((pairs) => Object.fromEntries(pairs) as Record<number, number>);
const requestArb: fc.Arbitrary<SessionRequest> = fc.oneof(
  fc.tuple(str, u32, u32, u32, u32, modes).map(([termType, cols, rows, widthPx, heightPx, m]): SessionRequest => ({ type: 'pty-req', termType, cols, rows, widthPx, heightPx, modes: m })),
  fc.tuple(fc.boolean(), str, str, u32).map(([singleConnection, authProtocol, authCookie, screen]): SessionRequest => ({ type: 'x11-req', singleConnection, authProtocol, authCookie, screen })),
  fc.tuple(str, str).map(([name, value]): SessionRequest => ({ type: 'env', name, value })),
  fc.constant<SessionRequest>({ type: 'shell' }),
  str.map((command): SessionRequest => ({ type: 'exec', command })),
  str.map((name): SessionRequest => ({ type: 'subsystem', name })),
  fc.tuple(u32, u32, u32, u32).map(([cols, rows, widthPx, heightPx]): SessionRequest => ({ type: 'window-change', cols, rows, widthPx, heightPx })),
  fc.boolean().map((clientCanDo): SessionRequest => ({ type: 'xon-xoff', clientCanDo })),
  str.map((signal): SessionRequest => ({ type: 'signal', signal })),
  u32.map((status): SessionRequest => ({ type: 'exit-status', status })),
  fc.tuple(str, fc.boolean(), str, str).map(([signal, coreDumped, message, lang]): SessionRequest => ({ type: 'exit-signal', signal, coreDumped, message, lang })),
  u32.map((breakLength): SessionRequest => ({ type: 'break', breakLength })),
  fc.constant<SessionRequest>({ type: 'auth-agent-req@openssh.com' }),
);

test('property: decode(encode(r)) for every session request', () => {
  fc.assert(
    fc.property(requestArb, (req) => {
      const { requestType, data } = encodeSessionRequest(req);
      assert.deepEqual(decodeSessionRequest(requestType, data), req);
    }),
    { numRuns: 500 },
  );
});

test('property: tcpip and x11 channel open data round trip', () => {
  fc.assert(
    fc.property(str, u32, str, u32, (host, port, originatorAddress, originatorPort) => {
      const d = { host, port, originatorAddress, originatorPort };
      assert.deepEqual(decodeTcpipChannelData(encodeTcpipChannelData(d)), d);
      assert.deepEqual(decodeTcpipChannelData(encodeTcpipChannelData(d), 'forwarded-tcpip'), d);
      assert.deepEqual(decodeX11ChannelData(encodeX11ChannelData(originatorAddress, originatorPort)), { originatorAddress, originatorPort });
    }),
  );
  // RFC 4254 §7.2 layout: string host, uint32 port, string originator IP, uint32 originator port
  assert.equal(
    hex(encodeTcpipChannelData({ host: 'db', port: 5432, originatorAddress: '127.0.0.1', originatorPort: 40000 })),
    s('db') + '00001538' + s('127.0.0.1') + '00009c40',
  );
});

test('terminal modes: parsing stops at TTY_OP_END or at an opcode >= 160 (RFC 4254 §8)', () => {
  assert.deepEqual(decodeTerminalModes(fromHex('35 00000000 00 36 00000001')), { 53: 0 });
  assert.deepEqual(decodeTerminalModes(fromHex('35 00000001 a0 ffff')), { 53: 1 });
  assert.deepEqual(decodeTerminalModes(new Uint8Array(0)), {});
  assert.throws(() => decodeTerminalModes(fromHex('35 0000')), ProtocolError);
  assert.throws(() => encodeTerminalModes({ 0: 1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ 160: 1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ 53: -1 }), RangeError);
});

test('unknown request types decode to null', () => {
  assert.equal(decodeSessionRequest('keepalive@openssh.com', new Uint8Array(0)), null);
  assert.equal(decodeSessionRequest('eow@openssh.com', new Uint8Array(0)), null);
});

const malformed: Array<[string, string, string]> = [
  ['exit-status', 'truncated', '0000'],
  ['exit-status', 'trailing byte', '00000000 00'],
  ['shell', 'trailing byte', '00'],
  ['exec', 'length beyond data', '000000ff 6c73'],
  ['exec', 'invalid UTF-8', '00000001 ff'],
  ['exit-signal', 'missing language tag', s('KILL') + '00' + s('')],
  ['pty-req', 'modes string truncated', s('xterm') + '00000050 00000018 00000000 00000000 00000010 35'],
  ['pty-req', 'huge TERM length', 'ffffffff'],
  ['window-change', 'three fields', '00000050 00000018 00000000'],
  ['signal', 'empty', ''],
  ['break', 'trailing', '000001f4 00'],
  ['xon-xoff', 'missing flag', ''],
  ['env', 'missing value', s('LANG')],
];

for (const [type, what, h] of malformed) {
  test(`malformed ${type}: ${what} -> ProtocolError`, () => {
    assert.throws(() => decodeSessionRequest(type, fromHex(h)), ProtocolError);
  });
}

test('malformed channel open data -> ProtocolError', () => {
  assert.throws(() => decodeTcpipChannelData(fromHex(s('db') + '00001538')), ProtocolError);
  assert.throws(() => decodeTcpipChannelData(fromHex(s('db') + '00001538' + s('a') + '00000001 00')), ProtocolError);
  assert.throws(() => decodeX11ChannelData(fromHex(s('a'))), ProtocolError);
});

test('encoders reject values that are not uint32', () => {
  assert.throws(() => encodeSessionRequest({ type: 'exit-status', status: -1 }), /status/);
  assert.throws(() => encodeSessionRequest({ type: 'window-change', cols: 1.5, rows: 1, widthPx: 0, heightPx: 0 }), /cols/);
  assert.throws(() => encodeTcpipChannelData({ host: 'h', port: 70000 * 70000, originatorAddress: '', originatorPort: 0 }), /port/);
});
