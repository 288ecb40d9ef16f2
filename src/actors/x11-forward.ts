/**
 * Client X11 forwarding, as OpenSSH's client does it: each session asks for
 * x11-req with a random fake MIT-MAGIC-COOKIE-1; the server hands out that
 * fake cookie, and each x11 channel it opens back is checked for it in the X
 * connection setup, which is rewritten with the real cookie (from `xauth
 * list $DISPLAY`, or no authentication when there is none) before it goes to
 * the local display ($DISPLAY: ":N" is /tmp/.X11-unix/XN, "host:N" is TCP
 * port 6000+N).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { OpenFailure } from '../protocol/messages.js';
import { Writer } from '../protocol/wire.js';
import { decodeX11ChannelData } from '../protocol/session-requests.js';
import type { ConnectionActor } from './connection-actor.js';
import { acceptForwardChannel } from './forward-channel.js';
import type { ClientForwarding } from './forward-client.js';
import { pipeForward } from './forward-pipe.js';

export const X11_AUTH_PROTOCOL = 'MIT-MAGIC-COOKIE-1';

export interface X11Display {
  /** null = the local UNIX socket. */
  host: string | null;
  display: number;
  screen: number;
}

/** Parses $DISPLAY ("[host][/unix]:display[.screen]"). */
export function parseDisplay(text: string): X11Display {
  const m = /^(.*):(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new TypeError(`x11Display: cannot parse ${JSON.stringify(text)}`);
  const host = m[1] === '' || m[1] === 'unix' || m[1]!.endsWith('/unix') ? null : m[1]!;
  return { host, display: Number(m[2]), screen: m[3] === undefined ? 0 : Number(m[3]) };
}

/** The x11-req payload (RFC 4254 §6.3.1). */
export function encodeX11Request(singleConnection: boolean, protocol: string, cookieHex: string, screen: number): Uint8Array {
  return new Writer(64).boolean(singleConnection).string(protocol).string(cookieHex).uint32(screen).toBytes();
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Checks an X11 connection setup for the fake cookie and rewrites it with the
 * real one. Returns 'need' until the whole setup header is there, null when
 * the cookie is wrong.
 */
export function rewriteX11Setup(buf: Uint8Array, fake: { protocol: string; data: Uint8Array }, real: { protocol: string; data: Uint8Array }): { setup: Uint8Array; consumed: number } | 'need' | null {
  if (buf.length < 12) return 'need';
  const order = buf[0];
  if (order !== 0x42 && order !== 0x6c) return null;
  const be = order === 0x42;
  const u16 = (o: number): number => (be ? (buf[o]! << 8) | buf[o + 1]! : buf[o]! | (buf[o + 1]! << 8));
  const nameLen = u16(6);
  const dataLen = u16(8);
  const consumed = 12 + pad4(nameLen) + pad4(dataLen);
  if (buf.length < consumed) return 'need';
  const name = Buffer.from(buf.subarray(12, 12 + nameLen)).toString('latin1');
  const data = buf.subarray(12 + pad4(nameLen), 12 + pad4(nameLen) + dataLen);
  if (name !== fake.protocol || Buffer.compare(data, fake.data) !== 0) return null;
  const rn = Buffer.from(real.protocol, 'latin1');
  const out = Buffer.alloc(12 + pad4(rn.length) + pad4(real.data.length));
  out.set(buf.subarray(0, 6), 0);
  const put16 = (o: number, v: number): void => void (be ? out.writeUInt16BE(v, o) : out.writeUInt16LE(v, o));
  put16(6, rn.length);
  put16(8, real.data.length);
  out.set(rn, 12);
  out.set(real.data, 12 + pad4(rn.length));
  return { setup: out, consumed };
}

function realCookie(display: string): Promise<{ protocol: string; data: Uint8Array }> {
  return new Promise((resolve) => {
    execFile('xauth', ['list', display], { timeout: 5000 }, (err, stdout) => {
      const line = err ? undefined : String(stdout).split('\n').find((l) => l.trim() !== '');
      const f = line?.trim().split(/\s+/) ?? [];
      if (f.length >= 3 && /^[0-9a-f]+$/i.test(f[2]!)) resolve({ protocol: f[1]!, data: Buffer.from(f[2]!, 'hex') });
      else resolve({ protocol: '', data: new Uint8Array(0) });
    });
  });
}

export class X11Forwarder {
  private readonly fake = { protocol: X11_AUTH_PROTOCOL, data: randomBytes(16) as Uint8Array };
  private real: Promise<{ protocol: string; data: Uint8Array }> | null = null;

  private constructor(
    private readonly actor: ConnectionActor,
    private readonly displayText: string,
    private readonly display: X11Display,
  ) {}

  /** Sends x11-req on every session of this connection and serves its x11 channels. */
  static attach(actor: ConnectionActor, forwarding: ClientForwarding, displayOption?: string): X11Forwarder | null {
    const text = displayOption ?? process.env.DISPLAY;
    if (!text) {
      actor.emit('debug', 'X11 forwarding requested but DISPLAY is not set');
      return null;
    }
    const fwd = new X11Forwarder(actor, text, parseDisplay(text));
    const cookieHex = Buffer.from(fwd.fake.data).toString('hex');
    actor.sessionPreludes.push(() => ({ requestType: 'x11-req', data: encodeX11Request(false, X11_AUTH_PROTOCOL, cookieHex, fwd.display.screen) }));
    forwarding.x11Handler = (id, typeData) => fwd.channelOpen(id, typeData);
    return fwd;
  }

  private dial(): Promise<Socket> {
    const d = this.display;
    const target = d.host === null ? { path: `/tmp/.X11-unix/X${d.display}` } : { host: d.host, port: 6000 + d.display };
    return new Promise((resolve, reject) => {
      const sock = netConnect({ ...target, allowHalfOpen: true, noDelay: true });
      sock.once('connect', () => resolve(sock));
      sock.once('error', reject);
    });
  }

  /** Actor context: an x11 channel from the server. */
  private channelOpen(id: number, typeData: Uint8Array): void {
    let orig: { originatorAddress: string; originatorPort: number };
    try {
      orig = decodeX11ChannelData(typeData);
    } catch (err) {
      return this.actor.core.connection.rejectChannel(id, OpenFailure.CONNECT_FAILED, (err as Error).message);
    }
    this.real ??= realCookie(this.displayText);
    void Promise.all([this.real, this.dial()]).then(
      ([real, local]) =>
        this.actor.channelCall(() => {
          const chan = acceptForwardChannel(this.actor, id, { channelType: 'x11', destHost: this.displayText, destPort: 0, origHost: orig.originatorAddress, origPort: orig.originatorPort });
          let buf = Buffer.alloc(0);
          const onData = (chunk: Buffer): void => {
            buf = Buffer.concat([buf, chunk]);
            const r = rewriteX11Setup(buf, this.fake, real);
            if (r === 'need') return;
            chan.off('data', onData);
            chan.pause();
            if (r === null) {
              local.destroy();
              chan.destroy();
              return;
            }
            local.write(r.setup);
            if (buf.length > r.consumed) chan.unshift(buf.subarray(r.consumed));
            pipeForward(local, chan);
          };
          chan.on('data', onData);
        }),
      () => this.actor.rejectChannel(id, OpenFailure.CONNECT_FAILED, `cannot connect to X display ${this.displayText}`),
    );
  }
}
