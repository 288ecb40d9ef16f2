/**
 * Binary packet protocol (RFC 4253 §6): framing inbound bytes into payloads
 * and outbound payloads into sealed packets. Sequence numbers are assigned
 * here, in order, and wrap at 2^32 (strict kex resets them on NEWKEYS).
 */
import type { Compressor, Decompressor, PacketOpener, PacketSealer, RandomSource } from './crypto-api.js';
import { ProtocolError } from './errors.js';
import { ByteQueue } from './byte-queue.js';
import { concatBytes } from './wire.js';

/** OpenSSH's PACKET_MAX_SIZE: the largest packet accepted from the peer. */
export const MAX_PACKET_LENGTH = 256 * 1024;
/** Largest payload after decompression. */
export const MAX_PAYLOAD_LENGTH = 256 * 1024;

/**
 * Random bytes for padding, drawn in blocks and shared by every writer that
 * uses the same random source: a pool per connection held a block per
 * connection at fan-out (10,000 idle connections), and cost one CSPRNG call
 * per connection. Each byte is handed out once, so no two packets, of one
 * connection or of two, carry the same padding bytes; a refill takes a new
 * block instead of rewriting the old one, so a view handed out earlier never
 * changes under whoever still holds it (a null sealer puts it on the wire as is).
 */
export class PaddingPool {
  private static readonly shared = new WeakMap<RandomSource, PaddingPool>();
  /** Block size: one CSPRNG call per ~200-400 small packets. */
  static readonly BLOCK = 4096;
  private pool: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private constructor(private readonly random: RandomSource) {}

  /** The pool of `random` (one per random source, per thread). */
  static for(random: RandomSource): PaddingPool {
    let p = PaddingPool.shared.get(random);
    if (p === undefined) {
      p = new PaddingPool(random);
      PaddingPool.shared.set(random, p);
    }
    return p;
  }

  /** `n` random bytes as a view into the pool, not handed out before (n ≤ 255: padding). */
  take(n: number): Uint8Array {
    if (this.pos + n > this.pool.length) this.refill(n);
    const out = this.pool.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fill(dst: Uint8Array): void {
    dst.set(this.take(dst.length));
  }

  private refill(n: number): void {
    const bytes = this.random.bytes(Math.max(n, PaddingPool.BLOCK));
    if (bytes.length < n) throw new RangeError(`random source returned ${bytes.length} of ${n} bytes`);
    this.pool = bytes;
    this.pos = 0;
  }
}

/**
 * A sealer that can also return a packet's wire bytes as several pieces (in
 * order; their concatenation is what sealParts() returns), so that a large
 * part's ciphertext need not be copied into one joined packet. The pieces
 * are the caller's to keep.
 */
export interface PieceSealer extends PacketSealer {
  sealPieces(seq: number, parts: readonly Uint8Array[]): Uint8Array[];
}

function canSealPieces(s: PacketSealer): s is PieceSealer {
  return typeof (s as Partial<PieceSealer>).sealPieces === 'function';
}

const EMPTY = new Uint8Array(0);

export class PacketWriter {
  seq = 0;
  /** Total bytes of payload sealed since the last reset (for rekey by volume). */
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  private readonly padding: PaddingPool;
  compressor: Compressor | null = null;

  constructor(public sealer: PacketSealer, random: RandomSource) {
    this.padding = PaddingPool.for(random);
  }

  /** Seals one payload into wire bytes. */
  seal(payload: Uint8Array): Uint8Array {
    return this.sealParts([payload]);
  }

  /** Seals a payload given as pieces: each piece is copied once, into the packet. */
  sealParts(partsIn: readonly Uint8Array[]): Uint8Array {
    const parts = this.compress(partsIn);
    const { packetLength, padLen } = this.layout(parts);
    const s = this.sealer;
    if (s.sealParts) {
      // No assembled packet: the sealer reads the pieces straight into its output.
      return this.account(s.sealParts(this.seq, this.frame(parts, packetLength, padLen)));
    }
    const packet = new Uint8Array(4 + packetLength);
    packet[0] = packetLength >>> 24;
    packet[1] = (packetLength >>> 16) & 0xff;
    packet[2] = (packetLength >>> 8) & 0xff;
    packet[3] = packetLength & 0xff;
    packet[4] = padLen;
    let o = 5;
    for (const p of parts) {
      packet.set(p, o);
      o += p.length;
    }
    this.padding.fill(packet.subarray(o));
    return this.account(s.seal(this.seq, packet));
  }

  /**
   * Seals a payload given as pieces into wire bytes given as pieces (their
   * concatenation is the packet): with a sealer that supports it, a large
   * part's ciphertext is not copied into one joined buffer.
   */
  sealToPieces(partsIn: readonly Uint8Array[]): Uint8Array[] {
    const s = this.sealer;
    if (!canSealPieces(s)) return [this.sealParts(partsIn)];
    const parts = this.compress(partsIn);
    const { packetLength, padLen } = this.layout(parts);
    const pieces = s.sealPieces(this.seq, this.frame(parts, packetLength, padLen));
    let n = 0;
    for (const p of pieces) n += p.length;
    this.advance(n);
    return pieces;
  }

  private compress(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    if (!this.compressor) return parts;
    return [this.compressor.compress(parts.length === 1 ? parts[0]! : concatBytes(...parts))];
  }

  private layout(parts: readonly Uint8Array[]): { packetLength: number; padLen: number } {
    let payloadLength = 0;
    for (const p of parts) payloadLength += p.length;
    const s = this.sealer;
    const block = Math.max(8, s.blockSize);
    const unpadded = 4 + 1 + payloadLength - s.aadLength;
    let padLen = block - (unpadded % block);
    if (padLen < 4) padLen += block;
    return { packetLength: 1 + payloadLength + padLen, padLen };
  }

  /** [header, ...parts, padding] for a sealer's parts path. */
  private frame(parts: readonly Uint8Array[], packetLength: number, padLen: number): Uint8Array[] {
    const head = new Uint8Array(5);
    head[0] = packetLength >>> 24;
    head[1] = (packetLength >>> 16) & 0xff;
    head[2] = (packetLength >>> 8) & 0xff;
    head[3] = packetLength & 0xff;
    head[4] = padLen;
    return [head, ...parts, this.padding.take(padLen)];
  }

  private account(wire: Uint8Array): Uint8Array {
    this.advance(wire.length);
    return wire;
  }

  private advance(wireLength: number): void {
    this.seq = (this.seq + 1) >>> 0;
    this.bytesSinceKex += wireLength;
    this.packetsSinceKex++;
  }
}

/**
 * An opener whose open() returns new memory and keeps no reference to its
 * `wire` argument once it returns: the framer may then hand it a reused
 * buffer for packets that span received chunks.
 */
export interface DetachingOpener extends PacketOpener {
  readonly detachesOutput: true;
}

function detaches(o: PacketOpener): boolean {
  return (o as Partial<DetachingOpener>).detachesOutput === true;
}

export class PacketReader {
  seq = 0;
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  decompressor: Decompressor | null = null;
  private readonly queue = new ByteQueue();
  private pendingLength = -1;
  /**
   * Where a packet that spans received chunks is joined, when the opener
   * detaches its output; grown to the largest such packet (bulk data: one
   * maximum-size packet), so bulk receive does not allocate per packet.
   */
  private scratch: Uint8Array | null = null;

  constructor(public opener: PacketOpener) {}

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
  }

  /** True when open() returns new memory and keeps no view of the received bytes. */
  opensIntoNewMemory(): boolean {
    return detaches(this.opener);
  }

  /** Copies the queued bytes out of the memory they were pushed in (for reused read buffers). */
  ownQueued(): void {
    this.queue.own();
  }

  /**
   * Returns the next payload, or null when more bytes are needed. Throws
   * ProtocolError / MacError on bad input.
   */
  next(): Uint8Array | null {
    const o = this.opener;
    if (this.pendingLength < 0) {
      if (this.queue.length < o.lengthPrefix) return null;
      const len = o.decryptLength(this.seq, this.queue.peek(o.lengthPrefix));
      if (len < 5 || len > MAX_PACKET_LENGTH) throw new ProtocolError(`bad packet length ${len}`);
      this.pendingLength = len;
    }
    const total = 4 + this.pendingLength + o.macLength;
    if (this.queue.length < total) return null;
    const wire = detaches(o) ? this.queue.takeInto(total, this.scratchFor(total)) : this.queue.take(total);
    const body = o.open(this.seq, wire);
    this.pendingLength = -1;
    this.seq = (this.seq + 1) >>> 0;
    this.bytesSinceKex += total;
    this.packetsSinceKex++;
    const padLen = body[0]!;
    if (padLen < 4 || padLen + 1 > body.length) throw new ProtocolError(`bad padding length ${padLen}`);
    const payload = body.subarray(1, body.length - padLen);
    if (payload.length === 0) throw new ProtocolError('empty packet payload');
    return this.decompressor ? this.decompressor.decompress(payload, MAX_PAYLOAD_LENGTH) : payload;
  }

  private scratchFor(n: number): Uint8Array {
    if (this.queue.contiguous(n)) return EMPTY;
    if (this.scratch === null || this.scratch.length < n) this.scratch = new Uint8Array(n);
    return this.scratch;
  }
}
