/**
 * Payloads of the OpenSSH SFTP extension requests and replies (OpenSSH
 * PROTOCOL §4.3–4.12). A request payload is what follows the extension name
 * in SSH_FXP_EXTENDED; a reply payload what follows the id in
 * SSH_FXP_EXTENDED_REPLY (expand-path and home-directory answer with NAME,
 * the others with STATUS).
 */
import { ProtocolError } from './errors.js';
import { decodeAttrs, encodeAttrs, type SFTPAttrs } from './sftp-attrs.js';
import { SftpExt } from './sftp-constants.js';
import { MAX_HANDLE, MAX_PATH, readOffset } from './sftp-requests.js';
import { Reader, Writer } from './wire.js';

export type SftpExtRequest =
  | { name: typeof SftpExt.POSIX_RENAME | typeof SftpExt.HARDLINK; oldpath: string; newpath: string }
  | { name: typeof SftpExt.STATVFS | typeof SftpExt.EXPAND_PATH; path: string }
  | { name: typeof SftpExt.FSTATVFS | typeof SftpExt.FSYNC; handle: Uint8Array }
  | { name: typeof SftpExt.LSETSTAT; path: string; attrs: SFTPAttrs }
  | { name: typeof SftpExt.LIMITS }
  | { name: typeof SftpExt.COPY_DATA; readHandle: Uint8Array; readOffset: number; length: number; writeHandle: Uint8Array; writeOffset: number }
  | { name: typeof SftpExt.HOME_DIRECTORY; username: string }
  | { name: typeof SftpExt.USERS_GROUPS_BY_ID; uids: number[]; gids: number[] };

export interface SftpLimits {
  maxPacketLength: number;
  maxReadLength: number;
  maxWriteLength: number;
  maxOpenHandles: number;
}

/** Extensions this implementation speaks, with the versions OpenSSH advertises. */
export const SUPPORTED_EXTENSIONS: ReadonlyArray<[string, string]> = [
  [SftpExt.POSIX_RENAME, '1'], [SftpExt.STATVFS, '2'], [SftpExt.FSTATVFS, '2'], [SftpExt.HARDLINK, '1'],
  [SftpExt.FSYNC, '1'], [SftpExt.LSETSTAT, '1'], [SftpExt.LIMITS, '1'], [SftpExt.EXPAND_PATH, '1'],
  [SftpExt.COPY_DATA, '1'], [SftpExt.HOME_DIRECTORY, '1'], [SftpExt.USERS_GROUPS_BY_ID, '1'],
];

function u64(v: number, field: string): bigint {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${field}: expected a non-negative safe integer, got ${v}`);
  return BigInt(v);
}

function idList(ids: readonly number[]): Uint8Array {
  const w = new Writer(ids.length * 4 + 4);
  for (const id of ids) w.uint32(id);
  return w.toBytes();
}

/** The payload that follows the extension name. */
export function encodeExtRequest(req: SftpExtRequest): Uint8Array {
  const w = new Writer(64);
  switch (req.name) {
    case SftpExt.POSIX_RENAME: case SftpExt.HARDLINK: w.string(req.oldpath).string(req.newpath); break;
    case SftpExt.STATVFS: case SftpExt.EXPAND_PATH: w.string(req.path); break;
    case SftpExt.FSTATVFS: case SftpExt.FSYNC: w.string(req.handle); break;
    case SftpExt.LSETSTAT: encodeAttrs(w.string(req.path), req.attrs); break;
    case SftpExt.LIMITS: break;
    case SftpExt.COPY_DATA:
      w.string(req.readHandle).uint64(u64(req.readOffset, 'readOffset')).uint64(u64(req.length, 'length'))
        .string(req.writeHandle).uint64(u64(req.writeOffset, 'writeOffset'));
      break;
    case SftpExt.HOME_DIRECTORY: w.string(req.username); break;
    case SftpExt.USERS_GROUPS_BY_ID: w.string(idList(req.uids)).string(idList(req.gids)); break;
  }
  return w.toBytes();
}

function decodeIdList(b: Uint8Array, field: string): number[] {
  if (b.length % 4 !== 0) throw new ProtocolError(`${field}: length ${b.length} is not a multiple of 4`);
  const r = new Reader(b, field);
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.uint32(field));
  return out;
}

/** Decodes an extension payload by name; null for an extension we do not know. */
export function decodeExtRequest(name: string, data: Uint8Array): SftpExtRequest | null {
  const r = new Reader(data, `${name} request`);
  let req: SftpExtRequest;
  const p = (f: string): string => r.utf8(f, MAX_PATH);
  switch (name) {
    case SftpExt.POSIX_RENAME: case SftpExt.HARDLINK: req = { name, oldpath: p('oldpath'), newpath: p('newpath') }; break;
    case SftpExt.STATVFS: case SftpExt.EXPAND_PATH: req = { name, path: p('path') }; break;
    case SftpExt.FSTATVFS: case SftpExt.FSYNC: req = { name, handle: r.string('handle', MAX_HANDLE) }; break;
    case SftpExt.LSETSTAT: req = { name, path: p('path'), attrs: decodeAttrs(r) }; break;
    case SftpExt.LIMITS: req = { name }; break;
    case SftpExt.COPY_DATA:
      req = {
        name, readHandle: r.string('read-from-handle', MAX_HANDLE), readOffset: readOffset(r, 'read-from-offset'),
        length: readOffset(r, 'read-data-length'), writeHandle: r.string('write-to-handle', MAX_HANDLE), writeOffset: readOffset(r, 'write-to-offset'),
      };
      break;
    case SftpExt.HOME_DIRECTORY: req = { name, username: r.utf8('username', 1024) }; break;
    case SftpExt.USERS_GROUPS_BY_ID:
      req = { name, uids: decodeIdList(r.string('uids', 65536), 'uids'), gids: decodeIdList(r.string('gids', 65536), 'gids') };
      break;
    default:
      return null;
  }
  r.end();
  return req;
}

export function encodeLimits(l: SftpLimits): Uint8Array {
  return new Writer(32).uint64(BigInt(l.maxPacketLength)).uint64(BigInt(l.maxReadLength))
    .uint64(BigInt(l.maxWriteLength)).uint64(BigInt(l.maxOpenHandles)).toBytes();
}

export function decodeLimits(data: Uint8Array): SftpLimits {
  const r = new Reader(data, 'limits reply');
  const cap = (v: bigint): number => (v > 0xffffffffn ? 0xffffffff : Number(v));
  const out = { maxPacketLength: cap(r.uint64()), maxReadLength: cap(r.uint64()), maxWriteLength: cap(r.uint64()), maxOpenHandles: cap(r.uint64()) };
  r.end();
  return out;
}

export function encodeNamesReply(users: readonly string[], groups: readonly string[]): Uint8Array {
  const list = (names: readonly string[]): Uint8Array => {
    const w = new Writer(64);
    for (const n of names) w.string(n);
    return w.toBytes();
  };
  return new Writer(64).string(list(users)).string(list(groups)).toBytes();
}

export function decodeNamesReply(data: Uint8Array): { users: string[]; groups: string[] } {
  const r = new Reader(data, 'users-groups-by-id reply');
  const list = (b: Uint8Array, f: string): string[] => {
    const lr = new Reader(b, f);
    const out: string[] = [];
    while (lr.remaining > 0) out.push(lr.utf8(f, 1024));
    return out;
  };
  const users = list(r.string('usernames'), 'usernames');
  const groups = list(r.string('groupnames'), 'groupnames');
  r.end();
  return { users, groups };
}
