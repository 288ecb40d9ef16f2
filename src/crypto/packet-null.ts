/** The 'none' cipher and MAC in force before the first NEWKEYS (RFC 4253 6). */
import type { PacketOpener, PacketSealer } from '../protocol/crypto-api.js';
import { checkPacketLength, checkWireLength, readUint32BE } from './packet-length.js';

const BLOCK = 8;

export function createNullSealer(): PacketSealer {
  return {
    blockSize: BLOCK,
    aadLength: 0,
    macLength: 0,
    seal: (_seq, packet) => packet,
    dispose() {},
  };
}

export function createNullOpener(): PacketOpener {
  let len = -1;
  return {
    blockSize: BLOCK,
    macLength: 0,
    lengthPrefix: 4,
    decryptLength(_seq, head) {
      len = checkPacketLength(readUint32BE(head, 0), BLOCK, 0);
      return len;
    },
    open(_seq, wire) {
      checkWireLength(wire, len, 0);
      return wire.subarray(4, 4 + len);
    },
    dispose() {},
  };
}
