/**
 * The pure parts of forwarding: the SOCKS request parser (RFC 1928 and the
 * SOCKS4/4a notes), the streamlocal payloads (OpenSSH PROTOCOL §2.4/§2.5),
 * X11 setup cookie rewriting (X Window System Protocol, "Connection Setup"),
 * $DISPLAY and ProxyJump parsing. Tables of accepted and refused inputs, and a
 * property test that any split of a request gives the same result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSocks, socksConnectReply, type SocksState, type SocksStep } from '../../src/actors/socks-server.js';
import {
  decodeDirectStreamlocal,
  decodeForwardedStreamlocal,
  decodeStreamlocalForward,
  encodeDirectStreamlocal,
  encodeForwardedStreamlocal,
  encodeStreamlocalForward,
} from '../../src/protocol/streamlocal.js';
import { encodeX11Request, parseDisplay, rewriteX11Setup } from '../../src/actors/x11-forward.js';
import { parseJumpHosts } from '../../src/actors/tunnel.js';
import { bindAddress } from '../../src/actors/forward-server.js';

const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Feeds a whole SOCKS exchange through the parser and collects what it decided. */
function runSocks(bytes: Uint8Array): SocksStep[] {
  let state: SocksState = { kind: 'start' };
  let buf = bytes;
  const steps: SocksStep[] = [];
  for (;;) {
    const step = parseSocks(state, buf);
    steps.push(step);
    if (step.kind !== 'reply') return steps;
    buf = buf.subarray(step.consumed);
    state = step.next;
  }
}

test('SOCKS: accepted CONNECT requests (SOCKS4, 4a, 5 with IPv4/name/IPv6)', () => {
  const cases: [string, string, { version: 4 | 5; host: string; port: number; consumed: number }][] = [
    // SOCKS4: VN=4 CD=1 port=80 ip=192.0.2.1 user "x" NUL
    ['socks4', '04 01 0050 c0000201 78 00', { version: 4, host: '192.0.2.1', port: 80, consumed: 10 }],
    // SOCKS4a: ip 0.0.0.1, empty user, host "example.com" NUL
    ['socks4a', '04 01 01bb 00000001 00 6578616d706c652e636f6d 00', { version: 4, host: 'example.com', port: 443, consumed: 21 }],
    // SOCKS5 domain name, after greeting 05 01 00
    ['socks5 name', '05 01 00  05 01 00 03 09 6c6f63616c686f7374 1f90', { version: 5, host: 'localhost', port: 8080, consumed: 16 }],
    ['socks5 ipv4', '05 02 02 00  05 01 00 01 7f000001 0016', { version: 5, host: '127.0.0.1', port: 22, consumed: 10 }],
    ['socks5 ipv6', '05 01 00  05 01 00 04 00000000000000000000000000000001 0050', { version: 5, host: '0:0:0:0:0:0:0:1', port: 80, consumed: 22 }],
  ];
  for (const [name, bytes, want] of cases) {
    const steps = runSocks(hex(bytes));
    const last = steps.at(-1)!;
    assert.equal(last.kind, 'connect', name);
    if (last.kind === 'connect') assert.deepEqual({ version: last.version, host: last.host, port: last.port, consumed: last.consumed }, want, name);
    if (want.version === 5) {
      const greeting = steps[0]!;
      assert.equal(greeting.kind, 'reply', name);
      if (greeting.kind === 'reply') assert.equal(Buffer.from(greeting.reply).toString('hex'), '0500', `${name}: "no authentication" chosen`);
    }
  }
});

test('SOCKS: refused requests get the protocol reply codes', () => {
  const cases: [string, string, string][] = [
    ['socks4 BIND', '04 02 0050 7f000001 00', '005b000000000000'],
    ['socks4a empty name', '04 01 0050 00000001 00 00', '005b000000000000'],
    ['socks5 only user/pass auth', '05 01 02', '05ff'],
    ['socks5 BIND', '05 01 00  05 02 00 01 7f000001 0050', '05070001000000000000'],
    ['socks5 UDP', '05 01 00  05 03 00 01 7f000001 0050', '05070001000000000000'],
    ['socks5 bad atyp', '05 01 00  05 01 00 07 7f000001 0050', '05080001000000000000'],
    ['socks5 empty name', '05 01 00  05 01 00 03 00 0050', '05010001000000000000'],
    ['socks5 wrong version in request', '05 01 00  04 01 00 01 7f000001 0050', '05010001000000000000'],
    ['unknown version', '47 45 54 20', ''],
  ];
  for (const [name, bytes, reply] of cases) {
    const last = runSocks(hex(bytes)).at(-1)!;
    assert.equal(last.kind, 'fail', name);
    if (last.kind === 'fail') assert.equal(Buffer.from(last.reply).toString('hex'), reply, name);
  }
  assert.equal(Buffer.from(socksConnectReply(4, true)).toString('hex'), '005a000000000000');
  assert.equal(Buffer.from(socksConnectReply(5, false)).toString('hex'), '05050001000000000000');
});

test('SOCKS: truncated requests ask for more; an endless user id is refused', () => {
  for (const bytes of ['', '04', '04 01 0050 7f0000', '04 01 0050 7f000001 7878', '05', '05 03 00 01', '05 01 00  05 01 00 03 09 6c6f']) {
    assert.equal(runSocks(hex(bytes)).at(-1)!.kind, 'need', bytes);
  }
  const long = new Uint8Array(2000).fill(0x41);
  long.set([4, 1, 0, 80, 127, 0, 0, 1]);
  assert.equal(runSocks(long).at(-1)!.kind, 'fail');
});

test('SOCKS: any split of a request into chunks reaches the same decision (property)', () => {
  const request = hex('05 01 00  05 01 00 03 0b 6578616d706c652e6f7267 0050');
  const whole = runSocks(request).at(-1);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: request.length }), { maxLength: 6 }), (cuts) => {
      let state: SocksState = { kind: 'start' };
      let buf = new Uint8Array(0);
      const points = [...new Set(cuts)].sort((a, b) => a - b).concat(request.length);
      let prev = 0;
      let result: SocksStep | undefined;
      for (const p of points) {
        buf = Buffer.concat([buf, request.subarray(prev, p)]);
        prev = p;
        for (;;) {
          const step = parseSocks(state, buf);
          if (step.kind === 'reply') {
            buf = buf.subarray(step.consumed);
            state = step.next;
            continue;
          }
          if (step.kind !== 'need') result = step;
          break;
        }
        if (result) break;
      }
      assert.deepEqual(result, whole);
    }),
  );
});

test('streamlocal payloads: layout per OpenSSH PROTOCOL, round trip, malformed input', () => {
  assert.equal(Buffer.from(encodeDirectStreamlocal('/s')).toString('hex'), '000000022f73' + '00000000' + '00000000');
  assert.equal(Buffer.from(encodeForwardedStreamlocal('/s')).toString('hex'), '000000022f73' + '00000000');
  assert.equal(Buffer.from(encodeStreamlocalForward('/s')).toString('hex'), '000000022f73');
  assert.equal(decodeDirectStreamlocal(encodeDirectStreamlocal('/tmp/a b.sock')), '/tmp/a b.sock');
  assert.equal(decodeForwardedStreamlocal(encodeForwardedStreamlocal('/x')), '/x');
  assert.equal(decodeForwardedStreamlocal(hex('000000022f78')), '/x', 'reserved field may be missing');
  assert.equal(decodeStreamlocalForward(encodeStreamlocalForward('/y')), '/y');
  for (const bad of ['', '00000002 2f', '00000002 2f73 00000000', 'ffffffff 2f73', '000000022f73 00000000 00000000 00']) {
    assert.throws(() => decodeDirectStreamlocal(hex(bad)), /truncated|too long|trailing/, bad);
  }
  assert.throws(() => decodeStreamlocalForward(hex('000000022f73 00')), /trailing/);
});

test('x11: x11-req payload, $DISPLAY parsing, and setup cookie rewriting', () => {
  assert.equal(
    Buffer.from(encodeX11Request(false, 'MIT-MAGIC-COOKIE-1', 'ab', 0)).toString('hex'),
    '00' + '00000012' + Buffer.from('MIT-MAGIC-COOKIE-1').toString('hex') + '00000002' + '6162' + '00000000',
  );
  assert.deepEqual(parseDisplay(':0'), { host: null, display: 0, screen: 0 });
  assert.deepEqual(parseDisplay('unix:3.1'), { host: null, display: 3, screen: 1 });
  assert.deepEqual(parseDisplay('localhost:10.0'), { host: 'localhost', display: 10, screen: 0 });
  assert.deepEqual(parseDisplay('host/unix:2'), { host: null, display: 2, screen: 0 });
  assert.throws(() => parseDisplay('nonsense'), TypeError);

  const fake = { protocol: 'MIT-MAGIC-COOKIE-1', data: Buffer.alloc(16, 0xaa) };
  const real = { protocol: 'MIT-MAGIC-COOKIE-1', data: Buffer.alloc(16, 0x55) };
  const setup = (order: 'B' | 'l', cookie: Buffer): Buffer => {
    const b = Buffer.alloc(12 + 20 + 16);
    b.write(order, 0);
    const w = (o: number, v: number): number => (order === 'B' ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
    w(2, 11);
    w(6, 18);
    w(8, 16);
    b.write('MIT-MAGIC-COOKIE-1', 12);
    cookie.copy(b, 32);
    return b;
  };
  for (const order of ['B', 'l'] as const) {
    const s = setup(order, fake.data);
    assert.equal(rewriteX11Setup(s.subarray(0, 20), fake, real), 'need');
    const r = rewriteX11Setup(Buffer.concat([s, Buffer.from('rest')]), fake, real);
    assert.ok(r && r !== 'need');
    assert.equal(r.consumed, s.length);
    assert.deepEqual(Buffer.from(r.setup), setup(order, real.data), `byte order ${order}`);
    assert.equal(rewriteX11Setup(setup(order, Buffer.alloc(16, 1)), fake, real), null, 'wrong cookie');
  }
  // No real cookie known: the setup goes out with no authentication.
  const none = rewriteX11Setup(setup('l', fake.data), fake, { protocol: '', data: new Uint8Array(0) });
  assert.ok(none && none !== 'need');
  assert.equal(Buffer.from(none.setup).toString('hex'), '6c000b00000000000000' + '0000');
  assert.equal(rewriteX11Setup(Buffer.from('X'.repeat(12)), fake, real), null, 'bad byte order');
});

test('ProxyJump strings and remote bind addresses', () => {
  assert.deepEqual(parseJumpHosts('bastion'), [{ username: undefined, host: 'bastion', port: 22 }]);
  assert.deepEqual(parseJumpHosts('u@b1:2222, ssh://v@b2:23,[::1]:24,w@[fe80::1]'), [
    { username: 'u', host: 'b1', port: 2222 },
    { username: 'v', host: 'b2', port: 23 },
    { username: undefined, host: '::1', port: 24 },
    { username: 'w', host: 'fe80::1', port: 22 },
  ]);
  for (const bad of ['', 'h:0', 'h:99999', 'h:x', '@h', 'a,,b', 'h/x']) assert.throws(() => parseJumpHosts(bad), TypeError, bad);
  assert.equal(bindAddress('', false), '127.0.0.1');
  assert.equal(bindAddress('', true), '');
});
