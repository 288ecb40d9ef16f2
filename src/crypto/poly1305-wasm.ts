/**
 * Poly1305 (RFC 8439 section 2.5) with the block loop in WebAssembly.
 *
 * Node has ChaCha20 but no standalone Poly1305, and the pure-JS ones are the
 * bottleneck of chacha20-poly1305@openssh.com. The accumulator uses five
 * 26-bit limbs held in i64 locals (the "donna" 32-bit layout), so every
 * product fits 64 bits without carries inside the multiply. The module is
 * assembled below from readable opcodes when this file loads (a few hundred
 * bytes, no build step); key setup and the final reduction stay in JS because
 * they run once per message.
 *
 * Memory layout: [0,40) h0..h4 as i64, [40,80) r0..r4, [80,112) 5*r1..5*r4,
 * message bytes from DATA_OFFSET.
 */

const DATA_OFFSET = 128;
const MASK26 = 0x3ffffff;

// --- a tiny WebAssembly assembler -------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 for non-negative constants below 2^31. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b,
  get: 0x20, set: 0x21,
  i64Load: 0x29, i64Store: 0x37,
  i32Const: 0x41, i64Const: 0x42,
  i32LtU: 0x49, i32Add: 0x6a, i32Sub: 0x6b,
  i64Add: 0x7c, i64Mul: 0x7e, i64And: 0x83, i64Or: 0x84, i64Shl: 0x86, i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
  void: 0x40, i32: 0x7f, i64: 0x7e,
} as const;

/** blocks(ptr: i32, len: i32, hibit: i32): absorbs floor(len/16) blocks at ptr. */
function assembleBlocks(): number[] {
  const PTR = 0, LEN = 1, HIBIT = 2;
  const H = [3, 4, 5, 6, 7];
  const R = [8, 9, 10, 11, 12];
  const S = [-1, 13, 14, 15, 16]; // S[i] = 5 * R[i]
  const D = [17, 18, 19, 20, 21];
  const C = 22, LO = 23, HI = 24, HIB = 25;
  const LOCALS = 23; // i64 locals 3..25

  const c: number[] = [];
  const get = (i: number) => c.push(op.get, i);
  const set = (i: number) => c.push(op.set, i);
  const k64 = (v: number) => c.push(op.i64Const, ...sleb(v));
  const load = (offset: number) => c.push(op.i32Const, 0, op.i64Load, 3, ...uleb(offset));

  for (let i = 0; i < 5; i++) { load(i * 8); set(H[i]); }
  for (let i = 0; i < 5; i++) { load(40 + i * 8); set(R[i]); }
  for (let i = 1; i < 5; i++) { load(80 + (i - 1) * 8); set(S[i]); }
  get(HIBIT); c.push(op.i64ExtendI32U); set(HIB);

  c.push(op.block, op.void, op.loop, op.void);
  get(LEN); c.push(op.i32Const, 16, op.i32LtU, op.brIf, 1);
  get(PTR); c.push(op.i64Load, 0, 0); set(LO);
  get(PTR); c.push(op.i64Load, 0, 8); set(HI);
  // h += m (split into 26-bit limbs), plus 2^128 for full blocks
  get(H[0]); get(LO); k64(MASK26); c.push(op.i64And, op.i64Add); set(H[0]);
  get(H[1]); get(LO); k64(26); c.push(op.i64ShrU); k64(MASK26); c.push(op.i64And, op.i64Add); set(H[1]);
  get(H[2]); get(LO); k64(52); c.push(op.i64ShrU); get(HI); k64(12); c.push(op.i64Shl, op.i64Or);
  k64(MASK26); c.push(op.i64And, op.i64Add); set(H[2]);
  get(H[3]); get(HI); k64(14); c.push(op.i64ShrU); k64(MASK26); c.push(op.i64And, op.i64Add); set(H[3]);
  get(H[4]); get(HI); k64(40); c.push(op.i64ShrU); get(HIB); c.push(op.i64Or, op.i64Add); set(H[4]);
  // d = h * r mod (2^130 - 5), limbwise: d_i = sum_j h_j * (j <= i ? r_{i-j} : 5 r_{i-j+5})
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      get(H[j]);
      get(j <= i ? R[i - j] : S[i - j + 5]);
      c.push(op.i64Mul);
      if (j > 0) c.push(op.i64Add);
    }
    set(D[i]);
  }
  // carry propagation
  for (let i = 0; i < 5; i++) {
    if (i > 0) { get(D[i]); get(C); c.push(op.i64Add); set(D[i]); }
    get(D[i]); k64(26); c.push(op.i64ShrU); set(C);
    get(D[i]); k64(MASK26); c.push(op.i64And); set(H[i]);
  }
  get(H[0]); get(C); k64(5); c.push(op.i64Mul, op.i64Add); set(H[0]);
  get(H[1]); get(H[0]); k64(26); c.push(op.i64ShrU, op.i64Add); set(H[1]);
  get(H[0]); k64(MASK26); c.push(op.i64And); set(H[0]);
  // advance
  get(PTR); c.push(op.i32Const, 16, op.i32Add); set(PTR);
  get(LEN); c.push(op.i32Const, 16, op.i32Sub); set(LEN);
  c.push(op.br, 0, op.end, op.end);

  for (let i = 0; i < 5; i++) {
    c.push(op.i32Const, 0); get(H[i]); c.push(op.i64Store, 3, ...uleb(i * 8));
  }
  c.push(op.end);
  return [...uleb(1), ...uleb(LOCALS), op.i64, ...c];
}

function assembleModule(): Uint8Array {
  const body = assembleBlocks();
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, op.i32, op.i32, op.i32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('blocks'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return Uint8Array.from(bytes);
}

// --- the MAC ------------------------------------------------------------------

// @types/node 20 declares no WebAssembly global (lib has no DOM), so the few
// members used here are typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface PolyExports {
  memory: WasmMemory;
  blocks(ptr: number, len: number, hibit: number): void;
}

/** One Poly1305 engine (one wasm instance). Not reentrant; cheap to create. */
export class Poly1305Wasm {
  readonly #exports: PolyExports;
  #mem: Uint8Array;
  #words: Uint32Array;

  constructor() {
    const instance = new wasm.Instance(sharedModule());
    this.#exports = instance.exports as unknown as PolyExports;
    this.#mem = new Uint8Array(this.#exports.memory.buffer);
    this.#words = new Uint32Array(this.#exports.memory.buffer);
  }

  #ensure(bytes: number): void {
    const need = DATA_OFFSET + bytes + 16;
    if (need <= this.#mem.length) return;
    const pages = Math.ceil((need - this.#mem.length) / 65536);
    this.#exports.memory.grow(pages);
    this.#mem = new Uint8Array(this.#exports.memory.buffer);
    this.#words = new Uint32Array(this.#exports.memory.buffer);
  }

  /** Writes the 16-byte tag of `data` under the 32-byte one-time `key` into out[outOffset..]. */
  macInto(key: Uint8Array, data: Uint8Array, out: Uint8Array, outOffset = 0): void {
    this.macPartsInto(key, [data], out, outOffset);
  }

  /** macInto() of the concatenation of `parts`, without joining them first. */
  macPartsInto(key: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
    if (key.length !== 32) throw new RangeError('poly1305: key must be 32 bytes');
    let len = 0;
    for (const p of parts) len += p.length;
    this.#ensure(len);
    const w = this.#words;
    const mem = this.#mem;
    const t0 = le32(key, 0), t1 = le32(key, 4), t2 = le32(key, 8), t3 = le32(key, 12);
    const r0 = t0 & 0x3ffffff;
    const r1 = ((t0 >>> 26) | (t1 << 6)) & 0x3ffff03;
    const r2 = ((t1 >>> 20) | (t2 << 12)) & 0x3ffc0ff;
    const r3 = ((t2 >>> 14) | (t3 << 18)) & 0x3f03fff;
    const r4 = (t3 >>> 8) & 0x00fffff;
    // i64 slots as (low, high) u32 pairs: h = 0, r, 5r
    w.fill(0, 0, 28);
    w[10] = r0; w[12] = r1; w[14] = r2; w[16] = r3; w[18] = r4;
    w[20] = r1 * 5; w[22] = r2 * 5; w[24] = r3 * 5; w[26] = r4 * 5;

    let at = DATA_OFFSET;
    for (const p of parts) {
      mem.set(p, at);
      at += p.length;
    }
    const full = len & ~15;
    if (full > 0) this.#exports.blocks(DATA_OFFSET, full, 1 << 24);
    const rest = len - full;
    if (rest > 0) {
      const tail = DATA_OFFSET + full;
      mem[tail + rest] = 1;
      mem.fill(0, tail + rest + 1, tail + 16);
      this.#exports.blocks(tail, 16, 0);
    }
    finish(w[0], w[2], w[4], w[6], w[8], key, out, outOffset);
    // The message copy is left in wasm memory: in SSH it is always ciphertext.
  }

  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    const out = new Uint8Array(16);
    this.macInto(key, data, out, 0);
    return out;
  }

  /** Zeroes the key-derived state and the last message held in wasm memory. */
  wipe(): void {
    this.#mem.fill(0);
  }
}

let compiled: object | undefined;
function sharedModule(): object {
  compiled ??= new wasm.Module(assembleModule());
  return compiled;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Full reduction mod 2^130-5, then tag = (h + s) mod 2^128 (RFC 8439 2.5.1). */
function finish(h0: number, h1: number, h2: number, h3: number, h4: number, key: Uint8Array, out: Uint8Array, o: number): void {
  let c = h1 >>> 26; h1 &= MASK26;
  h2 += c; c = h2 >>> 26; h2 &= MASK26;
  h3 += c; c = h3 >>> 26; h3 &= MASK26;
  h4 += c; c = h4 >>> 26; h4 &= MASK26;
  h0 += c * 5; c = h0 >>> 26; h0 &= MASK26;
  h1 += c;

  // g = h + 5 - 2^130; keep g when it did not borrow (h >= p)
  let g0 = h0 + 5; c = g0 >>> 26; g0 &= MASK26;
  let g1 = h1 + c; c = g1 >>> 26; g1 &= MASK26;
  let g2 = h2 + c; c = g2 >>> 26; g2 &= MASK26;
  let g3 = h3 + c; c = g3 >>> 26; g3 &= MASK26;
  const g4 = (h4 + c - (1 << 26)) | 0;
  const useG = (g4 >>> 31) - 1; // all ones when g4 >= 0
  h0 = (h0 & ~useG) | (g0 & useG);
  h1 = (h1 & ~useG) | (g1 & useG);
  h2 = (h2 & ~useG) | (g2 & useG);
  h3 = (h3 & ~useG) | (g3 & useG);
  h4 = (h4 & ~useG) | (g4 & useG);

  const w0 = (h0 | (h1 << 26)) >>> 0;
  const w1 = ((h1 >>> 6) | (h2 << 20)) >>> 0;
  const w2 = ((h2 >>> 12) | (h3 << 14)) >>> 0;
  const w3 = ((h3 >>> 18) | (h4 << 8)) >>> 0;
  let f = w0 + le32(key, 16);
  put32(out, o, f);
  f = w1 + le32(key, 20) + (f > 0xffffffff ? 1 : 0);
  put32(out, o + 4, f);
  f = w2 + le32(key, 24) + (f > 0xffffffff ? 1 : 0);
  put32(out, o + 8, f);
  f = w3 + le32(key, 28) + (f > 0xffffffff ? 1 : 0);
  put32(out, o + 12, f);
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
