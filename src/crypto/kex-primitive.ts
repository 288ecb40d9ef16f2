/**
 * The key-agreement half of every kex method: make an ephemeral key pair,
 * combine with the peer's public value, and return wire-encoded values
 * (public as it appears in the message and the exchange hash, K as the method
 * encodes it). Hashing and signing are composed on top in handshake.ts.
 */
import type { DhGroup } from '../protocol/crypto-api.js';
import { Reader } from '../protocol/wire.js';
import { KeyExchangeFailed, SSHError } from '../protocol/errors.js';

export interface KexKeyPair {
  /** Wire-encoded public value: string(Q) for ECDH-style methods, mpint(e) for DH. */
  readonly publicWire: Uint8Array;
  /** The private value, in the primitive's own encoding (opaque to callers). */
  readonly secret: Uint8Array;
}

export interface KexPrimitive {
  generate(group?: DhGroup): KexKeyPair;
  /** Client side: K, wire-encoded, from our secret and the server's public value. */
  agree(secret: Uint8Array, peerPublicWire: Uint8Array, group?: DhGroup): Uint8Array;
  /** Server side: our public value and K in one step (KEM-style methods need this shape). */
  respond(peerPublicWire: Uint8Array, group?: DhGroup): { publicWire: Uint8Array; sharedWire: Uint8Array };
}

/** Reads the single SSH string that is the whole of `wire`; anything else is a kex failure. */
export function unwrapString(wire: Uint8Array, what: string): Uint8Array {
  return asKexFailure(what, () => {
    const r = new Reader(wire, what);
    const v = r.string(what);
    r.end();
    return v;
  });
}

/** Reads the single mpint that is the whole of `wire`. */
export function unwrapMpint(wire: Uint8Array, what: string): bigint {
  return asKexFailure(what, () => {
    const r = new Reader(wire, what);
    const v = r.mpint(what);
    r.end();
    return v;
  });
}

/** Runs `fn`, turning any failure into KeyExchangeFailed naming `what`. */
export function asKexFailure<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyExchangeFailed) throw err;
    const detail = err instanceof SSHError || err instanceof Error ? err.message : String(err);
    throw new KeyExchangeFailed(`invalid ${what}: ${detail}`);
  }
}

export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}
