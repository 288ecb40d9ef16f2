/**
 * SFTPError: one class carrying the SFTP status code (draft-02 §7), with a
 * stable string code `ERR_SFTP_<STATUS>`, and the mapping between Node's
 * errno codes and SFTP statuses used by the server.
 */
import { SSHError } from '../protocol/errors.js';
import { FxStatus, fxStatusMessage, fxStatusName } from '../protocol/sftp-constants.js';

export class SFTPError extends SSHError {
  constructor(readonly status: number, message = fxStatusMessage[status] ?? 'Failure', readonly lang = '', options?: { cause?: unknown }) {
    super('ERR_SFTP_' + fxStatusName(status), message, options);
  }
}

export class SFTPNoSuchFile extends SFTPError {
  constructor(message = 'No such file') {
    super(FxStatus.NO_SUCH_FILE, message);
  }
}

export class SFTPPermissionDenied extends SFTPError {
  constructor(message = 'Permission denied') {
    super(FxStatus.PERMISSION_DENIED, message);
  }
}

export class SFTPFailure extends SFTPError {
  constructor(message = 'Failure') {
    super(FxStatus.FAILURE, message);
  }
}

export class SFTPOpUnsupported extends SFTPError {
  constructor(message = 'Operation unsupported') {
    super(FxStatus.OP_UNSUPPORTED, message);
  }
}

export class SFTPConnectionLost extends SFTPError {
  constructor(message = 'Connection lost', options?: { cause?: unknown }) {
    super(FxStatus.CONNECTION_LOST, message, '', options);
  }
}

const errnoStatus: Record<string, number> = {
  ENOENT: FxStatus.NO_SUCH_FILE,
  ENOTDIR: FxStatus.NO_SUCH_FILE,
  ELOOP: FxStatus.NO_SUCH_FILE,
  EBADF: FxStatus.FAILURE,
  EACCES: FxStatus.PERMISSION_DENIED,
  EPERM: FxStatus.PERMISSION_DENIED,
  EROFS: FxStatus.PERMISSION_DENIED,
  ENOSYS: FxStatus.OP_UNSUPPORTED,
  ENOTSUP: FxStatus.OP_UNSUPPORTED,
  EOPNOTSUPP: FxStatus.OP_UNSUPPORTED,
  EINVAL: FxStatus.FAILURE,
};

/** The SFTP status a thrown error stands for (SFTPError as is, Node errno by table, else FAILURE). */
export function statusOf(err: unknown): { code: number; message: string } {
  if (err instanceof SFTPError) return { code: err.status, message: err.message };
  const errno = (err as { code?: unknown } | null)?.code;
  if (typeof errno === 'string') {
    const code = errnoStatus[errno] ?? FxStatus.FAILURE;
    return { code, message: code === FxStatus.FAILURE ? `Failure (${errno})` : fxStatusMessage[code]! };
  }
  return { code: FxStatus.FAILURE, message: 'Failure' };
}
