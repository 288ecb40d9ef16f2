/**
 * Binary packet protocol (RFC 4253 §6): framing inbound bytes into payloads
 * and outbound payloads into sealed packets. Sequence numbers are assigned
 * here, in order, and wrap at 2^32 (strict kex resets them on NEWKEYS).
 */
import type { Compressor, Decompressor, PacketOpener, PacketSealer, RandomSource } from './crypto-api.js';
import { ProtocolError } from './errors.js';

/** OpenSSH's PACKET_MAX_SIZE: the largest packet accepted from the peer. */
export const MAX_PACKET_LENGTH = 256 * 1024;
/** Largest payload after decompression. */
export const MAX_PAYLOAD_LENGTH = 256 * 1024;

/** A pool of random bytes for padding, refilled in blocks. */
class PaddingPool {
  private pool: Uint8Array = new Uint8Array(0);
  private pos = 0;
  constructor(private readonly random: RandomSource) {}
  fill(dst: Uint8Array): void {
    if (this.pos + dst.length > this.pool.length) {
      this.pool = this.random.bytes(4096);
      this.pos = 0;
    }
    dst.set(this.pool.subarray(this.pos, this.pos + dst.length));
    this.pos += dst.length;
  }
}

export class PacketWriter {
  seq = 0;
  /** Total bytes of payload sealed since the last reset (for rekey by volume). */
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  private readonly padding: PaddingPool;
  compressor: Compressor | null = null;

  constructor(public sealer: PacketSealer, random: RandomSource) {
    this.padding = new PaddingPool(random);
  }

  /** Seals one payload into wire bytes. */
  seal(payloadIn: Uint8Array): Uint8Array {
    const payload = this.compressor ? this.compressor.compress(payloadIn) : payloadIn;
    const s = this.sealer;
    const block = Math.max(8, s.blockSize);
    const unpadded = 4 + 1 + payload.length - s.aadLength;
    let padLen = block - (unpadded % block);
    if (padLen < 4) padLen += block;
    const packetLength = 1 + payload.length + padLen;
    const packet = new Uint8Array(4 + packetLength);
    packet[0] = packetLength >>> 24;
    packet[1] = (packetLength >>> 16) & 0xff;
    packet[2] = (packetLength >>> 8) & 0xff;
    packet[3] = packetLength & 0xff;
    packet[4] = padLen;
    packet.set(payload, 5);
    this.padding.fill(packet.subarray(5 + payload.length));
    const wire = s.seal(this.seq, packet);
    this.seq = (this.seq + 1) >>> 0;
    this.bytesSinceKex += wire.length;
    this.packetsSinceKex++;
    return wire;
  }
}

export class PacketReader {
  seq = 0;
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  decompressor: Decompressor | null = null;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private pendingLength = -1;

  constructor(public opener: PacketOpener) {}

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
  }

  private take(n: number): Uint8Array {
    // Returns exactly n bytes from the front of the queue (a view when possible).
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (o === n) break;
    }
    return out;
  }

  /**
   * Returns the next payload, or null when more bytes are needed. Throws
   * ProtocolError / MacError on bad input.
   */
  next(): Uint8Array | null {
    const o = this.opener;
    if (this.pendingLength < 0) {
      if (this.buffered < o.lengthPrefix) return null;
      const len = o.decryptLength(this.seq, this.peek(o.lengthPrefix));
      if (len < 5 || len > MAX_PACKET_LENGTH) throw new ProtocolError(`bad packet length ${len}`);
      this.pendingLength = len;
    }
    const total = 4 + this.pendingLength + o.macLength;
    if (this.buffered < total) return null;
    const wire = this.take(total);
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
}
