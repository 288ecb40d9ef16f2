/**
 * SFTP v3 requests (client -> server), draft-ietf-secsh-filexfer-02 §4–6,
 * one variant per packet type. `encodeRequest` returns a framed packet;
 * `decodeRequest` takes a packet from SftpDeframer (type byte first).
 *
 * SSH_FXP_SYMLINK: OpenSSH sends (targetpath, linkpath), the reverse of the
 * draft's order (OpenSSH PROTOCOL §4.1); every deployed server follows
 * OpenSSH, so we do too.
 */
import { ProtocolError } from './errors.js';
import { decodeAttrs, encodeAttrs, type SFTPAttrs } from './sftp-attrs.js';
import { Fxp } from './sftp-constants.js';
import { finishPacket, packetWriter } from './sftp-framing.js';
import { Reader } from './wire.js';

/** Handles are opaque; the draft caps them at 256 bytes. */
export const MAX_HANDLE = 256;
/** Path strings are capped well below the packet cap. */
export const MAX_PATH = 65536;

export type SftpRequest =
  | { kind: 'init'; version: number; extensions: Array<[string, Uint8Array]> }
  | { kind: 'open'; id: number; filename: string; pflags: number; attrs: SFTPAttrs }
  | { kind: 'close'; id: number; handle: Uint8Array }
  | { kind: 'read'; id: number; handle: Uint8Array; offset: number; len: number }
  | { kind: 'write'; id: number; handle: Uint8Array; offset: number; data: Uint8Array }
  | { kind: 'lstat' | 'stat' | 'opendir' | 'remove' | 'rmdir' | 'realpath' | 'readlink'; id: number; path: string }
  | { kind: 'fstat' | 'readdir'; id: number; handle: Uint8Array }
  | { kind: 'setstat' | 'mkdir'; id: number; path: string; attrs: SFTPAttrs }
  | { kind: 'fsetstat'; id: number; handle: Uint8Array; attrs: SFTPAttrs }
  | { kind: 'rename'; id: number; oldpath: string; newpath: string }
  | { kind: 'symlink'; id: number; linkpath: string; targetpath: string }
  | { kind: 'extended'; id: number; name: string; data: Uint8Array };

export type SftpRequestKind = SftpRequest['kind'];

const pathKinds = {
  lstat: Fxp.LSTAT, stat: Fxp.STAT, opendir: Fxp.OPENDIR, remove: Fxp.REMOVE,
  rmdir: Fxp.RMDIR, realpath: Fxp.REALPATH, readlink: Fxp.READLINK,
} as const;
const handleKinds = { fstat: Fxp.FSTAT, readdir: Fxp.READDIR, close: Fxp.CLOSE } as const;

function offset64(v: number, field: string): bigint {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${field}: expected a non-negative safe integer, got ${v}`);
  return BigInt(v);
}

export function encodeRequest(req: SftpRequest): Uint8Array {
  switch (req.kind) {
    case 'init': {
      const w = packetWriter(Fxp.INIT).uint32(req.version);
      for (const [name, data] of req.extensions) w.string(name).string(data);
      return finishPacket(w);
    }
    case 'open':
      return finishPacket(encodeAttrs(packetWriter(Fxp.OPEN).uint32(req.id).string(req.filename).uint32(req.pflags), req.attrs));
    case 'read':
      return encodeReadRequest(req.id, req.handle, req.offset, req.len);
    case 'write': {
      const w = packetWriter(Fxp.WRITE, 32 + req.handle.length + req.data.length);
      w.uint32(req.id).string(req.handle).uint64(offset64(req.offset, 'offset')).string(req.data);
      return finishPacket(w);
    }
    case 'lstat': case 'stat': case 'opendir': case 'remove': case 'rmdir': case 'realpath': case 'readlink':
      return finishPacket(packetWriter(pathKinds[req.kind]).uint32(req.id).string(req.path));
    case 'fstat': case 'readdir': case 'close':
      return finishPacket(packetWriter(handleKinds[req.kind]).uint32(req.id).string(req.handle));
    case 'setstat':
      return finishPacket(encodeAttrs(packetWriter(Fxp.SETSTAT).uint32(req.id).string(req.path), req.attrs));
    case 'mkdir':
      return finishPacket(encodeAttrs(packetWriter(Fxp.MKDIR).uint32(req.id).string(req.path), req.attrs));
    case 'fsetstat':
      return finishPacket(encodeAttrs(packetWriter(Fxp.FSETSTAT).uint32(req.id).string(req.handle), req.attrs));
    case 'rename':
      return finishPacket(packetWriter(Fxp.RENAME).uint32(req.id).string(req.oldpath).string(req.newpath));
    case 'symlink':
      return finishPacket(packetWriter(Fxp.SYMLINK).uint32(req.id).string(req.targetpath).string(req.linkpath));
    case 'extended':
      return finishPacket(packetWriter(Fxp.EXTENDED, 16 + req.name.length + req.data.length).uint32(req.id).string(req.name).raw(req.data));
  }
}

/** Hot path: a framed READ request without the generic encoder. */
export function encodeReadRequest(id: number, handle: Uint8Array, offset: number, len: number): Uint8Array {
  return finishPacket(packetWriter(Fxp.READ, 24 + handle.length).uint32(id).string(handle).uint64(offset64(offset, 'offset')).uint32(len));
}

/**
 * Hot path: the framed header of a WRITE request whose data follows it on the
 * wire; send `[header, data]` in one write so the data is never copied.
 */
export function encodeWriteHeader(id: number, handle: Uint8Array, offset: number, dataLength: number): Uint8Array {
  const w = packetWriter(Fxp.WRITE, 24 + handle.length).uint32(id).string(handle).uint64(offset64(offset, 'offset')).uint32(dataLength);
  const out = w.view(0);
  const len = out.length - 4 + dataLength;
  out[0] = (len >>> 24) & 0xff;
  out[1] = (len >>> 16) & 0xff;
  out[2] = (len >>> 8) & 0xff;
  out[3] = len & 0xff;
  return out;
}

export function readOffset(r: Reader, field: string): number {
  const v = r.uint64(field);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${field} too large: ${v}`);
  return Number(v);
}

const handle = (r: Reader): Uint8Array => r.string('handle', MAX_HANDLE);
const path = (r: Reader, field = 'path'): string => r.utf8(field, MAX_PATH);

/** Decodes a request packet (type byte first). Throws ProtocolError when malformed. */
export function decodeRequest(packet: Uint8Array): SftpRequest {
  const r = new Reader(packet, 'SFTP request');
  const type = r.byte('type');
  if (type === Fxp.INIT) {
    const version = r.uint32('version');
    const extensions: Array<[string, Uint8Array]> = [];
    while (r.remaining > 0) extensions.push([r.utf8('extension name', 1024), r.string('extension data', 65536)]);
    return { kind: 'init', version, extensions };
  }
  const id = r.uint32('id');
  let req: SftpRequest;
  switch (type) {
    case Fxp.OPEN: req = { kind: 'open', id, filename: path(r, 'filename'), pflags: r.uint32('pflags'), attrs: decodeAttrs(r) }; break;
    case Fxp.CLOSE: req = { kind: 'close', id, handle: handle(r) }; break;
    case Fxp.READ: req = { kind: 'read', id, handle: handle(r), offset: readOffset(r, 'offset'), len: r.uint32('len') }; break;
    case Fxp.WRITE: req = { kind: 'write', id, handle: handle(r), offset: readOffset(r, 'offset'), data: r.string('data') }; break;
    case Fxp.LSTAT: req = { kind: 'lstat', id, path: path(r) }; break;
    case Fxp.STAT: req = { kind: 'stat', id, path: path(r) }; break;
    case Fxp.OPENDIR: req = { kind: 'opendir', id, path: path(r) }; break;
    case Fxp.REMOVE: req = { kind: 'remove', id, path: path(r, 'filename') }; break;
    case Fxp.RMDIR: req = { kind: 'rmdir', id, path: path(r) }; break;
    case Fxp.REALPATH: req = { kind: 'realpath', id, path: path(r) }; break;
    case Fxp.READLINK: req = { kind: 'readlink', id, path: path(r) }; break;
    case Fxp.FSTAT: req = { kind: 'fstat', id, handle: handle(r) }; break;
    case Fxp.READDIR: req = { kind: 'readdir', id, handle: handle(r) }; break;
    case Fxp.SETSTAT: req = { kind: 'setstat', id, path: path(r), attrs: decodeAttrs(r) }; break;
    case Fxp.MKDIR: req = { kind: 'mkdir', id, path: path(r), attrs: decodeAttrs(r) }; break;
    case Fxp.FSETSTAT: req = { kind: 'fsetstat', id, handle: handle(r), attrs: decodeAttrs(r) }; break;
    case Fxp.RENAME: req = { kind: 'rename', id, oldpath: path(r, 'oldpath'), newpath: path(r, 'newpath') }; break;
    case Fxp.SYMLINK: {
      const targetpath = path(r, 'targetpath');
      req = { kind: 'symlink', id, targetpath, linkpath: path(r, 'linkpath') };
      break;
    }
    case Fxp.EXTENDED: req = { kind: 'extended', id, name: r.utf8('extension name', 1024), data: r.rest() }; break;
    default:
      throw new UnknownRequestError(id, type);
  }
  r.end();
  return req;
}

/** A well-framed request of a type we do not know: answer OP_UNSUPPORTED, keep the session. */
export class UnknownRequestError extends ProtocolError {
  constructor(readonly id: number, readonly type: number) {
    super(`unknown SFTP request type ${type}`);
  }
}

/** The request id of a packet, if it has one and is long enough (for answering a malformed request). */
export function peekRequestId(packet: Uint8Array): number | null {
  if (packet.length < 5 || packet[0] === Fxp.INIT) return null;
  return ((packet[1]! << 24) | (packet[2]! << 16) | (packet[3]! << 8) | packet[4]!) >>> 0;
}
