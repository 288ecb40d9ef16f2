/**
 * The SFTP v3 ATTRS block (draft-02 §5) and the statvfs reply
 * (OpenSSH PROTOCOL §4.4). Sizes are bigint on the wire; the decoded form
 * uses number where the value fits in 2^53 (every real file size does) so
 * callers can do arithmetic; a larger value is rejected as malformed.
 */
import { ProtocolError } from './errors.js';
import { AttrFlag, FileType } from './sftp-constants.js';
import type { Reader, Writer } from './wire.js';

export interface SFTPAttrs {
  size?: number;
  uid?: number;
  gid?: number;
  /** st_mode, file type bits included when the server sends them. */
  permissions?: number;
  /** Seconds since the epoch (uint32 on the wire). */
  atime?: number;
  mtime?: number;
  /** Extended attribute pairs (type, data). */
  extended?: Array<[string, Uint8Array]>;
}

/** Caps an extended-attribute count so a hostile count cannot loop long. */
const MAX_EXTENDED = 1024;

function u32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${field}: expected a uint32, got ${v}`);
  return v;
}

export function encodeAttrs(w: Writer, a: SFTPAttrs): Writer {
  let flags = 0;
  if (a.size !== undefined) flags |= AttrFlag.SIZE;
  if (a.uid !== undefined || a.gid !== undefined) {
    if (a.uid === undefined || a.gid === undefined) throw new TypeError('attrs: uid and gid must be set together');
    flags |= AttrFlag.UIDGID;
  }
  if (a.permissions !== undefined) flags |= AttrFlag.PERMISSIONS;
  if (a.atime !== undefined || a.mtime !== undefined) {
    if (a.atime === undefined || a.mtime === undefined) throw new TypeError('attrs: atime and mtime must be set together');
    flags |= AttrFlag.ACMODTIME;
  }
  if (a.extended !== undefined && a.extended.length > 0) flags |= AttrFlag.EXTENDED;
  w.uint32(flags >>> 0);
  if (a.size !== undefined) {
    if (!Number.isSafeInteger(a.size) || a.size < 0) throw new RangeError(`attrs.size: expected a non-negative integer, got ${a.size}`);
    w.uint64(BigInt(a.size));
  }
  if (flags & AttrFlag.UIDGID) w.uint32(u32(a.uid!, 'attrs.uid')).uint32(u32(a.gid!, 'attrs.gid'));
  if (a.permissions !== undefined) w.uint32(u32(a.permissions, 'attrs.permissions'));
  if (flags & AttrFlag.ACMODTIME) w.uint32(u32(Math.floor(a.atime!), 'attrs.atime')).uint32(u32(Math.floor(a.mtime!), 'attrs.mtime'));
  if (flags & AttrFlag.EXTENDED) {
    w.uint32(a.extended!.length);
    for (const [type, data] of a.extended!) w.string(type).string(data);
  }
  return w;
}

export function decodeAttrs(r: Reader): SFTPAttrs {
  const flags = r.uint32('attrs flags');
  const known = AttrFlag.SIZE | AttrFlag.UIDGID | AttrFlag.PERMISSIONS | AttrFlag.ACMODTIME | AttrFlag.EXTENDED;
  if ((flags & ~known) >>> 0 !== 0) throw new ProtocolError(`unknown attrs flags 0x${flags.toString(16)}`);
  const a: SFTPAttrs = {};
  if (flags & AttrFlag.SIZE) {
    const size = r.uint64('attrs size');
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`attrs size too large: ${size}`);
    a.size = Number(size);
  }
  if (flags & AttrFlag.UIDGID) {
    a.uid = r.uint32('attrs uid');
    a.gid = r.uint32('attrs gid');
  }
  if (flags & AttrFlag.PERMISSIONS) a.permissions = r.uint32('attrs permissions');
  if (flags & AttrFlag.ACMODTIME) {
    a.atime = r.uint32('attrs atime');
    a.mtime = r.uint32('attrs mtime');
  }
  if (flags & AttrFlag.EXTENDED) {
    const count = r.uint32('attrs extended count');
    // Each pair takes at least 8 bytes: check against what is present before looping.
    if (count > MAX_EXTENDED || count * 8 > r.remaining) throw new ProtocolError(`attrs extended count ${count} too large`);
    a.extended = [];
    for (let i = 0; i < count; i++) {
      const type = r.utf8('extended type', 4096);
      a.extended.push([type, r.string('extended data')]);
    }
  }
  return a;
}

export function fileTypeOf(a: SFTPAttrs): number | undefined {
  return a.permissions === undefined ? undefined : a.permissions & FileType.MASK;
}
export const isDirAttrs = (a: SFTPAttrs): boolean => fileTypeOf(a) === FileType.DIRECTORY;
export const isRegularAttrs = (a: SFTPAttrs): boolean => fileTypeOf(a) === FileType.REGULAR;
export const isSymlinkAttrs = (a: SFTPAttrs): boolean => fileTypeOf(a) === FileType.SYMLINK;

/** statvfs@openssh.com reply fields, in wire order. */
export interface SFTPVFSAttrs {
  bsize: bigint;
  frsize: bigint;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  favail: bigint;
  fsid: bigint;
  flag: bigint;
  namemax: bigint;
}
export const VFS_FIELDS = ['bsize', 'frsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree', 'favail', 'fsid', 'flag', 'namemax'] as const;

export function encodeVfsAttrs(w: Writer, v: SFTPVFSAttrs): Writer {
  for (const f of VFS_FIELDS) w.uint64(v[f]);
  return w;
}

export function decodeVfsAttrs(r: Reader): SFTPVFSAttrs {
  const out = {} as Record<(typeof VFS_FIELDS)[number], bigint>;
  for (const f of VFS_FIELDS) out[f] = r.uint64(`statvfs ${f}`);
  return out;
}

/** An `ls -l` style line, as OpenSSH's sftp-server puts in the longname field. */
export function longname(name: string, a: SFTPAttrs, owner?: string, group?: string): string {
  const mode = a.permissions ?? 0;
  const typeChar: Record<number, string> = {
    [FileType.DIRECTORY]: 'd', [FileType.SYMLINK]: 'l', [FileType.CHAR]: 'c', [FileType.BLOCK]: 'b',
    [FileType.FIFO]: 'p', [FileType.SOCKET]: 's', [FileType.REGULAR]: '-',
  };
  let s = typeChar[mode & FileType.MASK] ?? '?';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : '-';
  const when = new Date((a.mtime ?? 0) * 1000);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const date = `${months[when.getUTCMonth()]} ${String(when.getUTCDate()).padStart(2)} ${String(when.getUTCFullYear()).padStart(5)}`;
  const u = (owner ?? String(a.uid ?? 0)).padEnd(8);
  const g = (group ?? String(a.gid ?? 0)).padEnd(8);
  return `${s}    1 ${u} ${g} ${String(a.size ?? 0).padStart(8)} ${date} ${name}`;
}
