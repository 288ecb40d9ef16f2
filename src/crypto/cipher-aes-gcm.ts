/**
 * aes128-gcm@openssh.com / aes256-gcm@openssh.com (RFC 5647 as OpenSSH
 * implements it, PROTOCOL 1.6): packet_length in clear as the AAD, a 12-byte
 * nonce = 4-byte fixed field || 8-byte invocation counter that is incremented
 * (big-endian, mod 2^64) after every packet, and a 16-byte tag.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import type { PacketKeys, PacketOpener, PacketSealer } from '../protocol/crypto-api.js';
import type { DetachingOpener, PieceSealer } from '../protocol/packet-codec.js';
import { MacError } from '../protocol/errors.js';
import { takeKey, type CipherEntry } from './cipher-table.js';
import { cipherSegments, copyOf, checkPacketLength, checkSealInput, checkSealParts, checkWireLength, joinParts, readUint32BE } from './packet-length.js';
import { WirePieces } from './packet-pieces.js';

const TAG = 16;
const BLOCK = 16;

/** Increments the invocation counter (bytes 4..12) as a big-endian uint64. */
function nextNonce(nonce: Uint8Array): void {
  for (let i = 11; i >= 4; i--) {
    nonce[i] = (nonce[i] + 1) & 0xff;
    if (nonce[i] !== 0) return;
  }
}

/** The per-packet AEAD primitive; the framing around it is shared below. */
interface GcmCore {
  /**
   * The wire bytes of a packet of `n` bytes given as parts: packet[0..4] (the
   * AAD) in clear, then ciphertext of packet[4..n], then the tag.
   */
  seal(nonce: Uint8Array, parts: readonly Uint8Array[], n: number): Uint8Array;
  /**
   * The same wire bytes as seal(), as pieces in order, where the large parts'
   * ciphertext stays in the buffers the cipher returned (no joined copy).
   */
  sealPieces?(nonce: Uint8Array, parts: readonly Uint8Array[], n: number): Uint8Array[];
  /** Plaintext of wire[4..end] or null when the tag does not verify. */
  open(nonce: Uint8Array, wire: Uint8Array, end: number): Uint8Array | null;
  dispose(): void;
}

function nodeCore(e: CipherEntry, key: Uint8Array): GcmCore {
  let k: KeyObject | null = createSecretKey(key);
  const live = (): KeyObject => {
    if (k === null) throw new Error('cipher: used after dispose');
    return k;
  };
  return {
    seal(nonce, parts, n) {
      const c = createCipheriv(e.openssl as 'aes-128-gcm', live(), nonce, { authTagLength: TAG });
      const head = parts[0]!;
      c.setAAD(head.subarray(0, 4));
      // Every byte of `out` is written below, so it need not be zeroed first.
      const out = Buffer.allocUnsafe(n + TAG);
      out.set(head.subarray(0, 4), 0);
      let o = 4;
      for (const seg of cipherSegments(parts, 4)) {
        const enc = c.update(seg);
        out.set(enc, o);
        o += enc.length;
      }
      const last = c.final();
      if (last.length > 0) out.set(last, o);
      out.set(c.getAuthTag(), n);
      return out;
    },
    sealPieces(nonce, parts, n) {
      const c = createCipheriv(e.openssl as 'aes-128-gcm', live(), nonce, { authTagLength: TAG });
      const head = parts[0]!;
      c.setAAD(head.subarray(0, 4));
      const out = new WirePieces();
      out.add(head.slice(0, 4));
      for (const seg of cipherSegments(parts, 4)) out.add(c.update(seg));
      c.final();
      out.add(c.getAuthTag());
      if (out.total !== n + TAG) throw new Error(`aes-gcm: sealed ${out.total} of ${n + TAG} bytes`);
      return out.finish();
    },
    open(nonce, wire, end) {
      const d = createDecipheriv(e.openssl as 'aes-128-gcm', live(), nonce, { authTagLength: TAG });
      d.setAAD(wire.subarray(0, 4));
      d.setAuthTag(wire.subarray(end, end + TAG));
      const plain = d.update(wire.subarray(4, end));
      try {
        d.final();
      } catch {
        plain.fill(0);
        return null;
      }
      return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
    },
    dispose() {
      k = null;
    },
  };
}

function nobleCore(key: Uint8Array): GcmCore {
  const k = copyOf(key);
  return {
    seal(nonce, parts, n) {
      const packet = joinParts(parts);
      const out = new Uint8Array(n + TAG);
      out.set(packet.subarray(0, 4), 0);
      out.set(gcm(k, nonce, packet.subarray(0, 4)).encrypt(packet.subarray(4)), 4);
      return out;
    },
    open(nonce, wire, end) {
      try {
        return gcm(k, nonce, wire.subarray(0, 4)).decrypt(wire.subarray(4, end + TAG));
      } catch {
        return null;
      }
    },
    dispose() {
      k.fill(0);
    },
  };
}

function makeCore(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): { core: GcmCore; nonce: Uint8Array } {
  const key = takeKey(e, 'key', keys.encKey);
  const nonce = copyOf(takeKey(e, 'iv', keys.iv));
  return { core: impl === 'node' ? nodeCore(e, key) : nobleCore(key), nonce };
}

export function createGcmSealer(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): PacketSealer {
  const { core, nonce } = makeCore(e, keys, impl);
  const sealer: PacketSealer = {
    blockSize: BLOCK,
    aadLength: 4,
    macLength: TAG,
    seal(_seq, packet) {
      checkSealInput(packet, BLOCK, 4);
      const out = core.seal(nonce, [packet], packet.length);
      nextNonce(nonce);
      return out;
    },
    sealParts(_seq, parts) {
      const n = checkSealParts(parts, BLOCK, 4);
      const out = core.seal(nonce, parts, n);
      nextNonce(nonce);
      return out;
    },
    dispose() {
      core.dispose();
      nonce.fill(0);
    },
  };
  const pieces = core.sealPieces;
  if (!pieces) return sealer;
  const withPieces: PieceSealer = {
    ...sealer,
    sealPieces(_seq, parts) {
      const n = checkSealParts(parts, BLOCK, 4);
      const out = pieces(nonce, parts, n);
      nextNonce(nonce);
      return out;
    },
  };
  return withPieces;
}

export function createGcmOpener(e: CipherEntry, keys: PacketKeys, impl: 'node' | 'noble'): PacketOpener {
  const { core, nonce } = makeCore(e, keys, impl);
  let len = -1;
  // open() returns the cipher's new output buffer and keeps no view of `wire`.
  const opener: DetachingOpener = {
    detachesOutput: true,
    blockSize: BLOCK,
    macLength: TAG,
    lengthPrefix: 4,
    decryptLength(_seq, head) {
      len = checkPacketLength(readUint32BE(head, 0), BLOCK, 4);
      return len;
    },
    open(_seq, wire) {
      checkWireLength(wire, len, TAG);
      const plain = core.open(nonce, wire, 4 + len);
      if (plain === null) throw new MacError();
      nextNonce(nonce);
      return plain;
    },
    dispose() {
      core.dispose();
      nonce.fill(0);
    },
  };
  return opener;
}
