/**
 * The fleet layer's view of the SSH client, and the shapes of its events and
 * results. The client is reached only through `Connector`, so the orchestrator
 * runs against the real `connect()` or against a fake in tests.
 */
import type { Readable, Writable, Duplex } from 'node:stream';

/** Options passed through to `connect()`; fleet-wide, overridden per host. */
export interface FleetConnectOptions {
  port?: number;
  username?: string;
  password?: string;
  clientKeys?: unknown;
  knownHosts?: string | null | ((host: string, port: number, key: unknown) => boolean);
  /** Milliseconds; the client's own limit on TCP connect + handshake + auth. */
  connectTimeout?: number;
  signal?: AbortSignal;
  /** A ready transport instead of a TCP connect. */
  sock?: Duplex;
  /** A connection to tunnel through (the fleet's shared bastion) or a ProxyJump string. */
  tunnel?: FleetConnection | string;
  [option: string]: unknown;
}

export interface FleetProcessExit {
  exitStatus: number | null;
  /** A signal name, or the client's exit-signal record. */
  exitSignal: string | { signal: string } | null;
}

/** The subset of a client process the fleet uses. */
export interface FleetProcess {
  stdout: Readable;
  stderr: Readable;
  stdin?: Writable;
  wait(): Promise<FleetProcessExit>;
  close(): void | Promise<void>;
}

/** The subset of a client connection the fleet uses. */
export interface FleetConnection {
  createProcess(
    command: string,
    options: {
      encoding?: 'utf8' | null;
      env?: Record<string, string>;
      signal?: AbortSignal;
      /** Called when the exec request leaves: from then on the command may be running, so it is not retried. */
      onStartRequested?: () => void;
    },
  ): FleetProcess | Promise<FleetProcess>;
  /** Opens a direct-tcpip channel (needed only on bastions). */
  openConnection?(host: string, port: number): Promise<Duplex> | Duplex;
  /** An SFTP session (needed only by Fleet.put). */
  startSftpClient?(): Promise<FleetSftp>;
  close(): void | Promise<void>;
  waitClosed?(): Promise<void>;
}

/** The subset of an SFTP client Fleet.put uses. */
export interface FleetSftp {
  put(localPaths: string | string[], remotePath: string, options: FleetTransferOptions): Promise<void>;
  get(remotePaths: string | string[], localPath: string, options: FleetTransferOptions): Promise<void>;
  exit(): void;
}

/** The SFTP client's transfer options that Fleet.put and get pass on. */
export interface FleetTransferOptions {
  recurse?: boolean;
  preserve?: boolean;
  followSymlinks?: boolean;
  progressHandler?: (src: string, dst: string, bytesDone: number, total: number) => void;
}

export type Connector = (host: string, options: FleetConnectOptions) => Promise<FleetConnection>;

/** One target of a fleet, as an inventory describes it. */
export interface HostSpec {
  /** Unique name of the host in the fleet (what events and output are keyed by). */
  name: string;
  /** Address or DNS name to connect to. */
  host: string;
  port?: number;
  username?: string;
  /** ProxyJump-style bastion, `[user@]host[:port]`, or a chain `hop1,hop2` (reached in that order). */
  jump?: string;
  groups?: string[];
  /** Remaining inventory variables, as strings. */
  vars?: Record<string, string>;
  /** Per-host connect options; override the fleet-wide ones. */
  options?: Partial<FleetConnectOptions>;
}

export type ErrorKind =
  | 'unreachable'
  | 'auth-failed'
  | 'host-key-refused'
  | 'timeout'
  | 'connection-lost'
  | 'aborted'
  | 'internal';

export type Phase = 'connect' | 'command' | 'idle' | 'total';

export type HostOutcome = 'succeeded' | 'failed' | 'unreachable' | 'aborted';

export interface HostResult {
  host: string;
  outcome: HostOutcome;
  exitStatus: number | null;
  exitSignal: string | null;
  /** Collected output (only when the run collects it, e.g. runAll). */
  stdout: string;
  stderr: string;
  error: { kind: ErrorKind; message: string; code?: string; phase?: Phase } | null;
  /** Whether the command was started on the host (in the last attempt). */
  commandStarted: boolean;
  attempts: number;
  durationMs: number;
}

export type HostEvent =
  | { type: 'queued'; host: string }
  | { type: 'connecting'; host: string; attempt: number }
  | { type: 'connected'; host: string; attempt: number }
  | { type: 'started'; host: string; attempt: number }
  | { type: 'stdout' | 'stderr'; host: string; data: string }
  | { type: 'exit'; host: string; exitStatus: number | null; exitSignal: string | null }
  /** Fleet.put / get: a file finished on this host (its path on the receiving side, and its size). */
  | { type: 'file'; host: string; path: string; bytes: number }
  | {
      type: 'error';
      host: string;
      kind: ErrorKind;
      message: string;
      code?: string;
      phase?: Phase;
      attempt: number;
      commandStarted: boolean;
    }
  | { type: 'retry'; host: string; attempt: number; delayMs: number; kind: ErrorKind; message: string }
  | { type: 'done'; host: string; result: HostResult };

export type HostEventOf<T extends HostEvent['type']> = Extract<HostEvent, { type: T }>;

/** Per-phase limits in milliseconds; 0 or undefined = no limit. */
export interface PhaseTimeouts {
  /** From the start of an attempt until the session is up (TCP + handshake + auth). */
  connect?: number;
  /** From the command start until it exits. */
  command?: number;
  /** Longest silence (no output) while the command runs. */
  idle?: number;
  /** Whole host, retries included. */
  total?: number;
}
