/**
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).
 *
 * The 64-byte key is K_2 (bytes 0..32, payload) || K_1 (bytes 32..64, length).
 * The nonce is the sequence number as a uint64 BE (original 64-bit-nonce
 * ChaCha20). The Poly1305 key is the first 32 bytes of K_2's keystream block 0,
 * the payload is encrypted from block 1, and the tag covers the encrypted
 * length || ciphertext. With a counter below 2^32, the original layout equals
 * the IETF one with a 12-byte nonce 0x00000000 || seq64: that is how both
 * node:crypto ('chacha20', IV = LE32 counter || nonce12) and noble are driven.
 */
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import type { PacketKeys, PacketOpener, PacketSealer } from '../protocol/crypto-api.js';
import { MacError } from '../protocol/errors.js';
import { takeKey, type CipherEntry } from './cipher-table.js';
import { constantTimeEqual } from './mac-hmac.js';
import { cipherSegments, copyOf, checkPacketLength, checkSealInput, checkSealParts, checkWireLength, joinParts, readUint32BE, writeUint32BE } from './packet-length.js';
import { WirePieces } from './packet-pieces.js';
import type { DetachingOpener, PieceSealer } from '../protocol/packet-codec.js';
import { Poly1305Wasm } from './poly1305-wasm.js';
import { ChachaBlock, cryptLength, payloadStream, polyKey } from './chacha20-block.js';

const TAG = 16;
const BLOCK = 8;

/** Keystream operations for one key pair; all take the packet's seq. */
interface ChachaCore {
  /** XORs 4 bytes with K_1's keystream at block 0. */
  cryptLength(seq: number, src: Uint8Array): Uint8Array;
  /**
   * Poly1305 key (K_2 block 0) and a function XORing data from K_2 block 1
   * on; `length` is how many bytes crypt() will be given in all.
   */
  payload(seq: number, length: number): { polyKey: Uint8Array; crypt(src: Uint8Array): Uint8Array };
  /** Poly1305 tag of the concatenation of `data` written to out[offset..]. */
  tag(polyKey: Uint8Array, data: Uint8Array | readonly Uint8Array[], out: Uint8Array, offset: number): void;
  dispose(): void;
}

/**
 * Payloads up to this size are encrypted by the JS block function: a
 * node:crypto cipher object costs 4-5 µs to set up, a JS block ~0.3-0.5 µs.
 */
const JS_PAYLOAD = 256;

function nodeCore(key: Uint8Array): ChachaCore {
  let k2: KeyObject | null = createSecretKey(key.subarray(0, 32));
  // Block 0 of each key (the length, the Poly1305 key) and the keystream of
  // small payloads are computed here rather than by a node:crypto cipher
  // object per packet (see chacha20-block.ts).
  let b2: ChachaBlock | null = new ChachaBlock(key.subarray(0, 32));
  let k1: ChachaBlock | null = new ChachaBlock(key.subarray(32, 64));
  const iv = new Uint8Array(16); // LE32 counter = 1 || 0x00000000 || seq64 BE
  iv[0] = 1;
  const poly = new Poly1305Wasm();
  return {
    cryptLength(seq, src) {
      if (k1 === null) throw new Error('cipher: used after dispose');
      return cryptLength(k1, seq, src);
    },
    payload(seq, length) {
      if (k2 === null || b2 === null) throw new Error('cipher: used after dispose');
      if (length <= JS_PAYLOAD) return { polyKey: polyKey(b2, seq), crypt: payloadStream(b2, seq) };
      writeUint32BE(iv, 12, seq);
      const c = createCipheriv('chacha20', k2, iv);
      return {
        polyKey: polyKey(b2, seq),
        crypt: (src) => {
          const out = c.update(src);
          return new Uint8Array(out.buffer, out.byteOffset, out.length);
        },
      };
    },
    tag(polyKey, data, out, offset) {
      poly.macPartsInto(polyKey, data instanceof Uint8Array ? [data] : data, out, offset);
      polyKey.fill(0);
    },
    dispose() {
      k1?.dispose();
      b2?.dispose();
      k1 = b2 = k2 = null;
      poly.wipe();
    },
  };
}

function nobleCore(key: Uint8Array): ChachaCore {
  const k2 = copyOf(key, 0, 32);
  const k1 = copyOf(key, 32, 64);
  const nonce = new Uint8Array(12);
  const setSeq = (seq: number) => writeUint32BE(nonce, 8, seq);
  return {
    cryptLength(seq, src) {
      setSeq(seq);
      return chacha20(k1, nonce, src, undefined, 0);
    },
    payload(seq) {
      setSeq(seq);
      const polyKey = chacha20(k2, nonce, new Uint8Array(32), undefined, 0);
      const n = nonce.slice();
      return { polyKey, crypt: (src) => chacha20(k2, n, src, undefined, 1) };
    },
    tag(polyKey, data, out, offset) {
      out.set(poly1305(data instanceof Uint8Array ? data : joinParts(data), polyKey), offset);
      polyKey.fill(0);
    },
    dispose() {
      k1.fill(0);
      k2.fill(0);
    },
  };
}

function makeCore(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): ChachaCore {
  const key = takeKey(e, 'key', keys.encKey);
  return impl === 'node' ? nodeCore(key) : nobleCore(key);
}

/**
 * The wire bytes of a packet of `n` bytes given as parts (parts[0] holds the
 * 4-byte length). `crypt` must be a stream across calls (node's is; noble's
 * restarts at block 1, so noble is only ever given one part here).
 */
function sealPacket(core: ChachaCore, seq: number, parts: readonly Uint8Array[], n: number, out: Uint8Array): Uint8Array {
  out.set(core.cryptLength(seq, parts[0]!.subarray(0, 4)), 0);
  const p = core.payload(seq, n - 4);
  let o = 4;
  for (const seg of cipherSegments(parts, 4)) {
    const enc = p.crypt(seg);
    out.set(enc, o);
    o += enc.length;
  }
  core.tag(p.polyKey, out.subarray(0, n), out, n);
  return out;
}

/** sealPacket() as pieces: the large parts' ciphertext stays where the cipher put it. */
function sealPacketPieces(core: ChachaCore, seq: number, parts: readonly Uint8Array[], n: number): Uint8Array[] {
  const enc: Uint8Array[] = [core.cryptLength(seq, parts[0]!.subarray(0, 4))];
  const p = core.payload(seq, n - 4);
  for (const seg of cipherSegments(parts, 4)) enc.push(p.crypt(seg));
  const tag = new Uint8Array(TAG);
  core.tag(p.polyKey, enc, tag, 0);
  const out = new WirePieces();
  for (const e of enc) out.add(e);
  out.add(tag);
  if (out.total !== n + TAG) throw new Error(`chacha20-poly1305: sealed ${out.total} of ${n + TAG} bytes`);
  return out.finish();
}

export function createChachaSealer(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): PacketSealer {
  const core = makeCore(e, keys, impl);
  const sealer: PacketSealer = {
    blockSize: BLOCK,
    aadLength: 4,
    macLength: TAG,
    seal(seq, packet) {
      checkSealInput(packet, BLOCK, 4);
      return sealPacket(core, seq, [packet], packet.length, new Uint8Array(packet.length + TAG));
    },
    dispose: () => core.dispose(),
  };
  if (impl !== 'node') return sealer;
  // Every byte of the output is written, so it need not be zeroed first.
  sealer.sealParts = (seq, parts) => {
    const n = checkSealParts(parts, BLOCK, 4);
    return sealPacket(core, seq, parts, n, Buffer.allocUnsafe(n + TAG));
  };
  const withPieces: PieceSealer = {
    ...sealer,
    sealParts: sealer.sealParts,
    sealPieces: (seq, parts) => sealPacketPieces(core, seq, parts, checkSealParts(parts, BLOCK, 4)),
  };
  return withPieces;
}

export function createChachaOpener(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): PacketOpener {
  const core = makeCore(e, keys, impl);
  const expected = new Uint8Array(TAG);
  let len = -1;
  // open() returns the cipher's new output buffer and keeps no view of `wire`.
  const opener: DetachingOpener = {
    detachesOutput: true,
    blockSize: BLOCK,
    macLength: TAG,
    lengthPrefix: 4,
    decryptLength(seq, head) {
      len = checkPacketLength(readUint32BE(core.cryptLength(seq, head.subarray(0, 4)), 0), BLOCK, 4);
      return len;
    },
    open(seq, wire) {
      checkWireLength(wire, len, TAG);
      const end = 4 + len;
      const p = core.payload(seq, len);
      core.tag(p.polyKey, wire.subarray(0, end), expected, 0);
      if (!constantTimeEqual(expected, wire.subarray(end, end + TAG))) throw new MacError();
      return p.crypt(wire.subarray(4, end));
    },
    dispose: () => core.dispose(),
  };
  return opener;
}
