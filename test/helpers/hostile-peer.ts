/**
 * A raw TCP peer that speaks just enough SSH to misbehave at the version
 * exchange and the first (unencrypted) packets, and reports how the other side
 * reacted: it closed the connection, sent SSH_MSG_DISCONNECT, or did nothing
 * until the deadline. Works in both directions: probeServer() attacks a server,
 * startHostileServer() attacks each client that connects.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Msg } from '../../src/protocol/messages.js';
import { Writer } from '../../src/protocol/wire.js';

export const HOSTILE_VERSION = 'SSH-2.0-fleetssh_hostile_1.0';

export type HostileStep =
  | { kind: 'send'; bytes: Uint8Array }
  /** Wait until the peer's version line has arrived. */
  | { kind: 'awaitVersion' }
  /** Wait until an unencrypted packet with this message number has arrived. */
  | { kind: 'awaitMessage'; msg: number };

export interface HostileReport {
  /** How the exchange ended: the peer closed (after a DISCONNECT or not), or the deadline passed. */
  outcome: 'disconnect' | 'closed' | 'timeout';
  /** The connection ended with an error (ECONNRESET, EPIPE) rather than a clean FIN. */
  reset: boolean;
  peerVersion: string | null;
  /** Text lines the peer sent before its version line (or instead of it). */
  linesBeforeVersion: string[];
  /** Message numbers of the unencrypted packets the peer sent, in order. */
  messages: number[];
  disconnect: { reason: number; description: string } | null;
  bytesReceived: number;
  /** The steps did not all run (the peer ended first); names the step that was waiting. */
  stoppedAt: number | null;
}

export interface HostileScenario {
  name: string;
  description: string;
  steps: HostileStep[];
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const send = (bytes: Uint8Array | string): HostileStep => ({ kind: 'send', bytes: typeof bytes === 'string' ? ascii(bytes) : bytes });

/** Frames a payload as an unencrypted binary packet (RFC 4253 §6), zero padding. */
export function plainPacket(payload: Uint8Array): Uint8Array {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  return new Writer(payload.length + 32)
    .uint32(1 + payload.length + pad)
    .byte(pad)
    .raw(payload)
    .raw(new Uint8Array(pad))
    .toBytes();
}

/** A KEXINIT payload with the given ten name-lists (raw strings, not validated). */
export function kexinitPayload(lists: readonly (string | Uint8Array)[]): Uint8Array {
  const w = new Writer(512).byte(Msg.KEXINIT).raw(new Uint8Array(16).fill(0x5a));
  for (let i = 0; i < 10; i++) w.string(lists[i] ?? '');
  return w.boolean(false).uint32(0).toBytes();
}

/** A plausible KEXINIT (curve25519, ed25519, aes128-ctr, hmac-sha2-256, none). */
export function validKexinitPayload(): Uint8Array {
  return kexinitPayload([
    'curve25519-sha256',
    'ssh-ed25519,rsa-sha2-256',
    'aes128-ctr', 'aes128-ctr',
    'hmac-sha2-256', 'hmac-sha2-256',
    'none', 'none', '', '',
  ]);
}

const versionLine = send(HOSTILE_VERSION + '\r\n');
const handshake: HostileStep[] = [versionLine, { kind: 'awaitVersion' }];

/** The stock misbehaviours; each is valid in both directions. */
export const HOSTILE_SCENARIOS: readonly HostileScenario[] = [
  {
    name: 'overlong-version',
    description: 'a version line of 300 bytes (RFC 4253 §4.2 allows 255 with CR LF)',
    steps: [send('SSH-2.0-' + 'A'.repeat(290) + '\r\n'), { kind: 'awaitVersion' }],
  },
  {
    name: 'endless-version',
    description: '64 KiB without a line end where the version should be',
    steps: [send('SSH-2.0-' + 'B'.repeat(65536))],
  },
  {
    name: 'many-pre-banner-lines',
    description: '1100 text lines before the version line (OpenSSH stops at 1024)',
    steps: [send(Array.from({ length: 1100 }, (_, i) => `pre-banner line ${i}\r\n`).join('') + HOSTILE_VERSION + '\r\n')],
  },
  {
    name: 'wrong-protocol-version',
    description: 'an SSH-1.5 version line',
    steps: [send('SSH-1.5-fleetssh_hostile\r\n'), { kind: 'awaitVersion' }],
  },
  {
    name: 'huge-packet-length',
    description: 'a first packet whose length field is 0x7fffffff',
    steps: [...handshake, send(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 4, 20, 0, 0, 0, 0, 0, 0]))],
  },
  {
    name: 'zero-packet-length',
    description: 'a first packet whose length field is 0',
    steps: [...handshake, send(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]))],
  },
  {
    name: 'padding-longer-than-packet',
    description: 'a packet whose padding length exceeds its packet length',
    steps: [...handshake, send(new Uint8Array([0, 0, 0, 12, 200, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))],
  },
  {
    name: 'garbage-kexinit',
    description: 'a KEXINIT whose name-lists hold control bytes, empty names and no common algorithm',
    steps: [
      ...handshake,
      send(plainPacket(kexinitPayload([
        ',,,', new Uint8Array([0xff, 0x00, 0x01, 0x2c, 0x80]), 'no-such-cipher', 'x'.repeat(2000),
        '\n\r', ',', 'zzz', 'zzz', '', '',
      ]))),
    ],
  },
  {
    name: 'truncated-kexinit',
    description: 'a KEXINIT cut off inside its third name-list (framing intact)',
    steps: [...handshake, send(plainPacket(validKexinitPayload().subarray(0, 60)))],
  },
  {
    name: 'newkeys-before-kexinit',
    description: 'SSH_MSG_NEWKEYS as the first packet',
    steps: [...handshake, send(plainPacket(new Uint8Array([Msg.NEWKEYS])))],
  },
  {
    name: 'userauth-before-kex',
    description: 'SSH_MSG_USERAUTH_REQUEST before any key exchange',
    steps: [
      ...handshake,
      send(plainPacket(new Writer(64).byte(Msg.USERAUTH_REQUEST).string('root').string('ssh-connection').string('none').toBytes())),
    ],
  },
];

export function scenario(name: string): HostileScenario {
  const s = HOSTILE_SCENARIOS.find((x) => x.name === name);
  if (!s) throw new RangeError(`no hostile scenario named ${JSON.stringify(name)}`);
  return s;
}

const MAX_LINES = 2000;

/** Incremental parser of what the other side sends: lines, version, plain packets. */
class PeerStream {
  private buf = Buffer.alloc(0);
  version: string | null = null;
  lines: string[] = [];
  messages: number[] = [];
  disconnect: { reason: number; description: string } | null = null;
  bytes = 0;
  /** Set once the stream stops making sense to us (encrypted, oversized): parsing stops. */
  opaque = false;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.opaque) return;
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.version === null && !this.opaque) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > 65536) this.opaque = true;
        return;
      }
      const line = this.buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      if (line.startsWith('SSH-')) this.version = line;
      else if (this.lines.push(line) > MAX_LINES) this.opaque = true;
    }
    while (!this.opaque && this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(0);
      if (len < 5 || len > 35000) {
        this.opaque = true;
        return;
      }
      if (this.buf.length < 4 + len) return;
      const pad = this.buf[4]!;
      const payload = this.buf.subarray(5, 4 + len - pad);
      this.buf = this.buf.subarray(4 + len);
      if (payload.length === 0) continue;
      this.messages.push(payload[0]!);
      if (payload[0] === Msg.DISCONNECT && payload.length >= 9) {
        const reason = payload.readUInt32BE(1);
        const dlen = payload.readUInt32BE(5);
        this.disconnect = { reason, description: payload.subarray(9, 9 + dlen).toString('utf8') };
      }
    }
  }
}

/** Runs `steps` on a connected socket and reports the peer's reaction. */
export function runHostile(socket: Socket, steps: readonly HostileStep[], timeoutMs = 5000): Promise<HostileReport> {
  socket.setNoDelay(true);
  const peer = new PeerStream();
  let ended = false;
  let reset = false;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  socket.on('data', (b: Buffer) => {
    peer.push(b);
    poke();
  });
  socket.on('error', () => {
    reset = true;
  });
  socket.on('close', () => {
    ended = true;
    poke();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    poke();
  }, timeoutMs);

  const waitFor = async (ok: () => boolean): Promise<boolean> => {
    while (!ok()) {
      if (ended || timedOut) return false;
      await new Promise<void>((r) => (wake = r));
    }
    return true;
  };

  return (async () => {
    let stoppedAt: number | null = null;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (ended || timedOut) {
        stoppedAt = i;
        break;
      }
      if (step.kind === 'send') {
        socket.write(step.bytes);
      } else if (step.kind === 'awaitVersion') {
        if (!(await waitFor(() => peer.version !== null))) stoppedAt = i;
      } else if (!(await waitFor(() => peer.messages.includes(step.msg)))) {
        stoppedAt = i;
      }
      if (stoppedAt !== null) break;
    }
    await waitFor(() => false);
    clearTimeout(timer);
    if (!ended) socket.destroy();
    return {
      outcome: peer.disconnect ? 'disconnect' : ended ? 'closed' : 'timeout',
      reset,
      peerVersion: peer.version,
      linesBeforeVersion: peer.lines,
      messages: peer.messages,
      disconnect: peer.disconnect,
      bytesReceived: peer.bytes,
      stoppedAt,
    };
  })();
}

/** Connects to a server, runs the scenario, reports the server's reaction. */
export function probeServer(port: number, steps: readonly HostileStep[], options: { host?: string; timeoutMs?: number } = {}): Promise<HostileReport> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host ?? '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(runHostile(socket, steps, options.timeoutMs));
    });
  });
}

export interface HostileServer {
  readonly port: number;
  /** Reports, one per accepted connection, in order of arrival. */
  nextReport(): Promise<HostileReport>;
  close(): Promise<void>;
}

/** Listens on a loopback port and runs the scenario against every client that connects. */
export function startHostileServer(steps: readonly HostileStep[], options: { timeoutMs?: number } = {}): Promise<HostileServer> {
  const reports: Promise<HostileReport>[] = [];
  const waiters: ((r: Promise<HostileReport>) => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const report = runHostile(socket, steps, options.timeoutMs);
    const w = waiters.shift();
    if (w) w(report);
    else reports.push(report);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        nextReport: () => reports.shift() ?? new Promise<HostileReport>((r) => waiters.push((p) => r(p))),
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
