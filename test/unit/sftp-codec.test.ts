/**
 * SFTP v3 codec: byte layouts from draft-ietf-secsh-filexfer-02 (§3 framing,
 * §4 INIT/VERSION, §5 ATTRS, §6 requests, §7 replies) and OpenSSH's PROTOCOL
 * §4 (extensions, including the reversed SYMLINK argument order), round trips
 * by property, chunk-split framing, and tables of input that must fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAttrs, encodeAttrs, type SFTPAttrs } from '../../src/protocol/sftp-attrs.js';
import { Fxp, FxStatus, SFTP_MAX_PACKET, SftpExt } from '../../src/protocol/sftp-constants.js';
import { decodeExtRequest, decodeLimits, decodeNamesReply, encodeExtRequest, encodeLimits, encodeNamesReply, type SftpExtRequest } from '../../src/protocol/sftp-extensions.js';
import { SftpDeframer } from '../../src/protocol/sftp-framing.js';
import { decodeReply, encodeDataHeader, encodeReply, type SftpReply } from '../../src/protocol/sftp-replies.js';
import { decodeRequest, encodeRequest, encodeWriteHeader, type SftpRequest, UnknownRequestError } from '../../src/protocol/sftp-requests.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Reader, Writer } from '../../src/protocol/wire.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const body = (framed: Uint8Array): Uint8Array => framed.subarray(4);

// Hand-assembled from the field layouts in draft-02 and OpenSSH PROTOCOL §4.
const requestVectors: Array<[string, SftpRequest, string]> = [
  ['INIT version 3 (draft-02 §4)', { kind: 'init', version: 3, extensions: [] }, '00000005 01 00000003'],
  ['OPEN read, no attrs (§6.3)', { kind: 'open', id: 1, filename: 'a', pflags: 1, attrs: {} },
    '00000012 03 00000001 00000001 61 00000001 00000000'],
  ['READ (§6.4)', { kind: 'read', id: 2, handle: unhex('0102'), offset: 0x100000000, len: 32768 },
    '00000017 05 00000002 00000002 0102 0000000100000000 00008000'],
  ['WRITE (§6.4)', { kind: 'write', id: 3, handle: unhex('01'), offset: 5, data: unhex('aabb') },
    '00000018 06 00000003 00000001 01 0000000000000005 00000002 aabb'],
  ['SYMLINK: OpenSSH order targetpath, linkpath (PROTOCOL §4.1)', { kind: 'symlink', id: 4, linkpath: 'L', targetpath: 'T' },
    '0000000f 14 00000004 00000001 54 00000001 4c'],
  ['SETSTAT size+perm (§5)', { kind: 'setstat', id: 5, path: '/', attrs: { size: 7, permissions: 0o644 } },
    '0000001a 09 00000005 00000001 2f 00000005 0000000000000007 000001a4'],
  ['RENAME (§6.5)', { kind: 'rename', id: 6, oldpath: 'o', newpath: 'n' }, '0000000f 12 00000006 00000001 6f 00000001 6e'],
  ['posix-rename@openssh.com (PROTOCOL §4.3)', { kind: 'extended', id: 7, name: SftpExt.POSIX_RENAME, data: encodeExtRequest({ name: SftpExt.POSIX_RENAME, oldpath: 'o', newpath: 'n' }) },
    '0000002b c8 00000007 00000018 706f7369782d72656e616d65406f70656e7373682e636f6d 00000001 6f 00000001 6e'],
];

test('request encodings match the draft/OpenSSH layouts and decode back', () => {
  for (const [name, req, expect] of requestVectors) {
    const framed = encodeRequest(req);
    assert.equal(hex(framed), expect.replace(/\s+/g, ''), name);
    assert.deepEqual(decodeRequest(body(framed)), req, name);
  }
});

const replyVectors: Array<[string, SftpReply, string]> = [
  ['STATUS no such file (§7)', { kind: 'status', id: 9, code: FxStatus.NO_SUCH_FILE, message: 'x', lang: '' },
    '00000012 65 00000009 00000002 00000001 78 00000000'],
  ['HANDLE (§7)', { kind: 'handle', id: 1, handle: unhex('31') }, '0000000a 66 00000001 00000001 31'],
  ['DATA (§7)', { kind: 'data', id: 2, data: unhex('0001ff') }, '0000000c 67 00000002 00000003 0001ff'],
  ['NAME one entry, no attrs (§7)', { kind: 'name', id: 3, names: [{ filename: 'f', longname: 'l', attrs: {} }] },
    '00000017 68 00000003 00000001 00000001 66 00000001 6c 00000000'],
  ['ATTRS uid/gid+times (§5)', { kind: 'attrs', id: 4, attrs: { uid: 1, gid: 2, atime: 3, mtime: 4 } },
    '00000019 69 00000004 0000000a 00000001 00000002 00000003 00000004'],
  ['VERSION with limits@openssh.com "1"', { kind: 'version', version: 3, extensions: [['limits@openssh.com', unhex('31')]] },
    '00000020 02 00000003 00000012 6c696d697473406f70656e7373682e636f6d 00000001 31'],
];

test('reply encodings match the draft layouts and decode back', () => {
  for (const [name, rep, expect] of replyVectors) {
    const framed = encodeReply(rep);
    assert.equal(hex(framed), expect.replace(/\s+/g, ''), name);
    assert.deepEqual(decodeReply(body(framed)), rep, name);
  }
});

test('hot-path headers frame the same bytes as the generic encoders', () => {
  const data = unhex('deadbeef');
  const w = encodeWriteHeader(5, unhex('0a0b'), 1234, data.length);
  assert.equal(hex(w) + hex(data), hex(encodeRequest({ kind: 'write', id: 5, handle: unhex('0a0b'), offset: 1234, data })));
  assert.equal(hex(encodeDataHeader(6, 4)) + hex(data), hex(encodeReply({ kind: 'data', id: 6, data })));
});

test('limits@openssh.com and users-groups-by-id payloads (PROTOCOL §4.8, §4.12)', () => {
  const l = { maxPacketLength: 262144, maxReadLength: 261120, maxWriteLength: 261120, maxOpenHandles: 19995 };
  assert.equal(hex(encodeLimits(l)), '0000000000040000' + '000000000003fc00' + '000000000003fc00' + '0000000000004e1b');
  assert.deepEqual(decodeLimits(encodeLimits(l)), l);
  const ug = encodeNamesReply(['root', ''], ['wheel']);
  assert.equal(hex(ug), '0000000c' + '00000004726f6f74' + '00000000' + '00000009' + '00000005776865656c');
  assert.deepEqual(decodeNamesReply(ug), { users: ['root', ''], groups: ['wheel'] });
  const exts: SftpExtRequest[] = [
    { name: SftpExt.STATVFS, path: '/' }, { name: SftpExt.FSYNC, handle: unhex('01') }, { name: SftpExt.LIMITS },
    { name: SftpExt.LSETSTAT, path: 'p', attrs: { permissions: 0o600 } }, { name: SftpExt.HOME_DIRECTORY, username: '' },
    { name: SftpExt.COPY_DATA, readHandle: unhex('01'), readOffset: 0, length: 0, writeHandle: unhex('02'), writeOffset: 9 },
    { name: SftpExt.USERS_GROUPS_BY_ID, uids: [0, 1000], gids: [] }, { name: SftpExt.EXPAND_PATH, path: '~/x' },
  ];
  for (const e of exts) assert.deepEqual(decodeExtRequest(e.name, encodeExtRequest(e)), e, e.name);
  assert.equal(decodeExtRequest('nope@example.com', new Uint8Array(0)), null);
});

const attrsArb: fc.Arbitrary<SFTPAttrs> = fc.record({
  size: fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  ids: fc.option(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { nil: undefined }),
  permissions: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
  times: fc.option(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { nil: undefined }),
  extended: fc.option(fc.array(fc.tuple(fc.string(), fc.uint8Array({ maxLength: 8 })), { minLength: 1, maxLength: 3 }), { nil: undefined }),
}).map((r) => {
  const a: SFTPAttrs = {};
  if (r.size !== undefined) a.size = r.size;
  if (r.ids) [a.uid, a.gid] = r.ids;
  if (r.permissions !== undefined) a.permissions = r.permissions;
  if (r.times) [a.atime, a.mtime] = r.times;
  if (r.extended) a.extended = r.extended;
  return a;
});

test('property: decodeAttrs(encodeAttrs(a)) = a', () => {
  fc.assert(fc.property(attrsArb, (a) => {
    const r = new Reader(encodeAttrs(new Writer(), a).toBytes());
    const back = decodeAttrs(r);
    r.end();
    assert.deepEqual(back, a);
  }));
});

test('property: a packet stream split at any chunk boundaries yields the same packets', () => {
  const packets = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(packets, fc.array(fc.nat({ max: 400 }), { maxLength: 10 }), (ps, cuts) => {
    const stream = Buffer.concat(ps.flatMap((p) => [new Writer(4).uint32(p.length).toBytes(), p]));
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const d = new SftpDeframer();
    const out: string[] = [];
    let last = 0;
    for (const c of [...points, stream.length]) {
      d.push(stream.subarray(last, c));
      last = c;
      for (let p = d.next(); p; p = d.next()) out.push(hex(p));
    }
    assert.deepEqual(out, ps.map(hex));
    assert.equal(d.pending, 0);
  }));
});

test('the deframer refuses an oversize length before buffering its body', () => {
  const d = new SftpDeframer();
  d.push(new Writer(4).uint32(SFTP_MAX_PACKET + 1).toBytes());
  assert.throws(() => d.next(), ProtocolError);
  const z = new SftpDeframer();
  z.push(unhex('00000000'));
  assert.throws(() => z.next(), /length 0/);
});

// Malformed packets (type byte first, unframed): each must throw ProtocolError, never anything else.
const badRequests: Array<[string, string]> = [
  ['empty', ''],
  ['OPEN truncated in filename', '03 00000001 00000005 6162'],
  ['READ with trailing byte', '05 00000001 00000001 01 0000000000000000 00000010 ff'],
  ['READ offset beyond 2^53', '05 00000001 00000001 01 ffffffffffffffff 00000010'],
  ['attrs with unknown flag bits', '09 00000001 00000001 2f 00000100'],
  ['attrs extended count larger than the packet', '09 00000001 00000001 2f 80000000 7fffffff'],
  ['handle longer than 256 bytes', '04 00000001 00000101' + '00'.repeat(257)],
  ['path with invalid UTF-8', '11 00000001 00000002 c328'],
];

test('malformed requests are refused with ProtocolError', () => {
  for (const [name, h] of badRequests) assert.throws(() => decodeRequest(unhex(h)), ProtocolError, name);
  const unk = (() => {
    try {
      decodeRequest(unhex('63 0000002a'));
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(unk instanceof UnknownRequestError && unk.id === 42 && unk.type === 0x63);
});

const badReplies: Array<[string, string]> = [
  ['DATA length disagrees with packet', '67 00000001 00000005 0001'],
  ['NAME count larger than the packet', '68 00000001 00100000'],
  ['STATUS truncated code', '65 00000001 0000'],
  ['ATTRS size beyond 2^53', '69 00000001 00000001 ffffffffffffffff'],
  ['unknown reply type', '70 00000001'],
  ['HANDLE over 256 bytes', '66 00000001 00000101' + '00'.repeat(257)],
];

test('malformed replies are refused with ProtocolError', () => {
  for (const [name, h] of badReplies) assert.throws(() => decodeReply(unhex(h)), ProtocolError, name);
  // A STATUS without message/lang (pre-draft-02 servers) is accepted.
  assert.deepEqual(decodeReply(unhex('65 00000001 00000000')), { kind: 'status', id: 1, code: 0, message: '', lang: '' });
  assert.equal(Fxp.STATUS, 101);
});
