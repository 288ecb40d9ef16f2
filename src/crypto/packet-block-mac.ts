/**
 * Packets protected by a block stream (AES-CTR/CBC, 3DES-CBC) and an HMAC.
 *
 * Encrypt-and-MAC (RFC 4253 6.4): the MAC covers seq || plaintext packet and
 * the length is encrypted, so the opener decrypts the first block to learn it.
 * Encrypt-then-MAC (OpenSSH PROTOCOL 1.7): the length travels in clear, the MAC
 * covers seq || length || ciphertext and is checked before anything is decrypted.
 */
import type { PacketOpener, PacketSealer } from '../protocol/crypto-api.js';
import { MacError } from '../protocol/errors.js';
import type { BlockStream } from './cipher-block-stream.js';
import type { PacketMac } from './mac-hmac.js';
import { checkPacketLength, checkSealInput, checkWireLength, readUint32BE } from './packet-length.js';

export function createBlockMacSealer(stream: BlockStream, mac: PacketMac, blockSize: number, etm: boolean): PacketSealer {
  const aadLength = etm ? 4 : 0;
  return {
    blockSize,
    aadLength,
    macLength: mac.length,
    seal(seq, packet) {
      checkSealInput(packet, blockSize, aadLength);
      const n = packet.length;
      const out = new Uint8Array(n + mac.length);
      if (etm) {
        out.set(packet.subarray(0, 4), 0);
        out.set(stream.update(packet.subarray(4)), 4);
        mac.computeInto(seq, out.subarray(0, n), out, n);
      } else {
        mac.computeInto(seq, packet, out, n);
        out.set(stream.update(packet), 0);
      }
      return out;
    },
    dispose() {
      stream.dispose();
      mac.dispose();
    },
  };
}

export function createBlockMacOpener(stream: BlockStream, mac: PacketMac, blockSize: number, etm: boolean): PacketOpener {
  let len = -1;
  let firstBlock: Uint8Array | null = null;
  return {
    blockSize,
    macLength: mac.length,
    lengthPrefix: etm ? 4 : blockSize,
    decryptLength(_seq, head) {
      if (etm) {
        len = checkPacketLength(readUint32BE(head, 0), blockSize, 4);
      } else {
        firstBlock = stream.update(head.subarray(0, blockSize));
        len = checkPacketLength(readUint32BE(firstBlock, 0), blockSize, 0);
      }
      return len;
    },
    open(seq, wire) {
      checkWireLength(wire, len, mac.length);
      const end = 4 + len;
      const tag = wire.subarray(end);
      if (etm) {
        if (!mac.verify(seq, wire.subarray(0, end), tag)) throw new MacError();
        return stream.update(wire.subarray(4, end));
      }
      if (firstBlock === null) throw new Error('open: decryptLength was not called');
      const plain = new Uint8Array(end);
      plain.set(firstBlock, 0);
      plain.set(stream.update(wire.subarray(blockSize, end)), blockSize);
      firstBlock = null;
      if (!mac.verify(seq, plain, tag)) throw new MacError();
      return plain.subarray(4);
    },
    dispose() {
      stream.dispose();
      mac.dispose();
      firstBlock?.fill(0);
    },
  };
}
