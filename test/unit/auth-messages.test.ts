import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import {
  type AuthMethodFields,
  decodeInfoRequest,
  decodeInfoResponse,
  decodePasswdChangeReq,
  decodePkOk,
  decodeServiceMessage,
  decodeUserauthBanner,
  decodeUserauthFailure,
  decodeUserauthRequest,
  encodeInfoRequest,
  encodeInfoResponse,
  encodePasswdChangeReq,
  encodePkOk,
  encodeServiceRequest,
  encodeUserauthBanner,
  encodeUserauthFailure,
  encodeUserauthRequest,
  publicKeySignedData,
} from '../../src/protocol/auth-messages.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

test('USERAUTH_REQUEST encodings match the RFC 4252 layouts (hand-assembled)', () => {
  // byte 50, string "u", string "ssh-connection", string "password", FALSE, string "pw"
  const pw = encodeUserauthRequest({ username: 'u', service: 'ssh-connection', fields: { kind: 'password', password: 'pw' } });
  assert.equal(
    hex(pw),
    '32' + '0000000175' + '0000000e' + hex(Buffer.from('ssh-connection')) + '00000008' + hex(Buffer.from('password')) + '00' + '000000027077',
  );
  const none = encodeUserauthRequest({ username: '', service: 'ssh-connection', fields: { kind: 'none' } });
  assert.equal(hex(none), '32' + '00000000' + '0000000e' + hex(Buffer.from('ssh-connection')) + '00000004' + hex(Buffer.from('none')));
  // keyboard-interactive (RFC 4256 §3.1): string language tag, string submethods
  const kbd = encodeUserauthRequest({ username: 'u', service: 's', fields: { kind: 'keyboard-interactive', lang: '', submethods: 'pam' } });
  assert.ok(hex(kbd).endsWith('00000000' + '00000003' + hex(Buffer.from('pam'))));
});

test('publickey signed data is string(session id) || the request with TRUE and no signature (RFC 4252 §7)', () => {
  const sid = Uint8Array.of(1, 2, 3);
  const blob = Uint8Array.of(9, 9);
  const data = publicKeySignedData(sid, 'u', 'ssh-connection', 'ssh-ed25519', blob);
  const query = encodeUserauthRequest({
    username: 'u',
    service: 'ssh-connection',
    fields: { kind: 'publickey', algorithm: 'ssh-ed25519', publicBlob: blob, signature: Uint8Array.of() },
  });
  // The signed request minus its trailing empty signature string (4 zero bytes).
  const expected = '00000003010203' + hex(query.subarray(0, query.length - 4));
  assert.equal(hex(data), expected);
  assert.equal(data[7], 50);
});

const text = fc.string({ maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 64 });
const fieldsArb: fc.Arbitrary<AuthMethodFields> = fc.oneof(
  fc.constant<AuthMethodFields>({ kind: 'none' }),
  text.map((password): AuthMethodFields => ({ kind: 'password', password })),
  fc.tuple(text, text).map(([oldPassword, newPassword]): AuthMethodFields => ({ kind: 'passwordChange', oldPassword, newPassword })),
  fc.tuple(text, bytes).map(([algorithm, publicBlob]): AuthMethodFields => ({ kind: 'publickey', algorithm, publicBlob })),
  fc
    .tuple(text, bytes, bytes)
    .map(([algorithm, publicBlob, signature]): AuthMethodFields => ({ kind: 'publickey', algorithm, publicBlob, signature })),
  fc.tuple(text, text).map(([lang, submethods]): AuthMethodFields => ({ kind: 'keyboard-interactive', lang, submethods })),
);

test('property: decode(encode(m)) for every USERAUTH_REQUEST variant', () => {
  fc.assert(
    fc.property(text, text, fieldsArb, (username, service, fields) => {
      const req = { username, service, fields };
      assert.deepEqual(decodeUserauthRequest(encodeUserauthRequest(req)), req);
    }),
  );
});

test('property: round trips of FAILURE, BANNER, PK_OK, PASSWD_CHANGEREQ, INFO_REQUEST, INFO_RESPONSE', () => {
  const name = fc.stringMatching(/^[a-z0-9@.-]{1,12}$/);
  fc.assert(
    fc.property(fc.array(name, { maxLength: 5 }), fc.boolean(), (methods, partialSuccess) => {
      assert.deepEqual(decodeUserauthFailure(encodeUserauthFailure({ methods, partialSuccess })), { methods, partialSuccess });
    }),
  );
  fc.assert(
    fc.property(text, text, (message, lang) => {
      assert.deepEqual(decodeUserauthBanner(encodeUserauthBanner({ message, lang })), { message, lang });
      assert.deepEqual(decodePasswdChangeReq(encodePasswdChangeReq({ prompt: message, lang })), { prompt: message, lang });
    }),
  );
  fc.assert(
    fc.property(text, bytes, (algorithm, publicBlob) => {
      assert.deepEqual(decodePkOk(encodePkOk({ algorithm, publicBlob })), { algorithm, publicBlob });
    }),
  );
  const prompt = fc.tuple(text, fc.boolean()).map(([p, echo]) => ({ prompt: p, echo }));
  fc.assert(
    fc.property(text, text, text, fc.array(prompt, { maxLength: 6 }), (n, instruction, lang, prompts) => {
      const m = { name: n, instruction, lang, prompts };
      assert.deepEqual(decodeInfoRequest(encodeInfoRequest(m)), m);
    }),
  );
  fc.assert(
    fc.property(fc.array(text, { maxLength: 6 }), (responses) => {
      assert.deepEqual(decodeInfoResponse(encodeInfoResponse(responses)), responses);
    }),
  );
});

test('unknown methods decode to {kind: other} keeping only the name', () => {
  const w = fromHex('32 00000001 75 00000001 73 00000009' + hex(Buffer.from('hostbased')) + 'deadbeef');
  assert.deepEqual(decodeUserauthRequest(w), { username: 'u', service: 's', fields: { kind: 'other', method: 'hostbased' } });
});

const malformed: Array<[string, () => unknown]> = [
  ['truncated request', () => decodeUserauthRequest(encodeUserauthRequest({ username: 'u', service: 's', fields: { kind: 'password', password: 'p' } }).subarray(0, 20))],
  ['trailing bytes after none', () => decodeUserauthRequest(Uint8Array.of(...encodeUserauthRequest({ username: 'u', service: 's', fields: { kind: 'none' } }), 0))],
  ['trailing bytes after FAILURE', () => decodeUserauthFailure(fromHex('33 00000000 00 00'))],
  ['FAILURE without partial flag', () => decodeUserauthFailure(fromHex('33 00000004 6e6f6e65'))],
  ['huge user name length', () => decodeUserauthRequest(fromHex('32 ffffffff 00'))],
  ['invalid UTF-8 password', () => decodeUserauthRequest(fromHex('32 00000000 00000000 00000008' + hex(Buffer.from('password')) + '00 00000001 ff'))],
  ['INFO_REQUEST num-prompts beyond the bytes present', () => decodeInfoRequest(fromHex('3c 00000000 00000000 00000000 7fffffff'))],
  ['INFO_REQUEST more than 100 prompts', () => decodeInfoRequest(fromHex('3c 00000000 00000000 00000000 00000065' + '0000000000'.repeat(101)))],
  ['INFO_RESPONSE count beyond the bytes present', () => decodeInfoResponse(fromHex('3d 00010000 00000000'))],
  ['INFO_RESPONSE trailing bytes', () => decodeInfoResponse(fromHex('3d 00000000 01'))],
  ['PK_OK truncated blob', () => decodePkOk(fromHex('3c 00000001 61 00000010 0102'))],
  ['SERVICE_REQUEST trailing', () => decodeServiceMessage(Uint8Array.of(...encodeServiceRequest('ssh-userauth'), 1), 5)],
  ['BANNER missing lang', () => decodeUserauthBanner(fromHex('35 00000001 61'))],
];

for (const [what, fn] of malformed) {
  test(`malformed: ${what} -> ProtocolError`, () => {
    assert.throws(fn, ProtocolError);
  });
}

test('publickey signed data matches paramiko AuthHandler._get_session_blob (python3-paramiko)', (t) => {
  const script = [
    'import sys, types',
    'from paramiko.auth_handler import AuthHandler',
    'h = types.SimpleNamespace(transport=types.SimpleNamespace(session_id=bytes.fromhex(sys.argv[1])),',
    '    _get_key_type_and_bits=lambda key: ("ssh-ed25519", bytes.fromhex(sys.argv[2])))',
    'sys.stdout.write(AuthHandler._get_session_blob(h, None, "ssh-connection", sys.argv[3], sys.argv[4]).hex())',
  ].join('\n');
  const sid = Uint8Array.from({ length: 32 }, (_, i) => i * 5);
  const blob = Uint8Array.of(0, 0, 0, 11, ...Buffer.from('ssh-ed25519'), 0, 0, 0, 2, 0xaa, 0xbb);
  const r = spawnSync('/usr/bin/python3', ['-c', script, hex(sid), hex(blob), 'ålice', 'rsa-sha2-512'], { encoding: 'utf8', timeout: 20000 });
  if (r.error || (r.status !== 0 && /No module named/.test(r.stderr))) {
    t.skip('python3-paramiko not available');
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, hex(publicKeySignedData(sid, 'ålice', 'ssh-connection', 'rsa-sha2-512', blob)));
});
