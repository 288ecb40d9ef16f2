import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { SSHKey, generatePrivateKey, importPrivateKey, importPrivateKeys, importPublicKey, importPublicKeys, type PrivateKeyFormat } from '../../src/crypto/keys/ssh-key.js';
import { evpBytesToKeyMd5 } from '../../src/crypto/keys/pem-private-format.js';
import { KeyImportError } from '../../src/protocol/errors.js';
import { utf8 } from '../../src/protocol/wire.js';
import type { KeyType, SignatureName } from '../../src/protocol/algorithms.js';

const types: KeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];
const keys = new Map(types.map((t) => [t, generatePrivateKey(t, { bits: 2048, comment: `test ${t}` })]));
const sigAlg = (t: KeyType): SignatureName => (t === 'ssh-rsa' ? 'rsa-sha2-256' : (t as SignatureName));
// Cheap KDF costs for the round trips; real-tool files use the tools' defaults (test/interop/keys-*).
const cheap = { rounds: 2, argon2: { memory: 64, passes: 1, parallelism: 1 } };

function formatsFor(t: KeyType): PrivateKeyFormat[] {
  const f: PrivateKeyFormat[] = ['openssh', 'pkcs8-pem', 'ppk2', 'ppk3'];
  if (t === 'ssh-rsa') f.push('pkcs1-pem');
  if (t.startsWith('ecdsa-')) f.push('sec1-pem');
  return f;
}

for (const t of types) {
  for (const format of formatsFor(t)) {
    for (const pass of [undefined, 'correct horse']) {
      test(`${t} ${format} ${pass ? 'encrypted' : 'plain'}: export, import, same key, signs; wrong/missing passphrase is KeyImportError`, () => {
        const key = keys.get(t)!;
        const text = key.exportPrivateKey(format, pass, cheap);
        const back = importPrivateKey(text, pass);
        assert.deepEqual(back.publicBlob, key.publicBlob);
        if (format === 'openssh' || format.startsWith('ppk')) assert.equal(back.comment, key.comment);
        const data = utf8(`data ${t} ${format}`);
        assert.equal(key.verify(sigAlg(t), back.sign(sigAlg(t), data), data), true);
        if (pass) {
          assert.throws(() => importPrivateKey(text, 'wrong'), (e: unknown) => e instanceof KeyImportError && /passphrase/.test(e.message));
          assert.throws(() => importPrivateKey(text), (e: unknown) => e instanceof KeyImportError && /passphrase is required/.test(e.message));
        }
      });
    }
  }
}

test('legacy PEM header and EVP_BytesToKey: DEK-Info names the cipher and IV; MD5 chain matches a hand computation', () => {
  const rsa = keys.get('ssh-rsa')!;
  const text = rsa.exportPrivateKey('pkcs1-pem', 'pw');
  assert.match(text, /^-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,[0-9A-F]{32}\n\n/);
  const salt = Buffer.from('0102030405060708', 'hex');
  const d1 = createHash('md5').update('pw').update(salt).digest();
  const d2 = createHash('md5').update(d1).update('pw').update(salt).digest();
  assert.deepEqual(Buffer.from(evpBytesToKeyMd5(utf8('pw'), salt, 24)), Buffer.concat([d1, d2]).subarray(0, 24));
  const des = rsa.exportPrivateKey('pkcs1-pem', 'pw', { cipher: 'DES-EDE3-CBC' });
  assert.match(des, /DEK-Info: DES-EDE3-CBC,[0-9A-F]{16}\n/);
  assert.deepEqual(importPrivateKey(des, 'pw').publicBlob, rsa.publicBlob);
});

test('PPK v2 MAC is HMAC-SHA-1 keyed by SHA-1("putty-private-key-file-mac-key"), over the five strings', () => {
  const ed = keys.get('ssh-ed25519')!;
  const text = ed.exportPrivateKey('ppk2');
  const lines = text.trim().split('\n');
  assert.equal(lines[0], 'PuTTY-User-Key-File-2: ssh-ed25519');
  const priv = Buffer.from(lines[lines.indexOf('Private-Lines: 1') + 1]!, 'base64');
  const str = (b: Uint8Array | string) => { const v = Buffer.from(b); const l = Buffer.alloc(4); l.writeUInt32BE(v.length); return Buffer.concat([l, v]); };
  const mac = createHmac('sha1', createHash('sha1').update('putty-private-key-file-mac-key').digest())
    .update(Buffer.concat([str('ssh-ed25519'), str('none'), str(ed.comment), str(ed.publicBlob), str(priv)])).digest('hex');
  assert.equal(lines.at(-1), `Private-MAC: ${mac}`);
});

test('public formats: openssh, rfc4716 (with a wrapped comment), spki and pkcs1 PEM round-trip', () => {
  for (const t of types) {
    const key = keys.get(t)!;
    const long = new SSHKey(key.publicKey, 'x'.repeat(150));
    for (const k of [key, long]) {
      const rfc = k.exportPublicKey('rfc4716');
      for (const l of rfc.split('\n')) assert.ok(l.length <= 72, l);
      const back = importPublicKey(rfc);
      assert.deepEqual(back.publicBlob, k.publicBlob);
      assert.equal(back.comment, k.comment);
    }
    assert.deepEqual(importPublicKey(key.exportPublicKey('spki-pem')).publicBlob, key.publicBlob);
    assert.deepEqual(importPublicKey(key.exportPublicKey()).publicBlob, key.publicBlob);
  }
  const rsa = keys.get('ssh-rsa')!;
  assert.match(rsa.exportPublicKey('pkcs1-pem'), /^-----BEGIN RSA PUBLIC KEY-----/);
  assert.deepEqual(importPublicKey(rsa.exportPublicKey('pkcs1-pem')).publicBlob, rsa.publicBlob);
  assert.throws(() => keys.get('ssh-ed25519')!.exportPublicKey('pkcs1-pem'), RangeError);
});

test('RFC 4716 §3.3 example shape: quoted comment, x- header with continuation, base64 lines', () => {
  const ed = keys.get('ssh-ed25519')!;
  const b64 = Buffer.from(ed.publicBlob).toString('base64');
  const text = `---- BEGIN SSH2 PUBLIC KEY ----\nSubject: me\nx-private: one \\\ntwo\nComment: "my key"\n${b64.slice(0, 40)}\n${b64.slice(40)}\n---- END SSH2 PUBLIC KEY ----\n`;
  const k = importPublicKey(text);
  assert.equal(k.comment, 'my key');
  assert.deepEqual(k.publicBlob, ed.publicBlob);
});

test('list forms: several PEM blocks, several public lines', () => {
  const all = [...keys.values()];
  const pems = all.map((k) => k.exportPrivateKey(k.keyType === 'ssh-ed25519' ? 'openssh' : 'pkcs8-pem')).join('');
  assert.deepEqual(importPrivateKeys(pems).map((k) => k.fingerprintSHA256()), all.map((k) => k.fingerprintSHA256()));
  const pubs = '# comment\n\n' + all.map((k) => k.exportPublicKey()).join('\n') + '\n' + all[0]!.exportPublicKey('rfc4716');
  assert.deepEqual(importPublicKeys(pubs).map((k) => k.fingerprintSHA256()), [...all, all[0]!].map((k) => k.fingerprintSHA256()));
});

test('unsupported, truncated and garbage private keys are KeyImportError with a clear message', () => {
  const ed = keys.get('ssh-ed25519')!;
  const ecdsa = keys.get('ecdsa-sha2-nistp256')!;
  const enc = ed.exportPrivateKey('openssh', 'pw', cheap);
  const ppk3 = ecdsa.exportPrivateKey('ppk3', 'pw', cheap);
  const pem = ecdsa.exportPrivateKey('sec1-pem', 'pw');
  const cut = (s: string, n: number) => s.slice(0, s.length - n);
  const cases: Array<[string, string | Uint8Array, string | undefined, RegExp]> = [
    ['empty', '', undefined, /empty/],
    ['garbage text', 'hello world', undefined, /no PEM armor/],
    ['garbage bytes', Uint8Array.of(0xff, 0xfe, 0x00, 0x80), undefined, /neither DER nor UTF-8/],
    ['garbage DER', Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00), undefined, /not a PKCS#8, PKCS#1 or SEC1/],
    ['DSA PEM', '-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n', undefined, /unsupported private key type/],
    ['OpenSSH no END', cut(enc, 40), 'pw', /incomplete|truncated/],
    ['OpenSSH truncated body', enc.replace(/\n[^\n]+\n-----END/, '\n-----END'), 'pw', /truncated|malformed/],
    ['OpenSSH wrong passphrase', enc, 'nope', /wrong passphrase/],
    ['PPK truncated', ppk3.split('\n').slice(0, 6).join('\n'), 'pw', /truncated/],
    ['PPK v1', 'PuTTY-User-Key-File-1: ssh-rsa\n', undefined, /version 1 is not supported/],
    ['PPK edited comment', ppk3.replace(/Comment: .*/, 'Comment: other'), 'pw', /MAC mismatch/],
    ['PPK unknown encryption', ppk3.replace('aes256-cbc', 'rot13'), 'pw', /not supported/],
    ['PPK absurd Argon2 memory', ppk3.replace(/Argon2-Memory: \d+/, 'Argon2-Memory: 99999999'), 'pw', /out of range/],
    ['PEM legacy wrong passphrase', pem, 'nope', /wrong passphrase/],
    ['PEM legacy unknown cipher', pem.replace('AES-128-CBC', 'RC2-CBC'), 'pw', /not supported/],
    ['PEM legacy truncated', pem.replace(/\n[^\n]+\n-----END/, '\n-----END'), 'pw', /wrong passphrase|truncated|corrupt/],
    ['PKCS#8 encrypted wrong passphrase', ed.exportPrivateKey('pkcs8-pem', 'pw'), 'nope', /wrong passphrase/],
  ];
  for (const [name, input, pass, msg] of cases) {
    assert.throws(() => importPrivateKey(input, pass), (e: unknown) => e instanceof KeyImportError && msg.test(e.message), name);
  }
  assert.throws(() => ed.exportPrivateKey('sec1-pem'), RangeError);
  assert.throws(() => ecdsa.exportPrivateKey('pkcs1-pem'), RangeError);
  assert.throws(() => ed.publicOnly().exportPrivateKey('openssh'), TypeError);
});

test('garbage public keys are KeyImportError', () => {
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['rfc4716 no end', '---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n'],
    ['rfc4716 bad body', '---- BEGIN SSH2 PUBLIC KEY ----\n@@@@\n---- END SSH2 PUBLIC KEY ----\n'],
    ['pem private given as public', keys.get('ssh-ed25519')!.exportPrivateKey('pkcs8-pem')],
    ['spki garbage', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'],
  ];
  for (const [name, input] of cases) assert.throws(() => importPublicKey(input), KeyImportError, name);
});

test('setComment / getComment: the comment goes into the public line and the private file; a line break is refused', () => {
  const key = generatePrivateKey('ssh-ed25519', { comment: 'old' });
  assert.equal(key.getComment(), 'old');
  key.setComment('deploy@fleet');
  assert.equal(key.getComment(), 'deploy@fleet');
  assert.match(key.exportPublicKey(), / deploy@fleet$/);
  assert.equal(importPrivateKey(key.exportPrivateKey()).comment, 'deploy@fleet');
  assert.throws(() => key.setComment('two\nlines'), /one line/);
  assert.equal(key.getComment(), 'deploy@fleet');
});
