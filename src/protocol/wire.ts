/**
 * SSH wire encoding (RFC 4251 §5): a bounds-checked Reader that returns
 * subarray views, and a growable Writer. Every length read from the peer is
 * checked against the bytes present (and an optional cap) before use.
 */
import { ProtocolError } from './errors.js';

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  try {
    return textDecoder.decode(b);
  } catch {
    throw new ProtocolError('invalid UTF-8 in string field');
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly what = 'message') {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new ProtocolError(`truncated ${this.what}: ${field} needs ${n} bytes, ${this.remaining} left`);
    }
  }

  byte(field = 'byte'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  boolean(field = 'boolean'): boolean {
    return this.byte(field) !== 0;
  }

  uint32(field = 'uint32'): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  uint64(field = 'uint64'): bigint {
    const hi = this.uint32(field);
    const lo = this.uint32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A length-prefixed byte string as a view; `max` caps the declared length. */
  string(field = 'string', max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const len = this.uint32(field);
    if (len > max) throw new ProtocolError(`${field} too long in ${this.what}: ${len} > ${max}`);
    this.need(len, field);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  utf8(field = 'string', max = 65536): string {
    return fromUtf8(this.string(field, max));
  }

  /** A name-list (comma-separated ASCII names). */
  nameList(field = 'name-list', max = 65536): string[] {
    const s = this.utf8(field, max);
    return s.length === 0 ? [] : s.split(',');
  }

  /** mpint as an unsigned big-endian magnitude view (rejects negatives). */
  mpintBytes(field = 'mpint', max = 16384 + 1): Uint8Array {
    const v = this.string(field, max);
    if (v.length > 0 && (v[0]! & 0x80) !== 0) throw new ProtocolError(`negative ${field} in ${this.what}`);
    let i = 0;
    while (i < v.length && v[i] === 0) i++;
    return v.subarray(i);
  }

  mpint(field = 'mpint', max = 16384 + 1): bigint {
    return bytesToBigint(this.mpintBytes(field, max));
  }

  raw(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  rest(): Uint8Array {
    const out = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return out;
  }

  /** Rejects trailing bytes: call at the end of every message decode. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ProtocolError(`${this.buf.length - this.pos} trailing bytes in ${this.what}`);
    }
  }
}

export class Writer {
  private buf: Uint8Array;
  private pos: number;

  /** `reserve` leaves room at the front (e.g. for a packet header). */
  constructor(initial = 256, reserve = 0) {
    this.buf = new Uint8Array(Math.max(initial, reserve + 16));
    this.pos = reserve;
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  uint32(v: number): this {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos += 4;
    return this;
  }

  uint64(v: bigint): this {
    this.uint32(Number((v >> 32n) & 0xffffffffn));
    return this.uint32(Number(v & 0xffffffffn));
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  string(v: Uint8Array | string): this {
    const bytes = typeof v === 'string' ? utf8(v) : v;
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  /** mpint from an unsigned big-endian magnitude. */
  mpintBytes(magnitude: Uint8Array): this {
    let i = 0;
    while (i < magnitude.length && magnitude[i] === 0) i++;
    const m = magnitude.subarray(i);
    if (m.length === 0) return this.uint32(0);
    const pad = (m[0]! & 0x80) !== 0 ? 1 : 0;
    this.uint32(m.length + pad);
    if (pad) this.byte(0);
    return this.raw(m);
  }

  mpint(v: bigint): this {
    if (v < 0n) throw new RangeError('mpint: negative values are not used in SSH');
    return this.mpintBytes(bigintToBytes(v));
  }

  /** The written bytes as a view (no copy). */
  view(from = 0): Uint8Array {
    return this.buf.subarray(from, this.pos);
  }

  /** The written bytes as an exact-size copy. */
  toBytes(from = 0): Uint8Array {
    return this.buf.slice(from, this.pos);
  }
}

export function bytesToBigint(b: Uint8Array): bigint {
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += b[i]!.toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}

export function bigintToBytes(v: bigint, length?: number): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const n = hex.length / 2;
  const size = length ?? n;
  if (n > size) throw new RangeError(`bigint needs ${n} bytes, ${size} allowed`);
  const out = new Uint8Array(size);
  for (let i = 0; i < n; i++) out[size - n + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A fresh buffer holding `parts` one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return joinInto(new Uint8Array(partsLength(parts)), parts);
}

export function partsLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** The concatenation of `parts`; a single part is returned as it is (no copy). */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : joinInto(new Uint8Array(partsLength(parts)), parts);
}

function joinInto(out: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Encodes a single SSH string (uint32 length + bytes). */
export function encodeString(v: Uint8Array | string): Uint8Array {
  return new Writer(8 + (typeof v === 'string' ? v.length * 3 : v.length)).string(v).toBytes();
}

export function encodeMpint(magnitude: Uint8Array): Uint8Array {
  return new Writer(magnitude.length + 8).mpintBytes(magnitude).toBytes();
}
