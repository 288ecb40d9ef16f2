/**
 * One forwarding channel (direct-tcpip, forwarded-tcpip, the streamlocal
 * forms, x11) as a single Node Duplex, like a net.Socket with allowHalfOpen:
 *
 * - Inbound data is pushed to the readable side; the channel's receive window
 *   is credited back only while the readable buffer is under its high-water
 *   mark, or later when the consumer reads, so a slow reader stops the peer.
 * - Writes queue in order and go out as the remote window and the socket
 *   allow; a write's callback runs once its bytes were accepted.
 * - end() sends EOF; the peer's EOF ends the readable side. Once EOF went both
 *   ways the channel is closed, as OpenSSH does. destroy() closes at once.
 * - When the channel closes (either side, or the connection is lost) the
 *   readable side ends and later writes are discarded.
 */
import { Duplex } from 'node:stream';
import type { ChannelSink } from './actor-types.js';
import type { ConnectionActor } from './connection-actor.js';

interface PendingWrite {
  data: Uint8Array | null; // null = EOF
  done: (err?: Error | null) => void;
}

export interface ForwardChannelInfo {
  /** The channel type, e.g. "direct-tcpip". */
  channelType: string;
  /** Destination (direct-*) or listening address (forwarded-*); a socket path for streamlocal. */
  destHost: string;
  destPort: number;
  origHost: string;
  origPort: number;
}

export class SSHForwardChannel extends Duplex implements ChannelSink {
  id = -1;
  /** Set when the connection went away under the channel. */
  closeError: Error | null = null;
  private owed = 0;
  private readonly queue: PendingWrite[] = [];
  private eofSent = false;
  private eofReceived = false;
  private closeSent = false;
  private channelClosed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly actor: ConnectionActor,
    readonly info: ForwardChannelInfo,
    highWaterMark = 256 * 1024,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark, decodeStrings: true });
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** True once the SSH channel is fully closed. */
  get channelIsClosed(): boolean {
    return this.channelClosed;
  }

  /** Resolves once the SSH channel is fully closed. */
  waitClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Closes the channel now (CHANNEL_CLOSE), discarding queued writes. */
  close(): Promise<void> {
    this.actor.channelCall(() => this.sendClose());
    return this.closedPromise;
  }

  // ---- Duplex ------------------------------------------------------------

  override _read(): void {
    if (this.owed === 0) return;
    this.actor.post(() => {
      const n = this.owed;
      this.owed = 0;
      if (n > 0 && !this.channelClosed) this.actor.consume(this.id, n);
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.enqueue(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.enqueue(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.enqueue(null, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.actor.channelCall(() => this.sendClose());
    cb(err);
  }

  private enqueue(data: Uint8Array | null, cb: (err?: Error | null) => void): void {
    if (data !== null && data.length === 0) return cb();
    this.actor.post(() => {
      if (this.channelClosed || this.closeSent) return cb();
      this.queue.push({ data, done: cb });
      this.pump();
    });
  }

  /** Actor context: hands queued writes to the channel as the window allows. */
  private pump(): void {
    while (this.queue.length > 0 && !this.channelClosed && !this.closeSent) {
      if (!this.actor.socketWritable()) return;
      const w = this.queue[0]!;
      if (w.data === null) {
        this.queue.shift();
        if (!this.eofSent) {
          this.eofSent = true;
          this.actor.sendEof(this.id);
        }
        w.done(null);
        this.maybeClose();
        continue;
      }
      if (this.eofSent) {
        this.queue.shift();
        w.done(null);
        continue;
      }
      const accepted = this.actor.sendData(this.id, w.data);
      if (accepted < w.data.length) {
        w.data = w.data.subarray(accepted);
        return;
      }
      this.queue.shift();
      w.done(null);
    }
  }

  private maybeClose(): void {
    if (this.eofSent && this.eofReceived) this.sendClose();
  }

  /** Actor context. */
  private sendClose(): void {
    if (this.closeSent || this.channelClosed || this.id < 0) return;
    this.closeSent = true;
    for (const w of this.queue.splice(0)) w.done(null);
    this.actor.closeChannel(this.id);
  }

  // ---- ChannelSink (actor context) ---------------------------------------

  onData(data: Uint8Array, extended?: number): void {
    if ((extended !== undefined && extended !== 0) || this.eofReceived || this.readableEnded || this.destroyed) {
      this.actor.consume(this.id, data.length); // nobody reads it: keep the channel flowing
      return;
    }
    if (this.push(Buffer.from(data.buffer, data.byteOffset, data.length))) this.actor.consume(this.id, data.length);
    else this.owed += data.length;
  }

  onEof(): void {
    if (this.eofReceived) return;
    this.eofReceived = true;
    if (!this.destroyed) this.push(null);
    this.maybeClose();
  }

  onClose(error: Error | null): void {
    if (this.channelClosed) return;
    this.channelClosed = true;
    this.closeError = error;
    for (const w of this.queue.splice(0)) w.done(null);
    if (!this.eofReceived) {
      this.eofReceived = true;
      if (!this.destroyed) this.push(null);
    }
    // Let the writable side finish too, so the stream emits 'close' once read.
    if (!this.writableEnded && !this.destroyed) this.end();
    this.resolveClosed();
    this.emit('channelClose', error);
  }

  onWindow(): void {
    this.pump();
  }

  onRequest(_requestType: string, wantReply: boolean): void {
    if (wantReply) this.actor.replyRequest(this.id, false);
  }
}

/** Opens a channel of `type` and resolves with its stream once the peer confirmed it. */
export async function openForwardChannel(
  actor: ConnectionActor,
  type: string,
  typeData: Uint8Array,
  info: ForwardChannelInfo,
  opts?: { windowSize?: number; maxPacketSize?: number },
): Promise<SSHForwardChannel> {
  const chan = new SSHForwardChannel(actor, info);
  await actor.openChannel(
    type,
    typeData,
    (id) => {
      chan.id = id;
      return chan;
    },
    opts,
  );
  return chan;
}

/** Actor context: accepts an incoming channel and returns its stream. */
export function acceptForwardChannel(actor: ConnectionActor, id: number, info: ForwardChannelInfo): SSHForwardChannel {
  const chan = new SSHForwardChannel(actor, info);
  chan.id = id;
  actor.acceptChannel(id, chan);
  return chan;
}
