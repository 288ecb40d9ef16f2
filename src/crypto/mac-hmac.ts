/**
 * HMAC packet MACs (RFC 4253 section 6.4, RFC 6668, OpenSSH PROTOCOL 1.7 for
 * the -etm@openssh.com forms). The MAC input is uint32 seq || data; whether
 * `data` is the plaintext packet or length || ciphertext is decided by the
 * packet layer (packet-block-mac.ts).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { MacName } from '../protocol/algorithms.js';
import type { MacInfo } from '../protocol/crypto-api.js';

type MacHash = 'sha1' | 'sha256' | 'sha512';

interface MacEntry extends MacInfo {
  readonly hash: MacHash;
}

function entry(name: MacName, hash: MacHash, length: number, etm: boolean): MacEntry {
  return Object.freeze({ name, hash, keyLength: length, macLength: length, etm });
}

const MACS: Readonly<Record<MacName, MacEntry>> = {
  'hmac-sha2-256-etm@openssh.com': entry('hmac-sha2-256-etm@openssh.com', 'sha256', 32, true),
  'hmac-sha2-512-etm@openssh.com': entry('hmac-sha2-512-etm@openssh.com', 'sha512', 64, true),
  'hmac-sha1-etm@openssh.com': entry('hmac-sha1-etm@openssh.com', 'sha1', 20, true),
  'hmac-sha2-256': entry('hmac-sha2-256', 'sha256', 32, false),
  'hmac-sha2-512': entry('hmac-sha2-512', 'sha512', 64, false),
  'hmac-sha1': entry('hmac-sha1', 'sha1', 20, false),
};

export function macEntry(name: MacName): MacEntry {
  if (!Object.hasOwn(MACS, name)) throw new RangeError(`mac: unknown MAC algorithm ${JSON.stringify(name)}`);
  return MACS[name];
}

export function macInfo(name: MacName): MacInfo {
  const { hash: _hash, ...info } = macEntry(name);
  return info;
}

/** A keyed packet MAC for one direction. */
export interface PacketMac {
  readonly length: number;
  /** Writes MAC(key, uint32 seq || data) to out[offset .. offset+length]. */
  computeInto(seq: number, data: Uint8Array, out: Uint8Array, offset: number): void;
  /** Constant-time check of MAC(key, uint32 seq || data) against `tag`. */
  verify(seq: number, data: Uint8Array, tag: Uint8Array): boolean;
  dispose(): void;
}

export type MacFactory = (name: MacName, key: Uint8Array) => PacketMac;

function checkKey(e: MacEntry, key: Uint8Array): void {
  if (key.length < e.keyLength) throw new RangeError(`mac: ${e.name} needs a ${e.keyLength}-byte key, got ${key.length}`);
}

/** Equal-length comparison whose time does not depend on where bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function seqBytes(seq: number, into: Uint8Array): Uint8Array {
  into[0] = seq >>> 24; into[1] = seq >>> 16; into[2] = seq >>> 8; into[3] = seq;
  return into;
}

export const createNodeMac: MacFactory = (name, key) => {
  const e = macEntry(name);
  checkKey(e, key);
  let keyObject: KeyObject | null = createSecretKey(key.subarray(0, e.keyLength));
  const seqBuf = new Uint8Array(4);
  const tmp = new Uint8Array(e.macLength);
  const digest = (seq: number, data: Uint8Array): Buffer => {
    if (keyObject === null) throw new Error('mac: used after dispose');
    return createHmac(e.hash, keyObject).update(seqBytes(seq, seqBuf)).update(data).digest();
  };
  return {
    length: e.macLength,
    computeInto(seq, data, out, offset) {
      out.set(digest(seq, data), offset);
    },
    verify(seq, data, tag) {
      tmp.set(digest(seq, data));
      return constantTimeEqual(tmp, tag);
    },
    dispose() {
      keyObject = null;
    },
  };
};

const nobleHashes = { sha1, sha256, sha512 } as const;

export const createNobleMac: MacFactory = (name, key) => {
  const e = macEntry(name);
  checkKey(e, key);
  // Keyed once; each packet clones the keyed inner/outer state.
  let base: ReturnType<typeof hmac.create> | null = hmac.create(nobleHashes[e.hash], key.subarray(0, e.keyLength));
  const seqBuf = new Uint8Array(4);
  const tmp = new Uint8Array(e.macLength);
  const digestInto = (seq: number, data: Uint8Array, out: Uint8Array): void => {
    if (base === null) throw new Error('mac: used after dispose');
    base.clone().update(seqBytes(seq, seqBuf)).update(data).digestInto(out);
  };
  return {
    length: e.macLength,
    computeInto(seq, data, out, offset) {
      if (offset === 0 && out.length === e.macLength) digestInto(seq, data, out);
      else {
        digestInto(seq, data, tmp);
        out.set(tmp, offset);
      }
    },
    verify(seq, data, tag) {
      digestInto(seq, data, tmp);
      return constantTimeEqual(tmp, tag);
    },
    dispose() {
      base?.destroy();
      base = null;
      tmp.fill(0);
    },
  };
};
