/** The 'none' cipher and MAC in force before the first NEWKEYS. */
import type { PacketOpener, PacketSealer } from './crypto-api.js';

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
    decryptLength: (_seq, head) => ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0,
    open: (_seq, wire) => wire.subarray(4),
    dispose: () => undefined,
  };
  return { sealer, opener };
}
