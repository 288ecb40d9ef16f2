/**
 * One channel's state and flow control (RFC 4254 §5). The receive window is
 * spent by incoming data and given back only when the application says it
 * has consumed the data; the send window is spent by outgoing data and
 * refilled by the peer's WINDOW_ADJUST.
 */
import { ProtocolError } from './errors.js';
import { ReplyQueue } from './connection-reply-queue.js';

export const MAX_WINDOW = 0xffffffff;

export type ChannelState =
  /** We sent CHANNEL_OPEN and wait for the peer's confirmation or failure. */
  | { kind: 'awaitingConfirmation'; closeWhenOpen: boolean }
  /** The peer sent CHANNEL_OPEN and waits for the application to accept or reject it. */
  | { kind: 'awaitingAcceptance' }
  | { kind: 'open' };

export interface ChannelLimits {
  windowSize: number;
  maxPacketSize: number;
}

export class Channel {
  state: ChannelState;
  remoteId = 0;
  /** Bytes the peer may still send before our next WINDOW_ADJUST. */
  receiveWindow: number;
  /** Bytes delivered to the application and not yet consumed. */
  unconsumed = 0;
  /** Bytes consumed and not yet given back with WINDOW_ADJUST. */
  private consumedPending = 0;
  remoteWindow = 0;
  remoteMaxPacket = 0;
  /** sendData accepted less than it was given: tell the app when the window opens. */
  blocked = false;
  eofSent = false;
  eofReceived = false;
  closeSent = false;
  /**
   * The peer's CLOSE arrived (and ours went out): the channel is gone, but its
   * id stays reserved until the events naming it have been handed out and
   * dispatched (ConnectionLayer.eventsTaken).
   */
  closed = false;
  /** Our requests that want a reply and have none yet. */
  outstandingReplies = 0;
  readonly incoming: ReplyQueue;

  constructor(
    readonly localId: number,
    readonly channelType: string,
    readonly local: ChannelLimits,
    state: ChannelState,
    allocateSeq?: () => number,
  ) {
    this.state = state;
    this.incoming = new ReplyQueue(allocateSeq);
    this.receiveWindow = local.windowSize;
  }

  setRemote(remoteId: number, window: number, maxPacket: number): void {
    if (maxPacket === 0) throw new ProtocolError(`channel ${this.localId}: peer's maximum packet size is 0`);
    this.remoteId = remoteId;
    this.remoteWindow = window;
    this.remoteMaxPacket = maxPacket;
  }

  /** Accounts for `length` incoming data bytes; throws on overrun or oversize. */
  receive(length: number): void {
    if (length > this.local.maxPacketSize) {
      throw new ProtocolError(`channel ${this.localId}: ${length}-byte data packet exceeds maximum packet size ${this.local.maxPacketSize}`);
    }
    if (length > this.receiveWindow) {
      throw new ProtocolError(`channel ${this.localId}: window overrun (${length} bytes, window ${this.receiveWindow})`);
    }
    this.receiveWindow -= length;
    this.unconsumed += length;
  }

  /**
   * Marks `bytes` as consumed. Returns the WINDOW_ADJUST amount to send now
   * (0 when less than half the window is waiting to be given back).
   */
  consume(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > this.unconsumed) {
      throw new RangeError(`bytes: ${bytes} is not between 0 and the ${this.unconsumed} unconsumed bytes of channel ${this.localId}`);
    }
    this.unconsumed -= bytes;
    this.consumedPending += bytes;
    if (this.consumedPending === 0 || this.consumedPending < this.local.windowSize / 2) return 0;
    const adjust = this.consumedPending;
    this.consumedPending = 0;
    this.receiveWindow += adjust;
    return adjust;
  }

  /** Adds the peer's WINDOW_ADJUST; returns true when a blocked sender should be told. */
  adjustRemote(bytes: number): boolean {
    if (this.remoteWindow + bytes > MAX_WINDOW) {
      throw new ProtocolError(`channel ${this.localId}: window adjust of ${bytes} overflows ${this.remoteWindow}`);
    }
    this.remoteWindow += bytes;
    if (this.blocked && this.remoteWindow > 0) {
      this.blocked = false;
      return true;
    }
    return false;
  }

  /**
   * Splits up to remoteWindow bytes of `data` into packets of at most the
   * peer's maximum packet size and spends the window; returns the chunks.
   */
  takeSendable(data: Uint8Array): Uint8Array[] {
    const n = Math.min(data.length, this.remoteWindow);
    if (n < data.length) this.blocked = true;
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < n; off += this.remoteMaxPacket) {
      chunks.push(data.subarray(off, Math.min(n, off + this.remoteMaxPacket)));
    }
    this.remoteWindow -= n;
    return chunks;
  }
}
