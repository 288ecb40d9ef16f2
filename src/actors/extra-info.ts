/**
 * AsyncSSH's get_extra_info(name, default) for connections: the socket's
 * addresses, both version lines, the user and the negotiated algorithms in
 * each direction. Names are camelCase; AsyncSSH's snake_case spellings are
 * accepted too so ported code keeps working.
 */
import type { Duplex } from 'node:stream';

/** What one connection knows about itself, read when asked (algorithms change on re-key). */
export interface ExtraInfoSource {
  readonly role: 'client' | 'server';
  readonly socket: Duplex;
  readonly localVersion: string | null;
  readonly remoteVersion: string | null;
  readonly username: string | null;
  readonly algorithms: Record<string, string> | null;
}

const SNAKE: Record<string, string> = {
  client_version: 'clientVersion',
  server_version: 'serverVersion',
  send_cipher: 'sendCipher',
  send_mac: 'sendMac',
  send_compression: 'sendCompression',
  recv_cipher: 'recvCipher',
  recv_mac: 'recvMac',
  recv_compression: 'recvCompression',
  host_key_alg: 'hostKeyAlg',
};

/** The names getExtraInfo answers (camelCase). */
export const EXTRA_INFO_NAMES = [
  'peername',
  'sockname',
  'socket',
  'clientVersion',
  'serverVersion',
  'username',
  'kex',
  'hostKeyAlg',
  'sendCipher',
  'sendMac',
  'sendCompression',
  'recvCipher',
  'recvMac',
  'recvCompression',
] as const;

type Net = { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number };

export function extraInfo(src: ExtraInfoSource, name: string, fallback: unknown = undefined): unknown {
  if (typeof name !== 'string') throw new TypeError('name: expected a string');
  const key = SNAKE[name] ?? name;
  const sock = src.socket as Duplex & Net;
  const algs = src.algorithms;
  // Client to server is the client's sending direction.
  const out = src.role === 'client' ? 'CS' : 'SC';
  const inn = src.role === 'client' ? 'SC' : 'CS';
  let value: unknown;
  switch (key) {
    case 'peername':
      value = typeof sock.remoteAddress === 'string' ? [sock.remoteAddress, sock.remotePort ?? 0] : undefined;
      break;
    case 'sockname':
      value = typeof sock.localAddress === 'string' ? [sock.localAddress, sock.localPort ?? 0] : undefined;
      break;
    case 'socket':
      value = sock;
      break;
    case 'clientVersion':
      value = src.role === 'client' ? src.localVersion : src.remoteVersion;
      break;
    case 'serverVersion':
      value = src.role === 'server' ? src.localVersion : src.remoteVersion;
      break;
    case 'username':
      value = src.username;
      break;
    case 'kex':
      value = algs?.kex;
      break;
    case 'hostKeyAlg':
      value = algs?.hostKey;
      break;
    case 'sendCipher':
      value = algs?.[`cipher${out}`];
      break;
    case 'sendMac':
      value = algs?.[`mac${out}`];
      break;
    case 'sendCompression':
      value = algs?.[`compression${out}`];
      break;
    case 'recvCipher':
      value = algs?.[`cipher${inn}`];
      break;
    case 'recvMac':
      value = algs?.[`mac${inn}`];
      break;
    case 'recvCompression':
      value = algs?.[`compression${inn}`];
      break;
    default:
      value = undefined;
  }
  return value === undefined || value === null ? fallback : value;
}
