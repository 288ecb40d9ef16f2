/**
 * Maps what `connect()` or a running process can throw onto the fleet's error
 * kinds, and says which kinds are worth a retry.
 */
import { TimeoutError } from '../protocol/errors.js';
import type { ErrorKind, Phase } from './types.js';

/** A fleet phase limit ran out. */
export class PhaseTimeoutError extends TimeoutError {
  constructor(readonly phase: Phase, readonly limitMs: number) {
    super(`${phase} timeout after ${limitMs} ms`);
  }
}

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);
const lostCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

export interface ClassifiedError {
  kind: ErrorKind;
  message: string;
  code?: string;
  phase?: Phase;
}

function ownCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

const socketCode = /\b(E(?:CONNREFUSED|HOSTUNREACH|NETUNREACH|HOSTDOWN|ADDRNOTAVAIL|CONNRESET|PIPE|CONNABORTED|TIMEDOUT)|ENOTFOUND|EAI_AGAIN)\b/;

/**
 * The most telling code: a socket errno wins over a generic "connection
 * lost". The connection actor's ConnectionLost keeps the socket error as its
 * `cause`; the message is read only for errors made without one.
 */
function codeOf(err: unknown): string | undefined {
  const own = ownCode(err);
  if (own !== undefined && own !== 'ERR_SSH_CONNECTION_LOST') return own;
  const cause = err instanceof Error ? ownCode(err.cause) : undefined;
  if (cause !== undefined) return cause;
  const inMessage = err instanceof Error ? socketCode.exec(err.message)?.[1] : undefined;
  return inMessage ?? own;
}

export function classifyError(err: unknown): ClassifiedError {
  const message = err instanceof Error ? err.message || err.name : String(err);
  const code = codeOf(err);
  const base = code === undefined ? { message } : { message, code };
  if (err instanceof PhaseTimeoutError) return { kind: 'timeout', ...base, phase: err.phase };
  if (err instanceof Error && err.name === 'AbortError') return { kind: 'aborted', ...base };
  switch (code) {
    case 'ERR_SSH_PERMISSION_DENIED':
      return { kind: 'auth-failed', ...base };
    case 'ERR_SSH_HOST_KEY_NOT_VERIFIABLE':
      return { kind: 'host-key-refused', ...base };
    case 'ERR_SSH_TIMEOUT':
    case 'ETIMEDOUT':
      return { kind: 'timeout', ...base };
    case 'ABORT_ERR':
      return { kind: 'aborted', ...base };
  }
  if (code !== undefined && unreachableCodes.has(code)) return { kind: 'unreachable', ...base };
  // A bastion refused or failed the direct-tcpip channel to the target, or could not itself be reached.
  if (code !== undefined && (code.startsWith('ERR_SSH_CHANNEL_OPEN_') || code === 'ERR_FLEET_BASTION')) return { kind: 'unreachable', ...base };
  if (code !== undefined && (lostCodes.has(code) || code.startsWith('ERR_SSH_DISCONNECT_') || code === 'ERR_SSH_CONNECTION_LOST'))
    return { kind: 'connection-lost', ...base };
  if (code === 'ERR_SSH_PROTOCOL' || code === 'ERR_SSH_VERSION' || code === 'ERR_SSH_KEX_FAILED' || code === 'ERR_SSH_MAC')
    return { kind: 'connection-lost', ...base };
  return { kind: 'internal', ...base };
}

/** Kinds that can go away by themselves (a busy sshd, a flaky link). */
export function isTransient(kind: ErrorKind): boolean {
  return kind === 'unreachable' || kind === 'timeout' || kind === 'connection-lost';
}
