/**
 * A SOCKS server front end for dynamic forwarding (OpenSSH `ssh -D`):
 * SOCKS4 (CONNECT to an IPv4 address), SOCKS4a (to a host name) and SOCKS5
 * (RFC 1928: no authentication, CONNECT, IPv4/IPv6/domain name). Names are
 * not resolved here: they travel in the direct-tcpip request and the server
 * resolves them. The parser is pure (bytes in, a step out) so it can be
 * tested byte by byte.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeForward } from './forward-pipe.js';
import type { SSHForwardChannel } from './forward-channel.js';

/** Where the parser is: before the first byte, or after a SOCKS5 greeting. */
export type SocksState = { kind: 'start' } | { kind: 'awaitingSocks5Request' };

export type SocksStep =
  /** More bytes are needed. */
  | { kind: 'need' }
  /** Send `reply` and close: the request is malformed or unsupported. */
  | { kind: 'fail'; reply: Uint8Array; reason: string }
  /** Send `reply`, drop `consumed` bytes and continue in `next`. */
  | { kind: 'reply'; reply: Uint8Array; consumed: number; next: SocksState }
  /** A CONNECT request: open the channel, then send `success` or `failure`. */
  | { kind: 'connect'; version: 4 | 5; host: string; port: number; consumed: number };

/** A request header longer than this is refused (SOCKS5 names are at most 255 bytes). */
const MAX_HEADER = 1024;

const SOCKS4_REJECT = Uint8Array.of(0, 91, 0, 0, 0, 0, 0, 0);
const socks5Reply = (code: number): Uint8Array => Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0);

/** The reply to a CONNECT once the channel opened (or failed). */
export function socksConnectReply(version: 4 | 5, ok: boolean): Uint8Array {
  if (version === 4) return ok ? Uint8Array.of(0, 90, 0, 0, 0, 0, 0, 0) : SOCKS4_REJECT;
  return socks5Reply(ok ? 0 : 5);
}

function cString(buf: Uint8Array, from: number): { value: string; end: number } | null {
  const nul = buf.indexOf(0, from);
  if (nul < 0) return null;
  return { value: Buffer.from(buf.subarray(from, nul)).toString('latin1'), end: nul + 1 };
}

function ipv6(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(':');
}

/** One parser step over the bytes received so far. */
export function parseSocks(state: SocksState, buf: Uint8Array): SocksStep {
  if (buf.length === 0) return { kind: 'need' };
  const tooLong = buf.length > MAX_HEADER;
  if (state.kind === 'start') {
    const version = buf[0]!;
    if (version === 4) {
      if (buf.length < 9) return { kind: 'need' };
      if (buf[1] !== 1) return { kind: 'fail', reply: SOCKS4_REJECT, reason: `SOCKS4 command ${buf[1]} not supported` };
      const port = (buf[2]! << 8) | buf[3]!;
      const user = cString(buf, 8);
      if (!user) return tooLong ? { kind: 'fail', reply: SOCKS4_REJECT, reason: 'SOCKS4 user id too long' } : { kind: 'need' };
      const a = buf.subarray(4, 8);
      if (a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] !== 0) {
        const name = cString(buf, user.end);
        if (!name) return tooLong ? { kind: 'fail', reply: SOCKS4_REJECT, reason: 'SOCKS4a host name too long' } : { kind: 'need' };
        if (name.value === '') return { kind: 'fail', reply: SOCKS4_REJECT, reason: 'SOCKS4a empty host name' };
        return { kind: 'connect', version: 4, host: name.value, port, consumed: name.end };
      }
      return { kind: 'connect', version: 4, host: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port, consumed: user.end };
    }
    if (version === 5) {
      if (buf.length < 2) return { kind: 'need' };
      const n = buf[1]!;
      if (buf.length < 2 + n) return { kind: 'need' };
      const methods = buf.subarray(2, 2 + n);
      if (!methods.includes(0)) return { kind: 'fail', reply: Uint8Array.of(5, 0xff), reason: 'SOCKS5 client offers no "no authentication" method' };
      return { kind: 'reply', reply: Uint8Array.of(5, 0), consumed: 2 + n, next: { kind: 'awaitingSocks5Request' } };
    }
    return { kind: 'fail', reply: new Uint8Array(0), reason: `unknown SOCKS version ${version}` };
  }
  // SOCKS5 request: VER CMD RSV ATYP DST.ADDR DST.PORT
  if (buf.length < 5) return { kind: 'need' };
  if (buf[0] !== 5) return { kind: 'fail', reply: socks5Reply(1), reason: `SOCKS5 request with version ${buf[0]}` };
  if (buf[1] !== 1) return { kind: 'fail', reply: socks5Reply(7), reason: `SOCKS5 command ${buf[1]} not supported` };
  let host: string;
  let at: number;
  switch (buf[3]) {
    case 1:
      if (buf.length < 10) return { kind: 'need' };
      host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
      at = 8;
      break;
    case 3: {
      const len = buf[4]!;
      if (len === 0) return { kind: 'fail', reply: socks5Reply(1), reason: 'SOCKS5 empty host name' };
      if (buf.length < 5 + len + 2) return { kind: 'need' };
      host = Buffer.from(buf.subarray(5, 5 + len)).toString('latin1');
      at = 5 + len;
      break;
    }
    case 4:
      if (buf.length < 22) return { kind: 'need' };
      host = ipv6(buf.subarray(4, 20));
      at = 20;
      break;
    default:
      return { kind: 'fail', reply: socks5Reply(8), reason: `SOCKS5 address type ${buf[3]} not supported` };
  }
  const port = (buf[at]! << 8) | buf[at + 1]!;
  return { kind: 'connect', version: 5, host, port, consumed: at + 2 };
}

/** Reads a SOCKS request from `sock`, opens the channel with `open`, replies and joins them. */
export function serveSocks(sock: Socket, open: (host: string, port: number) => Promise<SSHForwardChannel>): void {
  let state: SocksState = { kind: 'start' };
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const step = parseSocks(state, buf);
      if (step.kind === 'need') {
        if (buf.length > MAX_HEADER) sock.destroy();
        return;
      }
      if (step.kind === 'fail') {
        sock.off('data', onData);
        sock.end(step.reply);
        return;
      }
      if (step.kind === 'reply') {
        sock.write(step.reply);
        buf = buf.subarray(step.consumed);
        state = step.next;
        continue;
      }
      sock.off('data', onData);
      sock.pause();
      const rest = buf.subarray(step.consumed);
      if (rest.length > 0) sock.unshift(rest);
      open(step.host, step.port).then(
        (chan) => {
          sock.write(socksConnectReply(step.version, true));
          pipeForward(sock as Duplex, chan);
        },
        () => sock.end(socksConnectReply(step.version, false)),
      );
      return;
    }
  };
  sock.on('data', onData);
}
