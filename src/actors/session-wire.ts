/**
 * The session channel request payloads (RFC 4254 §6) in the shapes the actors
 * use. A thin adapter: every byte is encoded and decoded by
 * src/protocol/session-requests.ts, so there is one codec per request.
 */
import { ProtocolError } from '../protocol/errors.js';
import { decodeSessionRequest, encodeSessionRequest, type SessionRequest } from '../protocol/session-requests.js';

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

type Of<T extends SessionRequest['type']> = Extract<SessionRequest, { type: T }>;

function encode(req: SessionRequest): Uint8Array {
  return encodeSessionRequest(req).data;
}

function decode<T extends SessionRequest['type']>(type: T, data: Uint8Array): Of<T> {
  const req = decodeSessionRequest(type, data);
  if (!req || req.type !== type) throw new ProtocolError(`malformed ${type} request`);
  return req as Of<T>;
}

export function encodePtyRequest(p: PtyRequest): Uint8Array {
  for (const op of Object.keys(p.modes)) {
    const code = Number(op);
    if (!Number.isInteger(code) || code < 1 || code > 159) throw new RangeError(`termModes: bad opcode ${op}`);
  }
  return encode({ type: 'pty-req', ...p });
}

export function decodePtyRequest(data: Uint8Array): PtyRequest {
  const { type: _t, ...rest } = decode('pty-req', data);
  return rest;
}

export function encodeWindowChange(cols: number, rows: number, widthPx = 0, heightPx = 0): Uint8Array {
  return encode({ type: 'window-change', cols, rows, widthPx, heightPx });
}

export function decodeWindowChange(data: Uint8Array): { cols: number; rows: number; widthPx: number; heightPx: number } {
  const { type: _t, ...rest } = decode('window-change', data);
  return rest;
}

export function encodeEnv(name: string, value: string): Uint8Array {
  return encode({ type: 'env', name, value });
}

export function decodeEnv(data: Uint8Array): { name: string; value: string } {
  const { name, value } = decode('env', data);
  return { name, value };
}

export const encodeExec = (command: string): Uint8Array => encode({ type: 'exec', command });
export const encodeSubsystem = (name: string): Uint8Array => encode({ type: 'subsystem', name });
export const encodeSignal = (signal: string): Uint8Array => encode({ type: 'signal', signal });
export const decodeExec = (data: Uint8Array): string => decode('exec', data).command;
export const decodeSubsystem = (data: Uint8Array): string => decode('subsystem', data).name;
export const decodeSignal = (data: Uint8Array): string => decode('signal', data).signal;

export function encodeExitStatus(status: number): Uint8Array {
  return encode({ type: 'exit-status', status: status >>> 0 });
}

export function decodeExitStatus(data: Uint8Array): number {
  return decode('exit-status', data).status;
}

export function encodeExitSignal(s: ExitSignal): Uint8Array {
  return encode({ type: 'exit-signal', ...s });
}

export function decodeExitSignal(data: Uint8Array): ExitSignal {
  const { type: _t, ...rest } = decode('exit-signal', data);
  return rest;
}

export function encodeBreak(ms: number): Uint8Array {
  return encode({ type: 'break', breakLength: ms >>> 0 });
}

export function decodeBreak(data: Uint8Array): number {
  return decode('break', data).breakLength;
}

export function decodeX11Request(data: Uint8Array): { singleConnection: boolean; authProtocol: string; authCookie: string; screen: number } {
  const { type: _t, ...rest } = decode('x11-req', data);
  return rest;
}
