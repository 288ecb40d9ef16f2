/** Shared packet_length handling for every opener. */
import { ProtocolError } from '../protocol/errors.js';
import { joinParts, partsLength } from '../protocol/wire.js';

export { joinParts, partsLength };

/** OpenSSH's PACKET_MAX_SIZE; anything larger is treated as garbage (e.g. a wrong key). */
export const MAX_PACKET_LENGTH = 256 * 1024;

export function readUint32BE(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function writeUint32BE(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}

/**
 * Rejects an absurd packet_length, or one whose aligned region (the whole
 * packet, or everything after the length when `aadLength` is 4) is not a
 * multiple of the block size.
 */
export function checkPacketLength(len: number, blockSize: number, aadLength: 0 | 4): number {
  if (len < 5 || len > MAX_PACKET_LENGTH) throw new ProtocolError(`bad packet length ${len}`);
  if ((len + 4 - aadLength) % blockSize !== 0) throw new ProtocolError(`packet length ${len} is not a multiple of the block size ${blockSize}`);
  return len;
}

/** The framer hands open() exactly 4 + packet_length + macLength bytes. */
export function checkWireLength(wire: Uint8Array, len: number, macLength: number): void {
  if (wire.length !== 4 + len + macLength) {
    throw new ProtocolError(`packet of ${wire.length} bytes does not match its length ${len} + MAC ${macLength}`);
  }
}

/** The sealer's input must already be padded to the block size. */
export function checkSealInput(packet: Uint8Array, blockSize: number, aadLength: 0 | 4): void {
  if (packet.length < 4 + 5 || (packet.length - aadLength) % blockSize !== 0) {
    throw new RangeError(`seal: packet of ${packet.length} bytes is not padded to the block size ${blockSize}`);
  }
}

/** A private copy (Buffer#slice would return a view of the caller's key). */
export function copyOf(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return new Uint8Array(b.subarray(start, end));
}

/** Parts shorter than this are joined before they reach a cipher (one call each costs more than the copy). */
const SMALL_PART = 512;

/**
 * The bytes of `parts` from offset `skip` on, as the pieces a streaming
 * cipher should be fed: large parts as they are (views, no copy), runs of
 * small parts joined into one buffer. `skip` must lie inside parts[0].
 */
export function cipherSegments(parts: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runLength = 0;
  const flush = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) {
      const joined = new Uint8Array(runLength);
      let o = 0;
      for (const r of run) {
        joined.set(r, o);
        o += r.length;
      }
      out.push(joined);
    }
    run = [];
    runLength = 0;
  };
  for (let i = 0; i < parts.length; i++) {
    const p = i === 0 ? parts[0]!.subarray(skip) : parts[i]!;
    if (p.length === 0) continue;
    if (p.length >= SMALL_PART) {
      flush();
      out.push(p);
    } else {
      run.push(p);
      runLength += p.length;
    }
  }
  flush();
  return out;
}

/** Same check as checkSealInput, for a packet given as parts. */
export function checkSealParts(parts: readonly Uint8Array[], blockSize: number, aadLength: 0 | 4): number {
  const n = partsLength(parts);
  if (parts.length === 0 || parts[0]!.length < 5 || n < 4 + 5 || (n - aadLength) % blockSize !== 0) {
    throw new RangeError(`sealParts: packet of ${n} bytes (first part ${parts[0]?.length ?? 0}) is not a header-led packet padded to the block size ${blockSize}`);
  }
  return n;
}
