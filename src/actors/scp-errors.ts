/**
 * ScpError: a failed SCP transfer or one file of it. `fatal` marks errors
 * that ended the transfer (a protocol error, a closed connection, a fatal
 * message from the peer); the others were reported and the transfer went on.
 */
import { SSHError } from '../protocol/errors.js';

export class ScpError extends SSHError {
  constructor(message: string, readonly fatal = true, options?: { cause?: unknown }) {
    super('ERR_SCP', message, options);
  }
}
