/**
 * A forwarded-tcpip channel opened by the server toward the client on the
 * application's initiative (AsyncSSH's SSHServerConnection.create_connection
 * / open_connection), not only for a connection to one of the client's
 * tcpip-forward listeners. Clients accept it only for a listen address and
 * port they asked to have forwarded (ssh -R, forwardRemotePort, startServer).
 */
import { ChannelOpenError, ConnectionLost } from '../protocol/errors.js';
import { OpenFailure } from '../protocol/messages.js';
import { encodeTcpipChannelData } from '../protocol/session-requests.js';
import type { ConnectionActor } from './connection-actor.js';
import { openForwardChannel, type SSHForwardChannel } from './forward-channel.js';

function checkEnd(name: string, host: unknown, port: unknown): void {
  if (typeof host !== 'string') throw new TypeError(`${name}Host: expected a host name or address`);
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) throw new RangeError(`${name}Port: expected 0..65535`);
}

/**
 * Opens the channel once the client is authenticated: `listenHost`/`listenPort`
 * name the client's remote forward, `origHost`/`origPort` where the
 * connection came from. Rejects with ChannelOpenError when the client refuses.
 */
export function openForwardedTcpip(actor: ConnectionActor, listenHost: string, listenPort: number, origHost = '', origPort = 0): Promise<SSHForwardChannel> {
  checkEnd('listen', listenHost, listenPort);
  checkEnd('orig', origHost, origPort);
  if (actor.closed) return Promise.reject(actor.error ?? new ConnectionLost('connection closed'));
  // A channel before authentication would break RFC 4252 §1: refused here, nothing is sent.
  if (!actor.isAuthenticated) return Promise.reject(new ChannelOpenError(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'openConnection: the client has not authenticated yet'));
  const typeData = encodeTcpipChannelData({ host: listenHost, port: listenPort, originatorAddress: origHost, originatorPort: origPort });
  return openForwardChannel(actor, 'forwarded-tcpip', typeData, { channelType: 'forwarded-tcpip', destHost: listenHost, destPort: listenPort, origHost, origPort });
}
