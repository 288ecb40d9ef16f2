/**
 * The session channel request payloads (RFC 4254 §6) the actors send and
 * read, in one place: the actors call these and never build request bytes
 * themselves. Delegates to src/protocol/session-requests.ts once it exists.
 */
import { Reader, Writer } from '../protocol/wire.js';

export type TermSize = readonly [cols: number, rows: number] | readonly [cols: number, rows: number, widthPx: number, heightPx: number];

export interface PtyRequest {
  termType: string;
  cols: number;
  rows: number;
  widthPx: number;
  heightPx: number;
  /** Opcode -> value (RFC 4254 §8). */
  modes: Record<number, number>;
}

export interface ExitSignal {
  signal: string;
  coreDumped: boolean;
  message: string;
  lang: string;
}

export function encodePtyRequest(p: PtyRequest): Uint8Array {
  const modes = new Writer(64);
  for (const [op, value] of Object.entries(p.modes)) {
    const code = Number(op);
    if (!Number.isInteger(code) || code < 1 || code > 159) throw new RangeError(`termModes: bad opcode ${op}`);
    modes.byte(code).uint32(value >>> 0);
  }
  modes.byte(0);
  return new Writer(64)
    .string(p.termType)
    .uint32(p.cols)
    .uint32(p.rows)
    .uint32(p.widthPx)
    .uint32(p.heightPx)
    .string(modes.toBytes())
    .toBytes();
}

export function decodePtyRequest(data: Uint8Array): PtyRequest {
  const r = new Reader(data, 'pty-req');
  const termType = r.utf8('term', 256);
  const cols = r.uint32('cols');
  const rows = r.uint32('rows');
  const widthPx = r.uint32('width');
  const heightPx = r.uint32('height');
  const mr = new Reader(r.string('modes', 4096), 'terminal modes');
  r.end();
  const modes: Record<number, number> = {};
  while (mr.remaining > 0) {
    const op = mr.byte('opcode');
    if (op === 0) break;
    if (op >= 160) break; // opcodes 160-255 have undefined arguments: stop parsing (RFC 4254 §8)
    modes[op] = mr.uint32('mode value');
  }
  return { termType, cols, rows, widthPx, heightPx, modes };
}

export function encodeWindowChange(cols: number, rows: number, widthPx = 0, heightPx = 0): Uint8Array {
  return new Writer(16).uint32(cols).uint32(rows).uint32(widthPx).uint32(heightPx).toBytes();
}

export function decodeWindowChange(data: Uint8Array): { cols: number; rows: number; widthPx: number; heightPx: number } {
  const r = new Reader(data, 'window-change');
  const v = { cols: r.uint32('cols'), rows: r.uint32('rows'), widthPx: r.uint32('width'), heightPx: r.uint32('height') };
  r.end();
  return v;
}

export function encodeEnv(name: string, value: string): Uint8Array {
  return new Writer(32).string(name).string(value).toBytes();
}

export function decodeEnv(data: Uint8Array): { name: string; value: string } {
  const r = new Reader(data, 'env');
  const v = { name: r.utf8('name', 4096), value: r.utf8('value', 65536) };
  r.end();
  return v;
}

/** exec's command, subsystem's name, signal's name: one string. */
export function encodeStringRequest(s: string): Uint8Array {
  return new Writer(s.length + 8).string(s).toBytes();
}

export function decodeStringRequest(data: Uint8Array, what: string, max = 256 * 1024): string {
  const r = new Reader(data, what);
  const s = r.utf8(what, max);
  r.end();
  return s;
}

export function encodeExitStatus(status: number): Uint8Array {
  return new Writer(4).uint32(status >>> 0).toBytes();
}

export function decodeExitStatus(data: Uint8Array): number {
  const r = new Reader(data, 'exit-status');
  const v = r.uint32('status');
  r.end();
  return v;
}

export function encodeExitSignal(s: ExitSignal): Uint8Array {
  return new Writer(64).string(s.signal).boolean(s.coreDumped).string(s.message).string(s.lang).toBytes();
}

export function decodeExitSignal(data: Uint8Array): ExitSignal {
  const r = new Reader(data, 'exit-signal');
  const v = { signal: r.utf8('signal', 256), coreDumped: r.boolean('core dumped'), message: r.utf8('message', 65536), lang: r.utf8('lang', 256) };
  r.end();
  return v;
}

export function encodeBreak(ms: number): Uint8Array {
  return new Writer(4).uint32(ms >>> 0).toBytes();
}

export function decodeBreak(data: Uint8Array): number {
  const r = new Reader(data, 'break');
  const v = r.uint32('break length');
  r.end();
  return v;
}
