import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkKeyPermission,
  getKeyOption,
  importAuthorizedKeys,
  matchAuthorizedCa,
  matchAuthorizedKey,
  parseExpiryTime,
} from '../../src/protocol/authorized-keys.js';
import { encodeBase64 } from '../../src/protocol/known-hosts.js';

function blob(type: string, fill: number): Uint8Array {
  const t = new TextEncoder().encode(type);
  const b = new Uint8Array(4 + t.length + 4 + 32);
  new DataView(b.buffer).setUint32(0, t.length);
  b.set(t, 4);
  new DataView(b.buffer).setUint32(4 + t.length, 32);
  b.fill(fill, 8 + t.length);
  return b;
}
const ED = 'ssh-ed25519';
const key = (n: number) => `${ED} ${encodeBase64(blob(ED, n))}`;
const NOW = Date.UTC(2030, 0, 1);
const ctx = { clientAddr: '192.0.2.7', now: NOW };

test('options parse as OpenSSH documents them (sshd(8) AUTHORIZED_KEYS FILE FORMAT)', () => {
  const text = [
    `${key(1)} plain@key`,
    `command="echo \\"hi, there\\"; ls",no-pty,NO-X11-FORWARDING ${key(2)} c`,
    `restrict,pty,environment="A=1",environment="A=2",environment="B=x y",permitopen="h:80",permitopen="[::1]:*",permitlisten="8080",permitlisten="localhost:9000" ${key(3)}`,
    `from="*.example.com,!bad.example.com,10.0.0.0/8",principals="alice,bob",expiry-time="20300101Z",expiry-time="20291231Z" ${key(4)}`,
    `cert-authority,principals="ops" ${key(5)} ca`,
    `no-agent-forwarding,no-port-forwarding,no-user-rc,tunnel="3",verify-required ${key(6)}`,
  ].join('\n');
  const ak = importAuthorizedKeys(text);
  assert.deepEqual(ak.errors, []);
  const [e1, e2, e3, e4, e5, e6] = ak.entries;
  assert.equal(e1!.comment, 'plain@key');
  assert.ok(['pty', 'port-forwarding', 'agent-forwarding', 'x11-forwarding', 'user-rc'].every((p) => checkKeyPermission(e1!, p as 'pty')));
  assert.equal(getKeyOption(e2!, 'command'), 'echo "hi, there"; ls');
  assert.equal(checkKeyPermission(e2!, 'pty'), false);
  assert.equal(checkKeyPermission(e2!, 'x11-forwarding'), false);
  assert.equal(checkKeyPermission(e2!, 'agent-forwarding'), true);
  assert.equal(getKeyOption(e3!, 'restrict'), true);
  assert.equal(checkKeyPermission(e3!, 'pty'), true, 'restrict then pty re-enables pty');
  assert.equal(checkKeyPermission(e3!, 'port-forwarding'), false);
  assert.deepEqual(getKeyOption(e3!, 'environment'), { A: '1', B: 'x y' });
  assert.deepEqual(getKeyOption(e3!, 'permitopen'), ['h:80', '[::1]:*']);
  assert.deepEqual(getKeyOption(e3!, 'permitlisten'), ['8080', 'localhost:9000']);
  assert.equal(getKeyOption(e4!, 'principals'), 'alice,bob');
  assert.equal(getKeyOption(e4!, 'expiry-time'), Date.UTC(2029, 11, 31), 'earliest expiry-time wins');
  assert.equal(getKeyOption(e5!, 'cert-authority'), true);
  assert.equal(getKeyOption(e6!, 'tunnel'), 3);
  assert.equal(getKeyOption(e6!, 'verify-required'), true);
  assert.equal(checkKeyPermission(e6!, 'user-rc'), false);
  assert.equal(checkKeyPermission(null, 'pty'), true);
  assert.throws(() => checkKeyPermission(e1!, 'bogus' as 'pty'), TypeError);
});

test('matching honours from=, expiry-time and file order; CA lines only for CAs', () => {
  const text = [
    `from="10.0.0.0/8" ${key(1)} first`,
    `from="192.0.2.0/24,!192.0.2.99" ${key(1)} second`,
    `expiry-time="202001010000Z" ${key(2)}`,
    `from="*.example.com" ${key(3)}`,
    `cert-authority ${key(4)}`,
  ].join('\n');
  const ak = importAuthorizedKeys(text);
  assert.equal(matchAuthorizedKey(ak, blob(ED, 1), ctx)?.comment, 'second');
  assert.equal(matchAuthorizedKey(ak, blob(ED, 1), { ...ctx, clientAddr: '10.1.2.3' })?.comment, 'first');
  assert.equal(matchAuthorizedKey(ak, blob(ED, 1), { ...ctx, clientAddr: '192.0.2.99' }), null);
  assert.equal(matchAuthorizedKey(ak, blob(ED, 2), ctx), null, 'expired');
  assert.ok(matchAuthorizedKey(ak, blob(ED, 2), { ...ctx, now: Date.UTC(2019, 11, 31) }));
  assert.equal(matchAuthorizedKey(ak, blob(ED, 3), ctx), null);
  assert.ok(matchAuthorizedKey(ak, blob(ED, 3), { ...ctx, clientHost: 'ws.example.com' }));
  assert.equal(matchAuthorizedKey(ak, blob(ED, 4), ctx), null, 'a CA key is not a user key');
  assert.ok(matchAuthorizedCa(ak, blob(ED, 4), ctx));
  assert.equal(matchAuthorizedKey(ak, blob(ED, 9), ctx), null);
});

test('expiry-time formats', () => {
  assert.equal(parseExpiryTime('20240229Z'), Date.UTC(2024, 1, 29));
  assert.equal(parseExpiryTime('202402291230Z'), Date.UTC(2024, 1, 29, 12, 30));
  assert.equal(parseExpiryTime('20240229123045Z'), Date.UTC(2024, 1, 29, 12, 30, 45));
  assert.equal(parseExpiryTime('20240229'), new Date(2024, 1, 29).getTime());
  for (const bad of ['2024', '2024022', '20241301', '202402291260', 'x0240229']) assert.equal(parseExpiryTime(bad), null, bad);
});

test('malformed lines are reported with line numbers and skipped', () => {
  const rows: [string, RegExp][] = [
    [`bogus-option ${key(1)}`, /unknown option "bogus-option"/],
    [`command=ls ${key(1)}`, /double quotes/],
    [`command="ls ${key(1)}`, /unterminated quote/],
    [`command="a",command="b" ${key(1)}`, /multiple "command"/],
    [`from="a",from="b" ${key(1)}`, /multiple "from"/],
    [`no-pty="x" ${key(1)}`, /takes no value/],
    [`environment ${key(1)}`, /needs a value/],
    [`environment="=x" ${key(1)}`, /NAME=value/],
    [`permitopen="nohost" ${key(1)}`, /not host:port/],
    [`expiry-time="tomorrow" ${key(1)}`, /invalid time/],
    [`no-pty, ${key(1)}`, /trailing comma/],
    [`command="x"y ${key(1)}`, /unexpected "y"/],
    [`no-pty ssh-ed25519`, /missing key type or key data/],
    [`${ED} AAAA`, /too short/],
    [`${ED} ${encodeBase64(blob('ssh-rsa', 1))}`, /does not match/],
    [`tunnel="x" ${key(1)}`, /not a number/],
  ];
  const text = ['# c', '   ', ...rows.map((r) => r[0]), key(7)].join('\n');
  const ak = importAuthorizedKeys(text);
  assert.equal(ak.entries.length, 1);
  assert.equal(ak.entries[0]!.line, rows.length + 3);
  assert.equal(ak.errors.length, rows.length);
  rows.forEach(([, re], i) => {
    assert.equal(ak.errors[i]!.line, i + 3, rows[i]![0]);
    assert.match(ak.errors[i]!.message, re, rows[i]![0]);
  });
  assert.throws(() => importAuthorizedKeys(undefined as unknown as string), TypeError);
});
