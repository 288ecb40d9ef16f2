/**
 * bcrypt_pbkdf as OpenBSD defines it (used by OpenSSH's "bcrypt" private key
 * KDF): PBKDF2-like, but each block is a "bcrypt hash" of SHA-512(password)
 * and SHA-512(salt || counter) under an expensive Blowfish key schedule
 * (eksblowfish), and output bytes are interleaved across blocks.
 *
 * Blowfish's initial P-array and S-boxes are the hexadecimal fraction digits
 * of pi. Rather than carrying a 4 KiB table, they are computed once, on first
 * use, from Machin's formula in bigint fixed point (a few milliseconds).
 */
import { sha512 } from '@noble/hashes/sha2.js';

const P_WORDS = 18;
const S_WORDS = 4 * 256;
const INIT_WORDS = P_WORDS + S_WORDS;

let initial: Uint32Array | undefined;

/** arctan(1/x) scaled by 2^bits, for integer x > 1 (alternating Taylor series). */
function arctanInv(x: bigint, bits: bigint): bigint {
  const x2 = x * x;
  let power = (1n << bits) / x;
  let sum = power;
  for (let k = 1n; power !== 0n; k++) {
    power /= x2;
    const term = power / (2n * k + 1n);
    sum = k & 1n ? sum - term : sum + term;
  }
  return sum;
}

/** The first `words` 32-bit words of pi's fraction in hexadecimal (P[0] = 0x243f6a88). */
export function piFractionWords(words: number): Uint32Array {
  const bits = BigInt(words * 32 + 64);
  const pi = 16n * arctanInv(5n, bits) - 4n * arctanInv(239n, bits);
  // Drop the integer part (3) and the 64 guard bits.
  const frac = (pi - (3n << bits)) >> 64n;
  const hex = frac.toString(16).padStart(words * 8, '0');
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) out[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return out;
}

function initialState(): Uint32Array {
  initial ??= piFractionWords(INIT_WORDS);
  return initial;
}

/** Blowfish state: P (18 words) then four S-boxes (256 words each), in one array. */
class Blowfish {
  readonly s = new Uint32Array(INIT_WORDS);
  readonly block = new Uint32Array(2);

  constructor() {
    this.s.set(initialState());
  }

  /** Enciphers block[0], block[1] in place. */
  encipher(): void {
    const s = this.s;
    let l = this.block[0]!;
    let r = this.block[1]!;
    l ^= s[0]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= (((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) ^ s[530 + ((l >>> 8) & 0xff)]!) + s[786 + (l & 0xff)]!) ^ s[i]!;
      l ^= (((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) ^ s[530 + ((r >>> 8) & 0xff)]!) + s[786 + (r & 0xff)]!) ^ s[i + 1]!;
    }
    r ^= s[17]!;
    this.block[0] = r;
    this.block[1] = l;
  }

  /**
   * The eksblowfish "expand" step: XOR the key into P cyclically, then
   * re-key every P and S word by chained encryption, XORing in `data` words
   * cyclically when given (expandstate) or not at all (expand0state).
   */
  expand(key: Uint8Array, data: Uint8Array | null): void {
    const s = this.s;
    const kc = new Cursor(key);
    for (let i = 0; i < P_WORDS; i++) s[i] = (s[i]! ^ kc.next()) >>> 0;
    const dc = data ? new Cursor(data) : null;
    this.block[0] = 0;
    this.block[1] = 0;
    for (let i = 0; i < INIT_WORDS; i += 2) {
      if (dc) {
        this.block[0] = this.block[0]! ^ dc.next();
        this.block[1] = this.block[1]! ^ dc.next();
      }
      this.encipher();
      s[i] = this.block[0]!;
      s[i + 1] = this.block[1]!;
    }
  }
}

/** Big-endian 32-bit words read cyclically from bytes (Blowfish_stream2word). */
class Cursor {
  #pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  next(): number {
    let w = 0;
    for (let i = 0; i < 4; i++) {
      w = (w << 8) | this.bytes[this.#pos]!;
      this.#pos = (this.#pos + 1) % this.bytes.length;
    }
    return w >>> 0;
  }
}

const MAGIC = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite');

/** One 32-byte bcrypt hash block of pre-hashed password and salt (64 bytes each). */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array): Uint8Array {
  const bf = new Blowfish();
  bf.expand(sha2pass, sha2salt);
  for (let i = 0; i < 64; i++) {
    bf.expand(sha2salt, null);
    bf.expand(sha2pass, null);
  }
  const words = new Uint32Array(8);
  const mc = new Cursor(MAGIC);
  for (let i = 0; i < 8; i++) words[i] = mc.next();
  for (let round = 0; round < 64; round++) {
    for (let j = 0; j < 8; j += 2) {
      bf.block[0] = words[j]!;
      bf.block[1] = words[j + 1]!;
      bf.encipher();
      words[j] = bf.block[0]!;
      words[j + 1] = bf.block[1]!;
    }
  }
  // Output words are written little-endian.
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
  bf.s.fill(0);
  return out;
}

/** Upper bounds on what a key file may ask for, so a hostile file cannot pin a CPU for hours. */
export const BCRYPT_PBKDF_MAX_ROUNDS = 1 << 16;
export const BCRYPT_PBKDF_MAX_LENGTH = 1024;

/**
 * bcrypt_pbkdf(password, salt, keylen, rounds). RangeError for rounds < 1,
 * an empty salt, or lengths or rounds beyond the caps above.
 */
export function bcryptPbkdf(password: Uint8Array, salt: Uint8Array, length: number, rounds: number): Uint8Array {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > BCRYPT_PBKDF_MAX_ROUNDS) throw new RangeError(`rounds: expected 1..${BCRYPT_PBKDF_MAX_ROUNDS}, got ${rounds}`);
  if (!Number.isInteger(length) || length < 1 || length > BCRYPT_PBKDF_MAX_LENGTH) throw new RangeError(`length: expected 1..${BCRYPT_PBKDF_MAX_LENGTH}, got ${length}`);
  if (salt.length === 0 || salt.length > 1 << 20) throw new RangeError(`salt: expected 1 byte or more, got ${salt.length}`);
  const stride = Math.ceil(length / 32);
  const perBlock = Math.ceil(length / stride);
  const key = new Uint8Array(length);
  const sha2pass = sha512(password);
  const countSalt = new Uint8Array(salt.length + 4);
  countSalt.set(salt);
  let remaining = length;
  for (let count = 1; remaining > 0; count++) {
    new DataView(countSalt.buffer).setUint32(salt.length, count);
    let tmp = bcryptHash(sha2pass, sha512(countSalt));
    const acc = tmp.slice();
    for (let i = 1; i < rounds; i++) {
      tmp = bcryptHash(sha2pass, sha512(tmp));
      for (let j = 0; j < 32; j++) acc[j]! ^= tmp[j]!;
    }
    // Interleave: block `count` supplies bytes count-1, count-1+stride, ...
    let i = 0;
    for (; i < Math.min(perBlock, remaining); i++) {
      const dest = i * stride + (count - 1);
      if (dest >= length) break;
      key[dest] = acc[i]!;
    }
    remaining -= i;
  }
  sha2pass.fill(0);
  return key;
}
