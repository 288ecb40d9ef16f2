/**
 * The ChaCha20 block function (RFC 8439 §2.3) in plain JS, for the one place
 * where a whole node:crypto cipher object per packet was spent on 4 bytes:
 * chacha20-poly1305@openssh.com encrypts each packet's length with block 0
 * of K_1's keystream under a nonce that changes every packet. Creating that
 * cipher (OpenSSL 3 fetches the algorithm and sets up a context every time)
 * cost 4-5 µs a packet, more than the 20 rounds here; the payload stays on
 * node:crypto, where the per-object cost is spread over up to 32 KiB.
 *
 * Word layout as in RFC 8439: constants, 8 key words, counter, 3 nonce
 * words, all little-endian. The original (64-bit nonce) ChaCha20 that
 * OpenSSH uses is the same with a zero counter high word as nonce word 0.
 */

const C0 = 0x61707865;
const C1 = 0x3320646e;
const C2 = 0x79622d32;
const C3 = 0x6b206574;

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

export class ChachaBlock {
  private readonly k = new Uint32Array(8);
  private readonly x = new Uint32Array(16);

  /** key: 32 bytes (copied; dispose() wipes the copy). */
  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${key.length}`);
    for (let i = 0; i < 8; i++) {
      this.k[i] = (key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24)) >>> 0;
    }
  }

  /**
   * The keystream block for (counter, n0, n1, n2) as 16 little-endian words
   * in `out` (the same memory is reused by the next call if out is omitted).
   */
  block(counter: number, n0: number, n1: number, n2: number, out: Uint32Array = this.x): Uint32Array {
    const k = this.k;
    let x0 = C0, x1 = C1, x2 = C2, x3 = C3;
    let x4 = k[0]!, x5 = k[1]!, x6 = k[2]!, x7 = k[3]!;
    let x8 = k[4]!, x9 = k[5]!, x10 = k[6]!, x11 = k[7]!;
    let x12 = counter | 0, x13 = n0 | 0, x14 = n1 | 0, x15 = n2 | 0;
    for (let i = 0; i < 10; i++) {
      // Column round.
      x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 16); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 12);
      x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 8); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 7);
      x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 16); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 12);
      x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 8); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 7);
      x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 16); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 12);
      x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 8); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 7);
      x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 16); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 12);
      x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 8); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 7);
      // Diagonal round.
      x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 16); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 12);
      x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 8); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 7);
      x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 16); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 12);
      x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 8); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 7);
      x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 16); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 12);
      x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 8); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 7);
      x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 16); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 12);
      x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 8); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 7);
    }
    out[0] = x0 + C0; out[1] = x1 + C1; out[2] = x2 + C2; out[3] = x3 + C3;
    out[4] = x4 + k[0]!; out[5] = x5 + k[1]!; out[6] = x6 + k[2]!; out[7] = x7 + k[3]!;
    out[8] = x8 + k[4]!; out[9] = x9 + k[5]!; out[10] = x10 + k[6]!; out[11] = x11 + k[7]!;
    out[12] = x12 + (counter | 0); out[13] = x13 + (n0 | 0); out[14] = x14 + (n1 | 0); out[15] = x15 + (n2 | 0);
    return out;
  }

  /** Wipes the key and the last block. */
  dispose(): void {
    this.k.fill(0);
    this.x.fill(0);
  }
}

/** The nonce word holding seq: its 4 big-endian bytes read as a little-endian word. */
function seqWord(seq: number): number {
  const s = seq >>> 0;
  return ((s >>> 24) | ((s >>> 8) & 0xff00) | ((s << 8) & 0xff0000) | (s << 24)) >>> 0;
}

/** Writes the 16 words of a block as 64 little-endian bytes. */
function blockBytes(w: Uint32Array, out: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    const v = w[i]!;
    out[4 * i] = v;
    out[4 * i + 1] = v >>> 8;
    out[4 * i + 2] = v >>> 16;
    out[4 * i + 3] = v >>> 24;
  }
}

/**
 * chacha20-poly1305@openssh.com's Poly1305 key for `seq`: the first 32 bytes
 * of block 0 (new memory; the caller wipes it).
 */
export function polyKey(b: ChachaBlock, seq: number): Uint8Array {
  const ks = new Uint8Array(64);
  blockBytes(b.block(0, 0, 0, seqWord(seq)), ks);
  ks.fill(0, 32);
  return ks.subarray(0, 32);
}

/**
 * A stream XORing data with the keystream of nonce = seq from block 1 on
 * (the payload of chacha20-poly1305@openssh.com), for packets so small that
 * a node:crypto cipher object would cost more than the blocks. Each call
 * continues where the previous one stopped and returns new memory.
 */
export function payloadStream(b: ChachaBlock, seq: number): (src: Uint8Array) => Uint8Array {
  const n2 = seqWord(seq);
  const ks = new Uint8Array(64);
  let counter = 1;
  let used = 64;
  return (src) => {
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) {
      if (used === 64) {
        blockBytes(b.block(counter++, 0, 0, n2), ks);
        used = 0;
      }
      out[i] = src[i]! ^ ks[used++]!;
    }
    return out;
  };
}

/**
 * chacha20-poly1305@openssh.com's length cipher: the 4 bytes of `src` XORed
 * with keystream block 0 of nonce = seq as a big-endian uint64 (seq < 2^32,
 * so the nonce's high word is 0). Returns new memory.
 */
export function cryptLength(b: ChachaBlock, seq: number, src: Uint8Array): Uint8Array {
  const w = b.block(0, 0, 0, seqWord(seq))[0]!;
  const out = new Uint8Array(4);
  out[0] = src[0]! ^ (w & 0xff);
  out[1] = src[1]! ^ ((w >>> 8) & 0xff);
  out[2] = src[2]! ^ ((w >>> 16) & 0xff);
  out[3] = src[3]! ^ (w >>> 24);
  return out;
}
