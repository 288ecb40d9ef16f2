/**
 * Session channel requests (RFC 4254 §6, RFC 4335 break, OpenSSH
 * auth-agent-req@openssh.com) and the type-specific data of tcpip channel
 * opens (RFC 4254 §7), as pure encode/decode functions. `data` is what
 * follows the want-reply flag of CHANNEL_REQUEST (or the open's fixed fields).
 * Decoders throw ProtocolError on malformed input.
 */
import { ProtocolError } from './errors.js';
import { Reader, Writer } from './wire.js';

/** Terminal mode opcodes (RFC 4254 §8, RFC 4250 §4.5.2, IUTF8 from RFC 8160). */
export const TerminalMode = {
  TTY_OP_END: 0,
  VINTR: 1, VQUIT: 2, VERASE: 3, VKILL: 4, VEOF: 5, VEOL: 6, VEOL2: 7, VSTART: 8, VSTOP: 9,
  VSUSP: 10, VDSUSP: 11, VREPRINT: 12, VWERASE: 13, VLNEXT: 14, VFLUSH: 15, VSWTCH: 16, VSTATUS: 17, VDISCARD: 18,
  IGNPAR: 30, PARMRK: 31, INPCK: 32, ISTRIP: 33, INLCR: 34, IGNCR: 35, ICRNL: 36, IUCLC: 37,
  IXON: 38, IXANY: 39, IXOFF: 40, IMAXBEL: 41, IUTF8: 42,
  ISIG: 50, ICANON: 51, XCASE: 52, ECHO: 53, ECHOE: 54, ECHOK: 55, ECHONL: 56, NOFLSH: 57,
  TOSTOP: 58, IEXTEN: 59, ECHOCTL: 60, ECHOKE: 61, PENDIN: 62,
  OPOST: 70, OLCUC: 71, ONLCR: 72, OCRNL: 73, ONOCR: 74, ONLRET: 75,
  CS7: 90, CS8: 91, PARENB: 92, PARODD: 93,
  TTY_OP_ISPEED: 128, TTY_OP_OSPEED: 129,
} as const;

/** Opcode -> uint32 argument. Encoded in ascending opcode order. */
export type TerminalModes = Record<number, number>;

export type SessionRequest =
  | { type: 'pty-req'; termType: string; cols: number; rows: number; widthPx: number; heightPx: number; modes: TerminalModes }
  | { type: 'x11-req'; singleConnection: boolean; authProtocol: string; authCookie: string; screen: number }
  | { type: 'env'; name: string; value: string }
  | { type: 'shell' }
  | { type: 'exec'; command: string }
  | { type: 'subsystem'; name: string }
  | { type: 'window-change'; cols: number; rows: number; widthPx: number; heightPx: number }
  | { type: 'xon-xoff'; clientCanDo: boolean }
  /** Signal name without the "SIG" prefix (RFC 4254 §6.10). */
  | { type: 'signal'; signal: string }
  | { type: 'exit-status'; status: number }
  | { type: 'exit-signal'; signal: string; coreDumped: boolean; message: string; lang: string }
  /** Break length in milliseconds (RFC 4335). */
  | { type: 'break'; breakLength: number }
  | { type: 'auth-agent-req@openssh.com' };

export type SessionRequestType = SessionRequest['type'];

const SESSION_REQUEST_TYPES: readonly string[] = [
  'pty-req', 'x11-req', 'env', 'shell', 'exec', 'subsystem', 'window-change', 'xon-xoff',
  'signal', 'exit-status', 'exit-signal', 'break', 'auth-agent-req@openssh.com',
];

export function encodeTerminalModes(modes: TerminalModes): Uint8Array {
  const w = new Writer(64);
  for (const [key, value] of Object.entries(modes)) {
    const op = Number(key);
    if (!Number.isInteger(op) || op < 1 || op > 159) throw new RangeError(`modes: opcode ${key} is not between 1 and 159`);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`modes: value of opcode ${key} is not a uint32`);
    w.byte(op).uint32(value);
  }
  return w.byte(TerminalMode.TTY_OP_END).toBytes();
}

/** Parses until TTY_OP_END, the end of the string, or an opcode >= 160 (whose argument is undefined). */
export function decodeTerminalModes(encoded: Uint8Array): TerminalModes {
  const r = new Reader(encoded, 'terminal modes');
  const modes: TerminalModes = {};
  while (r.remaining > 0) {
    const op = r.byte('opcode');
    if (op === TerminalMode.TTY_OP_END || op >= 160) break;
    modes[op] = r.uint32('mode argument');
  }
  return modes;
}

function uint32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${field} must be a uint32`);
  return v;
}

/** Returns the CHANNEL_REQUEST request type and data for `req`. */
export function encodeSessionRequest(req: SessionRequest): { requestType: SessionRequestType; data: Uint8Array } {
  const w = new Writer(64);
  switch (req.type) {
    case 'pty-req':
      w.string(req.termType).uint32(uint32(req.cols, 'cols')).uint32(uint32(req.rows, 'rows'));
      w.uint32(uint32(req.widthPx, 'widthPx')).uint32(uint32(req.heightPx, 'heightPx')).string(encodeTerminalModes(req.modes));
      break;
    case 'x11-req':
      w.boolean(req.singleConnection).string(req.authProtocol).string(req.authCookie).uint32(uint32(req.screen, 'screen'));
      break;
    case 'env':
      w.string(req.name).string(req.value);
      break;
    case 'shell':
    case 'auth-agent-req@openssh.com':
      break;
    case 'exec':
      w.string(req.command);
      break;
    case 'subsystem':
      w.string(req.name);
      break;
    case 'window-change':
      w.uint32(uint32(req.cols, 'cols')).uint32(uint32(req.rows, 'rows'));
      w.uint32(uint32(req.widthPx, 'widthPx')).uint32(uint32(req.heightPx, 'heightPx'));
      break;
    case 'xon-xoff':
      w.boolean(req.clientCanDo);
      break;
    case 'signal':
      w.string(req.signal);
      break;
    case 'exit-status':
      w.uint32(uint32(req.status, 'status'));
      break;
    case 'exit-signal':
      w.string(req.signal).boolean(req.coreDumped).string(req.message).string(req.lang);
      break;
    case 'break':
      w.uint32(uint32(req.breakLength, 'breakLength'));
      break;
  }
  return { requestType: req.type, data: w.toBytes() };
}

/**
 * Decodes a session request; returns null for a request type this module
 * does not know (the caller answers FAILURE). Throws ProtocolError when the
 * data of a known type is malformed.
 */
export function decodeSessionRequest(requestType: string, data: Uint8Array): SessionRequest | null {
  if (!SESSION_REQUEST_TYPES.includes(requestType)) return null;
  const r = new Reader(data, requestType);
  let req: SessionRequest;
  switch (requestType as SessionRequestType) {
    case 'pty-req':
      req = {
        type: 'pty-req',
        termType: r.utf8('TERM', 1024),
        cols: r.uint32('cols'),
        rows: r.uint32('rows'),
        widthPx: r.uint32('width'),
        heightPx: r.uint32('height'),
        modes: decodeTerminalModes(r.string('terminal modes', 16384)),
      };
      break;
    case 'x11-req':
      req = {
        type: 'x11-req',
        singleConnection: r.boolean('single connection'),
        authProtocol: r.utf8('x11 auth protocol', 1024),
        authCookie: r.utf8('x11 auth cookie', 4096),
        screen: r.uint32('x11 screen number'),
      };
      break;
    case 'env':
      req = { type: 'env', name: r.utf8('variable name', 4096), value: r.utf8('variable value', 65536) };
      break;
    case 'shell':
      req = { type: 'shell' };
      break;
    case 'auth-agent-req@openssh.com':
      req = { type: 'auth-agent-req@openssh.com' };
      break;
    case 'exec':
      req = { type: 'exec', command: r.utf8('command', 256 * 1024) };
      break;
    case 'subsystem':
      req = { type: 'subsystem', name: r.utf8('subsystem name', 1024) };
      break;
    case 'window-change':
      req = { type: 'window-change', cols: r.uint32('cols'), rows: r.uint32('rows'), widthPx: r.uint32('width'), heightPx: r.uint32('height') };
      break;
    case 'xon-xoff':
      req = { type: 'xon-xoff', clientCanDo: r.boolean('client can do') };
      break;
    case 'signal':
      req = { type: 'signal', signal: r.utf8('signal name', 256) };
      break;
    case 'exit-status':
      req = { type: 'exit-status', status: r.uint32('exit status') };
      break;
    case 'exit-signal':
      req = {
        type: 'exit-signal',
        signal: r.utf8('signal name', 256),
        coreDumped: r.boolean('core dumped'),
        message: r.utf8('error message', 65536),
        lang: r.utf8('language tag', 256),
      };
      break;
    case 'break':
      req = { type: 'break', breakLength: r.uint32('break length') };
      break;
    default:
      throw new ProtocolError(`unhandled session request ${requestType}`);
  }
  r.end();
  return req;
}

/**
 * direct-tcpip (RFC 4254 §7.2): host/port to connect to, and the originator.
 * forwarded-tcpip has the same layout: the address/port that was connected
 * on the server, and the originator.
 */
export interface TcpipChannelData {
  host: string;
  port: number;
  originatorAddress: string;
  originatorPort: number;
}

export function encodeTcpipChannelData(d: TcpipChannelData): Uint8Array {
  return new Writer(64)
    .string(d.host)
    .uint32(uint32(d.port, 'port'))
    .string(d.originatorAddress)
    .uint32(uint32(d.originatorPort, 'originatorPort'))
    .toBytes();
}

export function decodeTcpipChannelData(data: Uint8Array, what: 'direct-tcpip' | 'forwarded-tcpip' = 'direct-tcpip'): TcpipChannelData {
  const r = new Reader(data, what);
  const d = {
    host: r.utf8('host', 1024),
    port: r.uint32('port'),
    originatorAddress: r.utf8('originator address', 1024),
    originatorPort: r.uint32('originator port'),
  };
  r.end();
  return d;
}

/** x11 channel open (RFC 4254 §6.3.2): originator address and port. */
export function encodeX11ChannelData(originatorAddress: string, originatorPort: number): Uint8Array {
  return new Writer(32).string(originatorAddress).uint32(uint32(originatorPort, 'originatorPort')).toBytes();
}

export function decodeX11ChannelData(data: Uint8Array): { originatorAddress: string; originatorPort: number } {
  const r = new Reader(data, 'x11 channel open');
  const d = { originatorAddress: r.utf8('originator address', 1024), originatorPort: r.uint32('originator port') };
  r.end();
  return d;
}
