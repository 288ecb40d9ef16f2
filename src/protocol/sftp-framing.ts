/**
 * SFTP packet framing: `uint32 length, byte type, payload`. The deframer
 * takes arbitrary chunks and yields whole packets (type byte first), as a
 * view into the incoming chunk when the packet lies inside one, copied only
 * when it straddles chunks. The declared length is checked against the cap
 * before any byte is buffered for it.
 */
import { ProtocolError } from './errors.js';
import { SFTP_MAX_PACKET } from './sftp-constants.js';
import { Writer } from './wire.js';

export class SftpDeframer {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Length of the packet being assembled, or -1 while its header is incomplete. */
  private want = -1;

  constructor(private readonly maxPacket = SFTP_MAX_PACKET) {}

  /** Bytes held that do not yet form a packet. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole packet (type byte + payload), or null. Throws ProtocolError on a bad length. */
  next(): Uint8Array | null {
    if (!this.ready()) return null;
    const out = this.take(this.want);
    this.want = -1;
    return out;
  }

  /**
   * The next whole packet as views of the chunks it arrived in, never
   * copied (a 255 KiB DATA reply spans ~8 channel packets), or null.
   */
  nextParts(): Uint8Array[] | null {
    if (!this.ready()) return null;
    const out: Uint8Array[] = [];
    let left = this.want;
    while (left > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, left);
      out.push(k === c.length ? c : c.subarray(0, k));
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
      left -= k;
    }
    this.buffered -= this.want;
    this.want = -1;
    return out;
  }

  /** True when a whole packet is buffered; reads (and checks) its length first. */
  private ready(): boolean {
    if (this.want < 0) {
      if (this.buffered < 4) return false;
      const head = this.take(4);
      const len = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
      if (len === 0) throw new ProtocolError('SFTP packet with length 0');
      if (len > this.maxPacket) throw new ProtocolError(`SFTP packet of ${len} bytes exceeds the ${this.maxPacket}-byte cap`);
      this.want = len;
    }
    return this.buffered >= this.want;
  }

  private take(n: number): Uint8Array {
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
}

/** A Writer with room for the length prefix; `finish` fills it in and returns the framed packet. */
export function packetWriter(type: number, sizeHint = 64): Writer {
  return new Writer(sizeHint + 5, 4).byte(type);
}

export function finishPacket(w: Writer): Uint8Array {
  const out = w.view(0);
  const len = out.length - 4;
  out[0] = (len >>> 24) & 0xff;
  out[1] = (len >>> 16) & 0xff;
  out[2] = (len >>> 8) & 0xff;
  out[3] = len & 0xff;
  return out;
}
