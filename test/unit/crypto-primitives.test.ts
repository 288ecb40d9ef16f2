import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { chacha20 } from '@noble/ciphers/chacha.js';
import type { CipherName, MacName } from '../../src/protocol/algorithms.js';
import type { HashName } from '../../src/protocol/crypto-api.js';
import { createNobleBlockStream, createNodeBlockStream } from '../../src/crypto/cipher-block-stream.js';
import { cipherEntry } from '../../src/crypto/cipher-table.js';
import { nobleHash, nodeHash } from '../../src/crypto/hash.js';
import { constantTimeEqual, createNobleMac, createNodeMac } from '../../src/crypto/mac-hmac.js';
import { nodeRandom, webRandom } from '../../src/crypto/random.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const streams = { node: createNodeBlockStream, noble: createNobleBlockStream };

// NIST SP 800-38A appendix F: the four-block example plaintext and AES-128 key.
const SP800_38A = {
  key: '2b7e151628aed2a6abf7158809cf4f3c',
  plain: '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
  ctr: {
    source: 'SP 800-38A F.5.1 CTR-AES128.Encrypt',
    iv: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
    cipher: '874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff 5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee',
  },
  cbc: {
    source: 'SP 800-38A F.2.1 CBC-AES128.Encrypt',
    iv: '000102030405060708090a0b0c0d0e0f',
    cipher: '7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7',
  },
};

test('AES-CTR and AES-CBC streams match NIST SP 800-38A, keeping state across calls', () => {
  for (const [impl, make] of Object.entries(streams)) {
    for (const mode of ['ctr', 'cbc'] as const) {
      const v = SP800_38A[mode];
      const e = cipherEntry(`aes128-${mode}` as CipherName);
      const enc = make(e, hex(SP800_38A.key), hex(v.iv), true);
      const plain = hex(SP800_38A.plain);
      // 1 block, then 3 blocks: the second call must continue the counter / chain
      const ct = Buffer.concat([enc.update(plain.subarray(0, 16)), enc.update(plain.subarray(16))]);
      assert.equal(ct.toString('hex'), v.cipher.replace(/\s+/g, ''), `${impl} ${v.source}`);
      const dec = make(e, hex(SP800_38A.key), hex(v.iv), false);
      const back = Buffer.concat([dec.update(ct.subarray(0, 32)), dec.update(ct.subarray(32, 48)), dec.update(ct.subarray(48))]);
      assert.equal(back.toString('hex'), toHex(plain), `${impl} ${mode} decrypt`);
      assert.throws(() => enc.update(new Uint8Array(15)), RangeError);
    }
  }
});

test('noble CTR carries across the full 128-bit counter like OpenSSL', () => {
  const e = cipherEntry('aes256-ctr');
  const key = randomBytes(32);
  const iv = hex('00000000000000fffffffffffffffffe');
  const data = randomBytes(64);
  const a = createNodeBlockStream(e, key, iv, true);
  const b = createNobleBlockStream(e, key, iv, true);
  assert.equal(toHex(Buffer.concat([b.update(data.subarray(0, 16)), b.update(data.subarray(16))])), toHex(a.update(data)));
});

test('3DES-CBC stream runs through node:crypto des-ede3-cbc with chaining across calls', () => {
  const e = cipherEntry('3des-cbc');
  const key = randomBytes(24);
  const iv = randomBytes(8);
  const data = randomBytes(64);
  const s = createNodeBlockStream(e, key, iv, true);
  const whole = createCipheriv('des-ede3-cbc', key, iv).setAutoPadding(false).update(data);
  assert.equal(toHex(Buffer.concat([s.update(data.subarray(0, 8)), s.update(data.subarray(8))])), whole.toString('hex'));
});

test('ChaCha20 keystream layout (RFC 8439 2.4.2): node IV = LE32 counter || nonce, noble counter argument', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const nonce = hex('000000000000004a00000000');
  const plain = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const expectedPrefix = '6e2e359a2568f98041ba0728dd0d6981';
  const iv = new Uint8Array(16);
  iv[0] = 1;
  iv.set(nonce, 4);
  assert.equal(createCipheriv('chacha20', key, iv).update(plain).subarray(0, 16).toString('hex'), expectedPrefix);
  assert.equal(toHex(chacha20(key, nonce, plain, undefined, 1).subarray(0, 16)), expectedPrefix);
});

// FIPS 180-2 appendix examples for "abc".
const ABC: Record<HashName, string> = {
  sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
  sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  sha384: 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
  sha512: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
};

test('hash(): FIPS 180-2 "abc" vectors for node and noble; unknown names rejected', () => {
  for (const [name, digest] of Object.entries(ABC) as [HashName, string][]) {
    assert.equal(toHex(nodeHash(name, Buffer.from('abc'))), digest, `node ${name}`);
    assert.equal(toHex(nobleHash(name, Buffer.from('abc'))), digest, `noble ${name}`);
  }
  assert.throws(() => nodeHash('md5' as HashName, new Uint8Array(1)), /md5/);
});

// RFC 4231 test case 6 (SHA-2) and RFC 2202 test case 6 (SHA-1): a key longer
// than the hash block, which HMAC replaces by H(key) -- exactly the SSH MAC key
// length, so H(key) is passed as the key. The MAC input is uint32 seq || data,
// so "Test" becomes the sequence number.
const LONG_KEY_DATA = 'Test Using Larger Than Block-Size Key - Hash Key First';
const HMAC_VECTORS: { mac: MacName; hash: HashName; keyLen: number; tag: string; source: string }[] = [
  { mac: 'hmac-sha2-256', hash: 'sha256', keyLen: 131, source: 'RFC 4231 TC6', tag: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
  {
    mac: 'hmac-sha2-512-etm@openssh.com', hash: 'sha512', keyLen: 131, source: 'RFC 4231 TC6',
    tag: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
  { mac: 'hmac-sha1', hash: 'sha1', keyLen: 80, source: 'RFC 2202 TC6', tag: 'aa4ae5e15272d00e95705637ce8a3b55ed402112' },
];

test('packet MACs: RFC 4231 / RFC 2202 vectors through seq || data, node and noble', () => {
  const data = Buffer.from(LONG_KEY_DATA);
  const seq = data.readUInt32BE(0);
  for (const v of HMAC_VECTORS) {
    const key = nodeHash(v.hash, new Uint8Array(v.keyLen).fill(0xaa));
    for (const make of [createNodeMac, createNobleMac]) {
      const mac = make(v.mac, key);
      const out = new Uint8Array(mac.length + 3);
      mac.computeInto(seq, data.subarray(4), out, 3);
      assert.equal(toHex(out.subarray(3)), v.tag, `${v.source} ${v.mac}`);
      assert.equal(mac.verify(seq, data.subarray(4), hex(v.tag)), true);
      const wrong = hex(v.tag);
      wrong[wrong.length - 1] ^= 0x80;
      assert.equal(mac.verify(seq, data.subarray(4), wrong), false);
      assert.equal(mac.verify(seq + 1, data.subarray(4), hex(v.tag)), false);
    }
  }
});

test('packet MACs equal node:crypto HMAC over uint32 seq || data for random inputs', () => {
  for (const [name, hash, len] of [['hmac-sha2-256', 'sha256', 32], ['hmac-sha1-etm@openssh.com', 'sha1', 20]] as const) {
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(len);
      const data = randomBytes(i * 97);
      const seq = randomBytes(4).readUInt32BE(0);
      const seqBuf = Buffer.alloc(4);
      seqBuf.writeUInt32BE(seq);
      const expected = createHmac(hash, key).update(seqBuf).update(data).digest('hex');
      for (const make of [createNodeMac, createNobleMac]) {
        const out = new Uint8Array(len);
        make(name, key).computeInto(seq, data, out, 0);
        assert.equal(toHex(out), expected);
      }
    }
  }
});

test('constantTimeEqual and random sources', () => {
  assert.equal(constantTimeEqual(hex('0102'), hex('0102')), true);
  assert.equal(constantTimeEqual(hex('0102'), hex('0103')), false);
  assert.equal(constantTimeEqual(hex('0102'), hex('01')), false);
  for (const r of [nodeRandom, webRandom]) {
    assert.equal(r.bytes(0).length, 0);
    const a = r.bytes(70000);
    assert.equal(a.length, 70000);
    assert.notEqual(toHex(a.subarray(0, 32)), toHex(r.bytes(32)));
    assert.ok(a.subarray(65536).some((b) => b !== 0), 'bytes past the 64 KiB getRandomValues limit are filled');
    assert.throws(() => r.bytes(-1), RangeError);
  }
});
