/**
 * Errors crossing the worker boundary. Structured clone keeps only the message
 * of a custom Error subclass, so a worker reports failures as plain data and
 * the calling thread rebuilds the same class with the same code.
 */
import { KeyExchangeFailed, KeyImportError, ProtocolError, SSHError } from '../protocol/errors.js';

export interface TaskFailure {
  readonly taskFailure: { readonly name: string; readonly code?: string; readonly message: string };
}

export function toTaskFailure(err: unknown): TaskFailure {
  if (err instanceof Error) {
    return { taskFailure: { name: err.name, code: err instanceof SSHError ? err.code : undefined, message: err.message } };
  }
  return { taskFailure: { name: 'Error', message: String(err) } };
}

export function isTaskFailure(v: unknown): v is TaskFailure {
  return typeof v === 'object' && v !== null && 'taskFailure' in v;
}

export function fromTaskFailure(f: TaskFailure): Error {
  const { name, code, message } = f.taskFailure;
  switch (name) {
    case 'KeyExchangeFailed':
      return new KeyExchangeFailed(message);
    case 'KeyImportError':
      return new KeyImportError(message);
    case 'ProtocolError':
      return new ProtocolError(message);
    case 'TypeError':
      return new TypeError(message);
    case 'RangeError':
      return new RangeError(message);
    default:
      return code ? new SSHError(code, message) : new Error(message);
  }
}
