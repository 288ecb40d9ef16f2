import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHostKey,
  decodeBase64,
  encodeBase64,
  entryMatchesName,
  formatKnownHostsLine,
  importKnownHosts,
  knownHostsName,
  matchKnownHosts,
} from '../../src/protocol/known-hosts.js';
import { matchAddressList, matchHostAndAddress, matchHostList, matchPattern } from '../../src/protocol/host-pattern.js';

const hmacSha1 = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha1', k).update(d).digest());
const hasKeygen = spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error === undefined;
const SKIP_KEYGEN = hasKeygen ? false : 'SKIPPED: needs Debian package openssh-client (ssh-keygen)';

/** A syntactically valid key blob of a given type (opaque to known_hosts). */
function fakeBlob(type: string, fill: number): Uint8Array {
  const t = new TextEncoder().encode(type);
  const b = new Uint8Array(4 + t.length + 4 + 32);
  new DataView(b.buffer).setUint32(0, t.length);
  b.set(t, 4);
  new DataView(b.buffer).setUint32(4 + t.length, 32);
  b.fill(fill, 8 + t.length);
  return b;
}
const keyLine = (blob: Uint8Array, type: string) => `${type} ${encodeBase64(blob)}`;

test('base64 round-trips and rejects non-canonical input', () => {
  for (let n = 0; n < 40; n++) {
    const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
    assert.equal(encodeBase64(b), Buffer.from(b).toString('base64'));
    assert.deepEqual(decodeBase64(Buffer.from(b).toString('base64')), b);
  }
  for (const bad of ['A', 'AB=C', 'A$==', 'AB==AB', 'AQ=', 'AR==']) assert.equal(decodeBase64(bad), null, bad);
});

test('pattern matching follows OpenSSH match_pattern / match_pattern_list', () => {
  const cases: [string, string, boolean][] = [
    ['foo', 'foo', true], ['foo', 'f*', true], ['foo', 'f?o', true], ['foo', '?', false], ['', '*', true],
    ['a.b.c', '*.c', true], ['abc', 'a*b*c', true], ['abc', 'a*d', false], ['aaaaaaaaaaaaaaaaaaaab', '*a*a*a*a*a*c', false],
  ];
  for (const [t, p, want] of cases) assert.equal(matchPattern(t, p), want, `${t} ~ ${p}`);
  assert.equal(matchHostList('Foo.EXAMPLE', '*.example.com,foo.example'), 1);
  assert.equal(matchHostList('bar.example', '*.example,!bar.*'), -1);
  assert.equal(matchHostList('baz', 'foo,bar'), 0);
});

test('address lists: CIDR, negation, wildcards, invalid masks', () => {
  assert.equal(matchAddressList('192.168.1.7', '10.0.0.0/8,192.168.1.0/24'), 1);
  assert.equal(matchAddressList('192.168.1.7', '192.168.0.0/16,!192.168.1.7'), -1);
  assert.equal(matchAddressList('192.168.1.7', '192.168.1.*'), 1);
  assert.equal(matchAddressList('2001:db8::1', '2001:db8::/32'), 1);
  assert.equal(matchAddressList('2001:db9::1', '2001:db8::/32'), 0);
  assert.equal(matchAddressList('::ffff:1.2.3.4', '::ffff:1.2.3.0/120'), 1);
  assert.deepEqual(matchAddressList('10.1.1.1', '10.0.0.1/8'), { invalid: 'address has bits set beyond the mask in "10.0.0.1/8"' });
  assert.ok(typeof matchAddressList('10.1.1.1', '10.0.0.0/33') === 'object');
  assert.equal(matchHostAndAddress('client.example', '10.1.2.3', '*.example'), true);
  assert.equal(matchHostAndAddress('client.example', '10.1.2.3', '*.example,!10.1.0.0/16'), false);
  assert.equal(matchHostAndAddress(null, '10.1.2.3', '10.1.2.3'), true);
});

test('malformed known_hosts lines are reported with line numbers and skipped', () => {
  const good = keyLine(fakeBlob('ssh-ed25519', 1), 'ssh-ed25519');
  const rows: [string, RegExp][] = [
    ['hostonly', /missing key/],
    ['host ssh-ed25519', /missing key type or key data/],
    ['host ssh-ed25519 !!!notbase64', /base64/],
    [`host ssh-rsa ${good.split(' ')[1]}`, /does not match/],
    ['host ssh-ed25519 AAAA', /too short/],
    [`@bogus host ${good}`, /unknown marker/],
    ['@revoked', /marker without/],
    [`|1|abc|def ${good}`, /salt/],
    [`|2|${encodeBase64(new Uint8Array(20))}|${encodeBase64(new Uint8Array(20))} ${good}`, /unsupported hashed/],
    [`a,,b ${good}`, /empty host pattern/],
  ];
  const text = ['# comment', '', ...rows.map((r) => r[0]), `ok.example ${good}`].join('\n');
  const kh = importKnownHosts(text, { hmacSha1 });
  assert.equal(kh.entries.length, 1);
  assert.equal(kh.entries[0]!.line, rows.length + 3);
  assert.equal(kh.errors.length, rows.length);
  rows.forEach(([, re], i) => {
    assert.equal(kh.errors[i]!.line, i + 3);
    assert.match(kh.errors[i]!.message, re);
  });
  assert.throws(() => importKnownHosts(42 as unknown as string, { hmacSha1 }), TypeError);
});

test('checkHostKey: trusted, changed, unknown, revoked, CA', () => {
  const a = fakeBlob('ssh-ed25519', 1);
  const b = fakeBlob('ssh-ed25519', 2);
  const ec256 = fakeBlob('ecdsa-sha2-nistp256', 3);
  const ec384 = fakeBlob('ecdsa-sha2-nistp384', 4);
  const ca = fakeBlob('ssh-ed25519', 9);
  const text = [
    `host.example,10.0.0.5 ${keyLine(a, 'ssh-ed25519')}`,
    `host.example ${keyLine(ec256, 'ecdsa-sha2-nistp256')}`,
    `[host.example]:2222 ${keyLine(b, 'ssh-ed25519')}`,
    `@revoked * ${keyLine(fakeBlob('ssh-ed25519', 7), 'ssh-ed25519')}`,
    `@cert-authority *.example ${keyLine(ca, 'ssh-ed25519')}`,
  ].join('\n');
  const kh = importKnownHosts(text, { hmacSha1 });
  assert.equal(checkHostKey(kh, 'HOST.example', null, 22, a), 'trusted');
  assert.equal(checkHostKey(kh, 'host.example', null, 22, b), 'changed');
  assert.equal(checkHostKey(kh, 'host.example', null, 22, ec384), 'changed', 'ECDSA curves are one family, as OpenSSH');
  assert.equal(checkHostKey(kh, 'host.example', null, 2222, b), 'trusted');
  assert.equal(checkHostKey(kh, 'host.example', null, 2222, a), 'changed');
  assert.equal(checkHostKey(kh, 'other', null, 22, a), 'unknown');
  assert.equal(checkHostKey(kh, 'other', '10.0.0.5', 22, a), 'trusted');
  assert.equal(checkHostKey(kh, 'x', null, 22, fakeBlob('ssh-ed25519', 7)), 'revoked');
  assert.equal(checkHostKey(kh, 'h.example', null, 22, b, { certSigningKey: ca }), 'trusted');
  assert.equal(checkHostKey(kh, 'h.other', null, 22, b, { certSigningKey: ca }), 'unknown');
  const m = matchKnownHosts(kh, 'host.example', null, 22);
  assert.equal(m.trusted.length, 2);
  assert.equal(m.caKeys.length, 1);
  assert.equal(m.revoked.length, 1);
});

test('formatKnownHostsLine: plain and hashed lines read back', () => {
  const a = fakeBlob('ssh-ed25519', 5);
  const salt = new Uint8Array(20).fill(0x42);
  const plain = formatKnownHostsLine('Host.Example', 2200, keyLine(a, 'ssh-ed25519') + ' me@box');
  assert.equal(plain, `[host.example]:2200 ${keyLine(a, 'ssh-ed25519')} me@box`);
  const hashed = formatKnownHostsLine('host.example', 22, keyLine(a, 'ssh-ed25519'), { hashed: true, salt, hmacSha1 });
  const expected = createHmac('sha1', Buffer.from(salt)).update('host.example').digest('base64');
  assert.equal(hashed, `|1|${Buffer.from(salt).toString('base64')}|${expected} ${keyLine(a, 'ssh-ed25519')}`);
  const kh = importKnownHosts(hashed, { hmacSha1 });
  assert.equal(checkHostKey(kh, 'host.example', null, 22, a), 'trusted');
  assert.equal(checkHostKey(kh, 'host.example', null, 23, a), 'unknown');
  assert.throws(() => formatKnownHostsLine('a b', 22, keyLine(a, 'ssh-ed25519')), TypeError);
  assert.throws(() => formatKnownHostsLine('a', 0, keyLine(a, 'ssh-ed25519')), RangeError);
  assert.throws(() => formatKnownHostsLine('a', 22, keyLine(a, 'ssh-ed25519'), { hashed: true }), TypeError);
});

test('matching agrees with ssh-keygen -F on hand-written and ssh-keygen -H hashed files', { skip: SKIP_KEYGEN }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-kh-'));
  try {
    const keys: string[] = [];
    for (const [i, t] of ['ed25519', 'ecdsa', 'ed25519'].entries()) {
      execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-C', `k${i}`, '-f', join(dir, `k${i}`)]);
      keys.push(readFileSync(join(dir, `k${i}.pub`), 'utf8').trim());
    }
    const [k0, k1, k2] = keys as [string, string, string];
    const lines = [
      '# hand-written',
      `plain.example ${k0}`,
      `Mixed.Case.Example,192.0.2.10 ${k1}`,
      `*.wild.example,!bad.wild.example ${k2}`,
      `[ported.example]:2222 ${k0}`,
      `[*.pw.example]:2200 ${k1}`,
      `h?.single ${k2}`,
      `@cert-authority *.ca.example ${k0}`,
      `@revoked revoked.example ${k1}`,
      `10.1.*,!10.1.2.3 ${k2}`,
      '',
      `ported.example ${k2}`,
    ];
    const plainPath = join(dir, 'known_hosts');
    writeFileSync(plainPath, lines.join('\n') + '\n');
    const hashedPath = join(dir, 'known_hosts_hashed');
    copyFileSync(plainPath, hashedPath);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedPath], { stdio: 'ignore' });
    assert.match(readFileSync(hashedPath, 'utf8'), /^\|1\|/m, 'ssh-keygen -H hashed some lines');
    const queries: [string, number][] = [
      ['plain.example', 22], ['PLAIN.example', 22], ['plain.example', 2222], ['mixed.case.example', 22],
      ['192.0.2.10', 22], ['a.wild.example', 22], ['bad.wild.example', 22], ['wild.example', 22],
      ['ported.example', 2222], ['ported.example', 22], ['ported.example', 2223], ['x.pw.example', 2200],
      ['x.pw.example', 22], ['h1.single', 22], ['h12.single', 22], ['a.ca.example', 22], ['revoked.example', 22],
      ['10.1.9.9', 22], ['10.1.2.3', 22], ['nothing.example', 22],
    ];
    let matched = 0;
    for (const path of [plainPath, hashedPath]) {
      const kh = importKnownHosts(readFileSync(path, 'utf8'), { hmacSha1 });
      assert.deepEqual(kh.errors, []);
      for (const [host, port] of queries) {
        const name = knownHostsName(host, port);
        const r = spawnSync('ssh-keygen', ['-F', name, '-f', path], { encoding: 'utf8' });
        const theirs = [...r.stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
        const ours = kh.entries.filter((e) => entryMatchesName(e, name, hmacSha1)).map((e) => e.line);
        assert.deepEqual(ours, theirs, `${path} ${name}`);
        matched += theirs.length;
      }
    }
    assert.ok(matched >= 20, `ssh-keygen -F found ${matched} lines in all`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fingerprint helper input: SHA256 of the blob as ssh-keygen -l prints', { skip: SKIP_KEYGEN }, async () => {
  const { sha256Fingerprint } = await import('../../src/actors/known-hosts-policy.js');
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-fp-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const pub = readFileSync(join(dir, 'k.pub'), 'utf8');
    const blob = decodeBase64(pub.split(' ')[1]!)!;
    const theirs = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
    assert.equal(sha256Fingerprint(blob), theirs);
    assert.equal(theirs, 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
