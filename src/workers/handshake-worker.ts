/**
 * Piscina worker entry: runs one HandshakeRequest through runHandshake and
 * returns the result, moving (not copying) result buffers that own their
 * whole ArrayBuffer back to the calling thread.
 */
import { Piscina } from 'piscina';
import type { HandshakeRequest, HandshakeResult } from '../protocol/crypto-api.js';
import { runHandshake } from '../crypto/handshake.js';
import { toTaskFailure } from './task-errors.js';

function ownedBuffers(result: HandshakeResult): ArrayBuffer[] {
  const views: Uint8Array[] = result instanceof Uint8Array ? [result] : typeof result === 'object' ? Object.values(result).filter((v): v is Uint8Array => v instanceof Uint8Array) : [];
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    // A view into a shared pool (e.g. Buffer's) must not be transferred: it would detach the pool.
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  }
  return [...out];
}

export default function handshakeTask(req: HandshakeRequest): unknown {
  let result: HandshakeResult;
  try {
    result = runHandshake(req);
  } catch (err) {
    return toTaskFailure(err);
  }
  const transfer = ownedBuffers(result);
  if (transfer.length === 0) return result;
  return Piscina.move({ [Piscina.transferableSymbol]: transfer, [Piscina.valueSymbol]: result } as unknown as Parameters<typeof Piscina.move>[0]);
}
