/**
 * Protocol version exchange (RFC 4253 §4.2) with OpenSSH's limits: a peer
 * line is at most 8192 bytes, a server may send at most 1024 other lines
 * before its version line, and a client may send none.
 */
import { ProtocolError, ProtocolNotSupported } from './errors.js';

export const MAX_VERSION_LINE = 8192;
export const MAX_PRE_BANNER_LINES = 1024;

export type VersionResult =
  | { kind: 'needMore' }
  | { kind: 'done'; version: string; rest: Uint8Array; banner: string[] };

export class VersionExchange {
  private buf: Uint8Array = new Uint8Array(0);
  private lines = 0;
  private readonly banner: string[] = [];

  /** `peerIsServer`: whether the peer may send lines before its version. */
  constructor(private readonly peerIsServer: boolean) {}

  static line(software: string, comment?: string): Uint8Array {
    if (!/^[\x21-\x2c\x2e-\x7e]+$/.test(software)) throw new RangeError('softwareVersion: printable ASCII without spaces or "-" only');
    const text = `SSH-2.0-${software}${comment ? ' ' + comment : ''}\r\n`;
    if (text.length > 255) throw new RangeError('version line longer than 255 bytes');
    return new TextEncoder().encode(text);
  }

  /** Feeds bytes; returns the peer's version once its line is complete. */
  receive(chunk: Uint8Array): VersionResult {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_VERSION_LINE) throw new ProtocolError('peer version line too long');
        return { kind: 'needMore' };
      }
      if (nl + 1 > MAX_VERSION_LINE) throw new ProtocolError('peer version line too long');
      let end = nl;
      if (end > 0 && this.buf[end - 1] === 0x0d) end--;
      const lineBytes = this.buf.subarray(0, end);
      const rest = this.buf.subarray(nl + 1);
      let line = '';
      for (const b of lineBytes) {
        if (b === 0) throw new ProtocolError('NUL byte in peer version exchange');
        line += String.fromCharCode(b);
      }
      if (line.startsWith('SSH-')) {
        if (!line.startsWith('SSH-2.0-') && !line.startsWith('SSH-1.99-')) {
          throw new ProtocolNotSupported(`unsupported protocol version: ${JSON.stringify(line.slice(0, 64))}`);
        }
        return { kind: 'done', version: line, rest: rest.slice(), banner: this.banner };
      }
      if (!this.peerIsServer) throw new ProtocolError('client sent data before its version line');
      if (++this.lines > MAX_PRE_BANNER_LINES) throw new ProtocolError('too many lines before the server version line');
      this.banner.push(line);
      this.buf = rest.slice();
    }
  }
}
