/** The 'none' cipher and MAC in force before the first NEWKEYS. */
import type { PacketOpener, PacketSealer } from './crypto-api.js';
import { ProtocolError } from './errors.js';

export function createNullSealerOpener(): { sealer: PacketSealer; opener: PacketOpener } {
  const sealer: PacketSealer = {
    blockSize: 8,
    aadLength: 0,
    macLength: 0,
    seal: (_seq, packet) => packet,
    dispose: () => undefined,
  };
  const opener: PacketOpener = {
    blockSize: 8,
    macLength: 0,
    lengthPrefix: 4,
    decryptLength: (_seq, head) => {
      const len = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
      // RFC 4253 §6: the whole packet is a multiple of the block size (8 here).
      if ((len + 4) % 8 !== 0) throw new ProtocolError(`packet length ${len} is not a multiple of the block size`);
      return len;
    },
    open: (_seq, wire) => wire.subarray(4),
    dispose: () => undefined,
  };
  return { sealer, opener };
}
