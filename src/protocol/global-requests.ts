/**
 * Global request payloads (RFC 4254 §4, §7.1; OpenSSH PROTOCOL §2.5) as pure
 * encode/decode functions. `data` is what follows the want-reply flag.
 */
import { ProtocolError } from './errors.js';
import { Reader, Writer } from './wire.js';

/** OpenSSH sends this to check that the peer is alive; any reply counts. */
export const KEEPALIVE_REQUEST = 'keepalive@openssh.com';

export interface TcpipForward {
  /** Address to bind on the server ('' = all, 'localhost', ...). */
  address: string;
  /** Port to bind; 0 asks the server to choose (then returned in the reply). */
  port: number;
}

/** tcpip-forward and cancel-tcpip-forward share this layout. */
export function encodeTcpipForward(m: TcpipForward): Uint8Array {
  return new Writer(32).string(m.address).uint32(m.port).toBytes();
}

export function decodeTcpipForward(data: Uint8Array): TcpipForward {
  const r = new Reader(data, 'tcpip-forward request');
  const address = r.utf8('address to bind', 1024);
  const port = r.uint32('port to bind');
  r.end();
  return { address, port };
}

/** REQUEST_SUCCESS data for a tcpip-forward with port 0: the port the server chose. */
export function encodeForwardPort(port: number): Uint8Array {
  return new Writer(8).uint32(port).toBytes();
}

export function decodeForwardPort(data: Uint8Array): number {
  const r = new Reader(data, 'tcpip-forward reply');
  const port = r.uint32('bound port');
  r.end();
  return port;
}

/** hostkeys-00@openssh.com / hostkeys-prove-00@openssh.com: a sequence of strings (key blobs or signatures). */
export function encodeStringList(items: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(64);
  for (const b of items) w.string(b);
  return w.toBytes();
}

export function decodeStringList(data: Uint8Array, max = 64): Uint8Array[] {
  const r = new Reader(data, 'string list');
  const out: Uint8Array[] = [];
  while (r.remaining > 0) {
    if (out.length >= max) throw new ProtocolError(`string list: more than ${max} items`);
    out.push(r.string('item', 16384));
  }
  return out;
}
