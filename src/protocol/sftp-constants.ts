/**
 * SFTP version 3 numbers (draft-ietf-secsh-filexfer-02) and the OpenSSH
 * extension names (OpenSSH PROTOCOL §4), in one place.
 */

export const SFTP_VERSION = 3;

/** Packet types (draft-02 §3). */
export const Fxp = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;
export type FxpType = (typeof Fxp)[keyof typeof Fxp];

/** Status codes (draft-02 §7). */
export const FxStatus = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;
export type FxStatusCode = (typeof FxStatus)[keyof typeof FxStatus];

const statusNames: Record<number, string> = Object.fromEntries(Object.entries(FxStatus).map(([k, v]) => [v, k]));

/** The table name of a status code ("NO_SUCH_FILE"), or "UNKNOWN". */
export function fxStatusName(code: number): string {
  return statusNames[code] ?? 'UNKNOWN';
}

/** Default human messages, as OpenSSH's sftp-server words them. */
export const fxStatusMessage: Record<number, string> = {
  0: 'Success',
  1: 'End of file',
  2: 'No such file',
  3: 'Permission denied',
  4: 'Failure',
  5: 'Bad message',
  6: 'No connection',
  7: 'Connection lost',
  8: 'Operation unsupported',
};

/** SSH_FXP_OPEN pflags (draft-02 §6.3). */
export const FxfFlag = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** ATTRS flags (draft-02 §5). */
export const AttrFlag = {
  SIZE: 0x00000001,
  UIDGID: 0x00000002,
  PERMISSIONS: 0x00000004,
  ACMODTIME: 0x00000008,
  EXTENDED: 0x80000000,
} as const;

/** File type bits of st_mode as carried in the permissions field. */
export const FileType = {
  MASK: 0o170000,
  SOCKET: 0o140000,
  SYMLINK: 0o120000,
  REGULAR: 0o100000,
  BLOCK: 0o060000,
  DIRECTORY: 0o040000,
  CHAR: 0o020000,
  FIFO: 0o010000,
} as const;

/** Extension request names (OpenSSH PROTOCOL §4.3–4.12). */
export const SftpExt = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  HARDLINK: 'hardlink@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LSETSTAT: 'lsetstat@openssh.com',
  LIMITS: 'limits@openssh.com',
  EXPAND_PATH: 'expand-path@openssh.com',
  COPY_DATA: 'copy-data',
  HOME_DIRECTORY: 'home-directory',
  USERS_GROUPS_BY_ID: 'users-groups-by-id@openssh.com',
} as const;
export type SftpExtName = (typeof SftpExt)[keyof typeof SftpExt];

/** statvfs f_flag bits (OpenSSH PROTOCOL §4.4). */
export const StatvfsFlag = { RDONLY: 0x1, NOSUID: 0x2 } as const;

/** OpenSSH's caps: the whole packet (sftp-common.h SFTP_MAX_MSG_LENGTH), and the read/write length it advertises. */
export const SFTP_MAX_PACKET = 256 * 1024;
export const SFTP_DEFAULT_MAX_RW = SFTP_MAX_PACKET - 1024;
/** Every request fits under this; larger READ lengths are clamped by servers. */
export const SFTP_MIN_RW = 32768;
