/**
 * Error classes. One base class with a stable string `code`; subclasses map
 * one-to-one onto protocol codes where there is one.
 */
import { DisconnectReason, OpenFailure } from './messages.js';

export class SSHError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

const reasonNames: Record<number, string> = Object.fromEntries(
  Object.entries(DisconnectReason).map(([k, v]) => [v, k]),
);

/** The connection ended with an SSH disconnect (sent or received). */
export class DisconnectError extends SSHError {
  constructor(
    readonly reason: number,
    message: string,
    readonly lang = '',
    code = 'ERR_SSH_DISCONNECT_' + (reasonNames[reason] ?? 'UNKNOWN'),
  ) {
    super(code, message);
  }
}

/** Malformed or out-of-state input from the peer (ends that connection). */
export class ProtocolError extends DisconnectError {
  constructor(message: string) {
    super(DisconnectReason.PROTOCOL_ERROR, message, '', 'ERR_SSH_PROTOCOL');
  }
}

export class KeyExchangeFailed extends DisconnectError {
  constructor(message: string) {
    super(DisconnectReason.KEY_EXCHANGE_FAILED, message, '', 'ERR_SSH_KEX_FAILED');
  }
}

export class MacError extends DisconnectError {
  constructor(message = 'message authentication failed') {
    super(DisconnectReason.MAC_ERROR, message, '', 'ERR_SSH_MAC');
  }
}

export class CompressionError extends DisconnectError {
  constructor(message: string) {
    super(DisconnectReason.COMPRESSION_ERROR, message, '', 'ERR_SSH_COMPRESSION');
  }
}

export class HostKeyNotVerifiable extends DisconnectError {
  constructor(message: string, readonly host?: string, readonly fingerprint?: string) {
    super(DisconnectReason.HOST_KEY_NOT_VERIFIABLE, message, '', 'ERR_SSH_HOST_KEY_NOT_VERIFIABLE');
  }
}

export class PermissionDenied extends DisconnectError {
  constructor(message = 'permission denied') {
    super(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, message, '', 'ERR_SSH_PERMISSION_DENIED');
  }
}

export class ServiceNotAvailable extends DisconnectError {
  constructor(message: string) {
    super(DisconnectReason.SERVICE_NOT_AVAILABLE, message, '', 'ERR_SSH_SERVICE_NOT_AVAILABLE');
  }
}

export class ConnectionLost extends DisconnectError {
  constructor(message = 'connection lost') {
    super(DisconnectReason.CONNECTION_LOST, message, '', 'ERR_SSH_CONNECTION_LOST');
  }
}

export class ProtocolNotSupported extends DisconnectError {
  constructor(message: string) {
    super(DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED, message, '', 'ERR_SSH_VERSION');
  }
}

export class TimeoutError extends SSHError {
  /** For a command that ran out of time (run/wait with timeout): the command and the output it had written by then. */
  readonly command?: string | null;
  readonly stdout?: string | Uint8Array;
  readonly stderr?: string | Uint8Array;
  constructor(message: string, partial?: { command: string | null; stdout: string | Uint8Array; stderr: string | Uint8Array }) {
    super('ERR_SSH_TIMEOUT', message);
    if (partial) {
      this.command = partial.command;
      this.stdout = partial.stdout;
      this.stderr = partial.stderr;
    }
  }
}

const openNames: Record<number, string> = Object.fromEntries(
  Object.entries(OpenFailure).map(([k, v]) => [v, k]),
);

export class ChannelOpenError extends SSHError {
  constructor(readonly reasonCode: number, message: string, readonly lang = '') {
    super('ERR_SSH_CHANNEL_OPEN_' + (openNames[reasonCode] ?? 'UNKNOWN'), message);
  }
}

/** A channel request the peer refused (pty-req, exec, subsystem, ...). */
export class ChannelRequestError extends SSHError {
  constructor(message: string) {
    super('ERR_SSH_CHANNEL_REQUEST', message);
  }
}

/** A remote listener (tcpip-forward, streamlocal-forward) the server refused (AsyncSSH's ChannelListenError). */
export class ChannelListenError extends SSHError {
  constructor(message: string) {
    super('ERR_SSH_CHANNEL_LISTEN', message);
  }
}

/** A read that wanted more than the stream gave before it ended (asyncio's IncompleteReadError, as AsyncSSH raises it). */
export class IncompleteReadError extends SSHError {
  constructor(
    /** What was read before the end. */
    readonly partial: string | Uint8Array,
    /** The byte count or separator that was expected. */
    readonly expected: number | string,
  ) {
    super('ERR_SSH_INCOMPLETE_READ', `stream ended after ${partial.length} ${typeof partial === 'string' ? 'characters' : 'bytes'}, before ${typeof expected === 'number' ? `${expected} were read` : `the separator ${expected}`}`);
  }
}

export class ProcessError extends SSHError {
  constructor(
    readonly command: string | null,
    readonly exitStatus: number | null,
    readonly exitSignal: string | null,
    readonly stdout: string | Uint8Array,
    readonly stderr: string | Uint8Array,
    /** AsyncSSH's returncode: the exit status, or the negated signal number when killed by a signal. */
    readonly returncode: number | null = exitStatus,
    started: { env?: Readonly<Record<string, string>> | null; subsystem?: string | null } = {},
  ) {
    super(
      'ERR_SSH_PROCESS',
      exitSignal
        ? `command ${JSON.stringify(command)} killed by signal ${exitSignal}`
        : `command ${JSON.stringify(command)} exited with status ${exitStatus}`,
    );
    this.env = started.env ?? null;
    this.subsystem = started.subsystem ?? null;
  }

  /** The environment variables the process was started with, or null (AsyncSSH's env). */
  readonly env: Readonly<Record<string, string>> | null;
  /** The subsystem started instead of a command, or null. */
  readonly subsystem: string | null;
}

export class KeyImportError extends SSHError {
  constructor(message: string) {
    super('ERR_SSH_KEY_IMPORT', message);
  }
}
