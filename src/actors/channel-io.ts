/**
 * Node streams over one SSH channel, with backpressure in both directions.
 *
 * Inbound: data from the peer is pushed to a Readable; the channel's receive
 * window is credited back (`consume`) only while the Readable's buffer is under
 * its high-water mark, or later, when the consumer reads. A slow reader thus
 * stops the peer, and at most window + highWaterMark bytes are buffered.
 *
 * Outbound: writes queue here in order and are handed to the channel as its
 * remote window and the socket allow; a write's callback runs once its bytes
 * were accepted, so `write()` returns false and 'drain' follows the window.
 *
 * The streams never emit 'error' on their own: writes after the channel closed
 * are discarded, and the owner reports failures through its own promises.
 */
import { Duplex, Readable, Writable } from 'node:stream';

/** What a ChannelIO needs from its connection actor. */
export interface ChannelPort {
  /** Runs fn inside the actor's mailbox (now, or after the current message). */
  post(fn: () => void): void;
  /** Actor context: hands bytes to the channel; returns how many were accepted now. */
  sendData(data: Uint8Array, extended: number | undefined): number;
  /** Actor context: sends EOF. */
  sendEof(): void;
  /** Actor context: credits n bytes back to the receive window. */
  consume(n: number): void;
  /** Actor context: false while the socket is above its high-water mark. */
  socketWritable(): boolean;
}

export interface ChannelIOOptions {
  /** Text encoding of the streams, or null for Buffers. Default 'utf8'. */
  encoding?: BufferEncoding | null;
  /** Readable/Writable high-water mark in bytes. Default 64 KiB. */
  highWaterMark?: number;
}

interface PendingWrite {
  data: Uint8Array | null; // null = EOF marker
  extended: number | undefined;
  done: (err?: Error | null) => void;
}

/** Credits window bytes back as a Readable's consumer takes them. */
class InboundSide {
  private owed = 0;
  ended = false;
  constructor(private readonly port: ChannelPort, readonly readable: Readable) {}

  /** Actor context. */
  push(data: Uint8Array): void {
    if (this.ended || this.readable.destroyed) {
      // Nobody will read it: keep the channel flowing rather than stall the peer.
      this.port.consume(data.length);
      return;
    }
    const below = this.readable.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    if (below) this.port.consume(data.length);
    else this.owed += data.length;
  }

  /** Called by Node when the consumer wants more (user context). */
  wantMore(): void {
    if (this.owed === 0) return;
    this.port.post(() => {
      const n = this.owed;
      this.owed = 0;
      if (n > 0) this.port.consume(n);
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.readable.push(null);
  }
}

const noop = (): void => undefined;

/**
 * One default maximum packet. A chunk shorter than this is joined with its
 * neighbours (a packet per small chunk costs more than the copy: measured,
 * giving each 1-8 KiB WRITE of a tree put its own packets raised the
 * client's CPU per file by ~10 %); of a longer one, this much at most rides
 * in the packet of the small chunks before it.
 */
const PACKET = 32768;

/**
 * The chunks of one writev (a tick of SFTP requests: header, data, header,
 * data, ...) as pieces for the channel: large chunks are passed on as they
 * are, never joined, so their bytes are copied once, into the packet; runs
 * of chunks shorter than a packet are joined, together with the start of
 * the large chunk after them up to one packet, so a request header does not
 * become a packet of its own. Measured: joining every batch (Buffer.concat) cost ~6 % of a
 * 256 MiB SFTP put.
 */
export function joinSmall(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  for (const c of chunks) {
    if (c.length === 0) continue;
    if (c.length < PACKET) {
      run.push(c);
      runBytes += c.length;
      continue;
    }
    if (run.length === 0) {
      out.push(c);
      continue;
    }
    const take = Math.max(0, Math.min(c.length, PACKET - runBytes));
    run.push(c.subarray(0, take));
    out.push(Buffer.concat(run, runBytes + take));
    if (take < c.length) out.push(c.subarray(take));
    run = [];
    runBytes = 0;
  }
  if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
  return out;
}

export class ChannelIO {
  /** Data received from the peer (a process's stdout on the client, stdin on the server). */
  readonly readable: Readable;
  /** Data sent to the peer; end() sends EOF. */
  readonly writable: Writable;
  /** Extended data (stderr) received from the peer. */
  readonly stderrIn: Readable;
  /** Extended data (stderr) sent to the peer. */
  readonly stderrOut: Writable;

  private readonly port: ChannelPort;
  private readonly queue: PendingWrite[] = [];
  private readonly stdoutSide: InboundSide;
  private readonly stderrSide: InboundSide;
  private duplex: Duplex | null = null;
  private closed = false;
  private writeStopped = false;
  private eofSent = false;

  constructor(port: ChannelPort, options: ChannelIOOptions = {}) {
    // Window credits for a channel that is gone must not reach the core.
    this.port = { ...port, consume: (n) => !this.closed && port.consume(n) };
    const encoding = options.encoding === undefined ? 'utf8' : options.encoding;
    const highWaterMark = options.highWaterMark ?? 64 * 1024;
    if (encoding !== null && !Buffer.isEncoding(encoding)) {
      throw new RangeError(`encoding: unknown encoding ${JSON.stringify(encoding)}`);
    }
    let stdoutSide: InboundSide | null = null;
    let stderrSide: InboundSide | null = null;
    // Separate objects for each direction: finishing (or destroying) the
    // reading side, as for-await does, must not cut off the writing side.
    this.readable = new Readable({ highWaterMark, read: () => stdoutSide?.wantMore() });
    this.stderrIn = new Readable({ highWaterMark, read: () => stderrSide?.wantMore() });
    const writer = (extended: number | undefined): Writable =>
      new Writable({
        highWaterMark,
        defaultEncoding: encoding ?? 'utf8',
        write: (chunk: Buffer, _enc, cb) => this.enqueue(chunk, extended, cb),
        writev: (chunks, cb) => this.enqueueMany(joinSmall(chunks.map((c) => c.chunk as Buffer)), extended, cb),
        final: extended === undefined ? (cb) => this.enqueue(null, undefined, cb) : undefined,
      });
    this.writable = writer(undefined);
    this.stderrOut = writer(1);
    if (encoding !== null) {
      this.readable.setEncoding(encoding);
      this.stderrIn.setEncoding(encoding);
    }
    stdoutSide = new InboundSide(this.port, this.readable);
    stderrSide = new InboundSide(this.port, this.stderrIn);
    this.stdoutSide = stdoutSide;
    this.stderrSide = stderrSide;
  }

  /**
   * Sets the text encoding of the inbound streams once the use of the channel
   * is known (a server session learns it from its exec/shell/subsystem
   * request). Only for channels created with `encoding: null`.
   */
  applyEncoding(encoding: BufferEncoding | null): void {
    if (encoding === null) return;
    if (!Buffer.isEncoding(encoding)) throw new RangeError(`encoding: unknown encoding ${JSON.stringify(encoding)}`);
    this.readable.setEncoding(encoding);
    this.stderrIn.setEncoding(encoding);
  }

  /** Both data directions as one Duplex (for piping, or SSH over a channel). */
  get stream(): Duplex {
    this.duplex ??= Duplex.from({ readable: this.readable, writable: this.writable });
    return this.duplex;
  }

  // ---- actor side -------------------------------------------------------

  /** Actor context: data from the peer. */
  onData(data: Uint8Array, extended?: number): void {
    if (extended === undefined || extended === 0) this.stdoutSide.push(data);
    else if (extended === 1) this.stderrSide.push(data);
    else this.port.consume(data.length);
  }

  /** Actor context: the peer sent EOF. */
  onEof(): void {
    this.stdoutSide.end();
    this.stderrSide.end();
  }

  /** Actor context: the channel is fully closed (or the connection is gone). */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.onEof();
    const pending = this.queue.splice(0);
    for (const w of pending) w.done(null); // discarded: the channel is gone
    // The writing sides are left open: writes after close are discarded by
    // enqueue(). Ending them here would turn a late write (say, output written
    // when stdin ends, right after the peer closed) into an 'error' event.
    this.writeStopped = true;
  }

  /**
   * Actor context: we are about to send CLOSE (or the channel is otherwise
   * done for writing): queued and later writes are discarded.
   */
  stopWriting(): void {
    this.writeStopped = true;
    for (const w of this.queue.splice(0)) w.done(null);
  }

  /** Actor context: the remote window opened or the socket drained. */
  pump(): void {
    while (this.queue.length > 0 && !this.closed && !this.writeStopped) {
      if (!this.port.socketWritable()) return;
      const w = this.queue[0]!;
      if (w.data === null) {
        this.queue.shift();
        if (!this.eofSent) {
          this.eofSent = true;
          this.port.sendEof();
        }
        w.done(null);
        continue;
      }
      if (this.eofSent) {
        // No data may follow EOF (RFC 4254 §5.3): a late stderr write is dropped.
        this.queue.shift();
        w.done(null);
        continue;
      }
      const accepted = this.port.sendData(w.data, w.extended);
      if (accepted < w.data.length) {
        w.data = w.data.subarray(accepted);
        return;
      }
      this.queue.shift();
      w.done(null);
    }
  }

  /** True once EOF was sent (stdin ended). */
  get eofWasSent(): boolean {
    return this.eofSent;
  }

  /** Bytes queued but not yet accepted by the channel. */
  get pendingBytes(): number {
    let n = 0;
    for (const w of this.queue) n += w.data?.length ?? 0;
    return n;
  }

  // ---- stream side --------------------------------------------------------

  /** Several writes of one writev, in order; `cb` once the last was taken. */
  private enqueueMany(parts: Uint8Array[], extended: number | undefined, cb: (err?: Error | null) => void): void {
    if (parts.length === 0) {
      cb();
      return;
    }
    this.port.post(() => {
      if (this.closed || this.writeStopped) {
        cb();
        return;
      }
      const last = parts.length - 1;
      for (let i = 0; i <= last; i++) this.queue.push({ data: parts[i]!, extended, done: i === last ? (err) => cb(err) : noop });
      this.pump();
    });
  }

  private enqueue(data: Buffer | null, extended: number | undefined, cb: (err?: Error | null) => void): void {
    if (data !== null && data.length === 0) {
      cb();
      return;
    }
    // No copy: the write callback runs only once every byte was taken by the
    // core, which copies it into a packet (or a kex-time queue) right then.
    const bytes = data === null ? null : new Uint8Array(data.buffer, data.byteOffset, data.length);
    this.port.post(() => {
      if (this.closed || this.writeStopped) {
        cb();
        return;
      }
      this.queue.push({ data: bytes, extended, done: (err) => cb(err) });
      this.pump();
    });
  }
}
