/**
 * The connection protocol (RFC 4254), one class for both roles: channels,
 * flow control, channel requests and global requests. Sans-I/O: payloads
 * arrive through handle(), leave through ctx.send, and everything the
 * application must know or answer is an event.
 *
 * Event byte fields: `channelData.data` is a view into the received payload
 * (no copy on the hot path): it stays valid as long as the core does not
 * reuse the payload buffer, so the core must hand each payload in its own
 * buffer. All other byte fields (typeData, request data) are copies.
 *
 * Channel ids: a channel the peer closed keeps its id until the application
 * has seen every event of the batch that closed it (two eventsTaken calls
 * later, which SSHCore.takeEvents makes), so that an event earlier in that
 * batch never reaches, or reopens, another channel with the same id. Calls
 * for such a channel are no-ops meanwhile.
 *
 * Replies: incoming requests that want a reply carry a `seq`; answer them with
 * replyRequest / replyGlobalRequest (default: the oldest unanswered). Replies
 * go out in request order whatever the order of the answers.
 */
import type { LayerContext } from './layer.js';
import { DisconnectError, ProtocolError } from './errors.js';
import { Msg, OpenFailure } from './messages.js';
import { Writer } from './wire.js';
import { Channel, MAX_WINDOW, type ChannelLimits } from './channel.js';
import { ReplyQueue, type ReplyAnswer } from './connection-reply-queue.js';
import { type ConnectionMessage, decodeConnectionMessage, encodeConnectionMessage } from './connection-messages.js';
import { KEEPALIVE_REQUEST } from './global-requests.js';

export interface ConnectionOptions {
  role: 'client' | 'server';
  /** Initial receive window per channel (default 2 MiB). */
  windowSize?: number;
  /** Largest data packet we accept (default 32768). */
  maxPacketSize?: number;
  /** Open channels at most (default 1024). */
  maxChannels?: number;
}

export type ConnectionEvent =
  | { type: 'channelOpenConfirmed'; id: number }
  | { type: 'channelOpenFailed'; id: number; reason: number; description: string }
  | { type: 'channelOpenRequest'; id: number; channelType: string; typeData: Uint8Array }
  | { type: 'channelWindow'; id: number; available: number }
  | { type: 'channelData'; id: number; data: Uint8Array; extended?: number }
  | { type: 'channelEof'; id: number }
  | { type: 'channelClose'; id: number }
  | { type: 'channelRequest'; id: number; requestType: string; wantReply: boolean; data: Uint8Array; seq: number | null }
  | { type: 'channelRequestReply'; id: number; ok: boolean }
  | { type: 'globalRequest'; name: string; wantReply: boolean; data: Uint8Array; seq: number | null }
  | { type: 'globalRequestReply'; ok: boolean; data: Uint8Array };

const DEFAULT_WINDOW = 2 * 1024 * 1024;
const DEFAULT_MAX_PACKET = 32768;
const DEFAULT_MAX_CHANNELS = 1024;

export class ConnectionLayer {
  private readonly role: 'client' | 'server';
  private readonly limits: ChannelLimits;
  private readonly maxChannels: number;
  private readonly channels = new Map<number, Channel>();
  /** Ids of channels closed since the last eventsTaken, and those closed before it (see the file comment). */
  private closedNow: number[] = [];
  private closedHandedOut: number[] = [];
  private readonly globalIncoming = new ReplyQueue();
  private globalOutstanding = 0;
  private failed = false;
  /** One sequence space for all channels' incoming requests (see ReplyQueue). */
  private seqCounter = 0;
  private readonly allocateSeq = (): number => this.seqCounter++;

  constructor(private readonly ctx: LayerContext, options: ConnectionOptions) {
    if (options.role !== 'client' && options.role !== 'server') throw new TypeError("role must be 'client' or 'server'");
    this.role = options.role;
    this.limits = checkLimits(options.windowSize ?? DEFAULT_WINDOW, options.maxPacketSize ?? DEFAULT_MAX_PACKET);
    const max = options.maxChannels ?? DEFAULT_MAX_CHANNELS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxChannels must be a positive integer');
    this.maxChannels = max;
  }

  /** Local ids of the channels in use. */
  get channelIds(): number[] {
    const ids: number[] = [];
    for (const [id, ch] of this.channels) if (!ch.closed) ids.push(id);
    return ids;
  }

  /**
   * The events emitted so far are being handed to the application: the ids of
   * channels closed before the previous hand-over are free again (their
   * events have been dispatched by now).
   */
  eventsTaken(): void {
    for (const id of this.closedHandedOut) this.channels.delete(id);
    this.closedHandedOut = this.closedNow;
    this.closedNow = [];
  }

  handle(payload: Uint8Array): void {
    if (this.failed) return;
    try {
      this.dispatch(decodeConnectionMessage(payload));
    } catch (err) {
      this.failed = true;
      this.ctx.fail(err instanceof DisconnectError ? err : new ProtocolError(String(err)));
    }
  }

  // ---- calls from the application ----

  openChannel(type: string, typeData: Uint8Array = new Uint8Array(0), opts: Partial<{ windowSize: number; maxPacketSize: number }> = {}): number {
    if (typeof type !== 'string' || type.length === 0) throw new TypeError('type must be a non-empty string');
    const limits = checkLimits(opts.windowSize ?? this.limits.windowSize, opts.maxPacketSize ?? this.limits.maxPacketSize);
    const id = this.allocateId();
    if (id === null) throw new RangeError(`maxChannels (${this.maxChannels}) channels already open`);
    this.channels.set(id, new Channel(id, type, limits, { kind: 'awaitingConfirmation', closeWhenOpen: false }, this.allocateSeq));
    this.send({ msg: 'channelOpen', channelType: type, sender: id, window: limits.windowSize, maxPacket: limits.maxPacketSize, typeData });
    return id;
  }

  acceptChannel(id: number, typeData: Uint8Array = new Uint8Array(0)): void {
    const ch = this.channel(id, 'id');
    if (ch.state.kind !== 'awaitingAcceptance') throw new RangeError(`id: channel ${id} is not waiting for acceptance`);
    ch.state = { kind: 'open' };
    const { windowSize, maxPacketSize } = ch.local;
    this.send({ msg: 'channelOpenConfirmation', recipient: ch.remoteId, sender: id, window: windowSize, maxPacket: maxPacketSize, typeData });
  }

  rejectChannel(id: number, reason: number = OpenFailure.ADMINISTRATIVELY_PROHIBITED, description = ''): void {
    const ch = this.channel(id, 'id');
    if (ch.state.kind !== 'awaitingAcceptance') throw new RangeError(`id: channel ${id} is not waiting for acceptance`);
    this.channels.delete(id);
    this.send({ msg: 'channelOpenFailure', recipient: ch.remoteId, reason, description, lang: '' });
  }

  /** Sends what the peer's window allows now; returns the number of bytes accepted. */
  sendData(id: number, data: Uint8Array, extended?: number): number {
    const ch = this.openChannelFor(id);
    if (ch.closed) return data.length; // gone: swallowed
    if (ch.eofSent || ch.closeSent) throw new RangeError(`id: channel ${id} has already sent ${ch.closeSent ? 'CLOSE' : 'EOF'}`);
    const chunks = ch.takeSendable(data);
    let sent = 0;
    for (const chunk of chunks) {
      sent += chunk.length;
      // The bulk path: a small header and the caller's bytes, copied once into the packet.
      if (!this.failed) this.ctx.sendParts([dataHeader(ch.remoteId, chunk.length, extended), chunk]);
    }
    return sent;
  }

  /** Bytes sendData would accept now. */
  sendWindow(id: number): number {
    const ch = this.channel(id, 'id');
    return ch.state.kind === 'open' && !ch.eofSent && !ch.closeSent ? ch.remoteWindow : 0;
  }

  sendEof(id: number): void {
    const ch = this.openChannelFor(id);
    if (ch.eofSent || ch.closeSent) return;
    ch.eofSent = true;
    this.send({ msg: 'channelEof', recipient: ch.remoteId });
  }

  close(id: number): void {
    const ch = this.channel(id, 'id');
    if (ch.state.kind === 'awaitingAcceptance') return this.rejectChannel(id);
    if (ch.state.kind === 'awaitingConfirmation') {
      ch.state.closeWhenOpen = true;
      return;
    }
    if (ch.closeSent) return;
    ch.closeSent = true;
    ch.incoming.clear();
    this.send({ msg: 'channelClose', recipient: ch.remoteId });
  }

  /** The application has taken `bytes` of received data: the window may reopen. */
  consume(id: number, bytes: number): void {
    const ch = this.channel(id, 'id');
    const adjust = ch.consume(bytes);
    if (adjust > 0 && !ch.closeSent) this.send({ msg: 'channelWindowAdjust', recipient: ch.remoteId, bytes: adjust });
  }

  sendRequest(id: number, requestType: string, wantReply: boolean, data: Uint8Array = new Uint8Array(0)): void {
    const ch = this.openChannelFor(id);
    if (ch.closed) return;
    if (ch.closeSent) throw new RangeError(`id: channel ${id} is closing`);
    if (wantReply) ch.outstandingReplies++;
    this.send({ msg: 'channelRequest', recipient: ch.remoteId, requestType, wantReply, data });
  }

  /**
   * Answers an incoming channel request (`seq` from the channelRequest event;
   * default: the oldest unanswered). Returns false, sending nothing, when
   * there is no such request: the channel closed meanwhile, or `seq` was
   * already answered. Sequence numbers are unique across channels, so a late
   * answer never lands on a new channel that reuses the id.
   */
  replyRequest(id: number, ok: boolean, seq?: number): boolean {
    const ch = this.channels.get(id);
    if (!ch || ch.state.kind !== 'open' || ch.closeSent) return false;
    if (!ch.incoming.answer({ ok }, seq)) return false;
    for (const a of ch.incoming.drain()) {
      this.send(a.ok ? { msg: 'channelSuccess', recipient: ch.remoteId } : { msg: 'channelFailure', recipient: ch.remoteId });
    }
    return true;
  }

  globalRequest(name: string, wantReply: boolean, data: Uint8Array = new Uint8Array(0)): void {
    if (wantReply) this.globalOutstanding++;
    this.send({ msg: 'globalRequest', name, wantReply, data });
  }

  /** Answers an incoming global request; false when there is no such unanswered request. */
  replyGlobalRequest(ok: boolean, data: Uint8Array = new Uint8Array(0), seq?: number): boolean {
    if (!this.globalIncoming.answer({ ok, data }, seq)) return false;
    this.flushGlobalReplies();
    return true;
  }

  // ---- incoming messages ----

  private dispatch(m: ConnectionMessage): void {
    switch (m.msg) {
      case 'globalRequest': {
        let seq: number | null = null;
        if (m.name === KEEPALIVE_REQUEST) {
          // As OpenSSH: unknown to us, so REQUEST_FAILURE, which proves we are alive.
          if (m.wantReply) this.globalIncoming.push({ ok: false });
        } else {
          if (m.wantReply) seq = this.globalIncoming.push();
          this.emit({ type: 'globalRequest', name: m.name, wantReply: m.wantReply, data: m.data.slice(), seq });
        }
        return this.flushGlobalReplies();
      }
      case 'requestSuccess':
      case 'requestFailure':
        if (this.globalOutstanding === 0) throw new ProtocolError('global request reply without a request');
        this.globalOutstanding--;
        return this.emit({
          type: 'globalRequestReply',
          ok: m.msg === 'requestSuccess',
          data: m.msg === 'requestSuccess' ? m.data.slice() : new Uint8Array(0),
        });
      case 'channelOpen':
        return this.incomingOpen(m);
      case 'channelOpenConfirmation': {
        const ch = this.peerChannel(m.recipient, 'awaitingConfirmation');
        ch.setRemote(m.sender, m.window, m.maxPacket);
        const closeWhenOpen = ch.state.kind === 'awaitingConfirmation' && ch.state.closeWhenOpen;
        ch.state = { kind: 'open' };
        if (closeWhenOpen) return this.close(ch.localId);
        return this.emit({ type: 'channelOpenConfirmed', id: ch.localId });
      }
      case 'channelOpenFailure': {
        const ch = this.peerChannel(m.recipient, 'awaitingConfirmation');
        this.channels.delete(ch.localId);
        return this.emit({ type: 'channelOpenFailed', id: ch.localId, reason: m.reason, description: m.description });
      }
      case 'channelWindowAdjust': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (ch.adjustRemote(m.bytes) && !ch.closeSent && !ch.eofSent) {
          this.emit({ type: 'channelWindow', id: ch.localId, available: ch.remoteWindow });
        }
        return;
      }
      case 'channelData':
      case 'channelExtendedData': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (ch.eofReceived) throw new ProtocolError(`channel ${ch.localId}: data after EOF`);
        ch.receive(m.data.length);
        if (ch.closeSent) {
          // Closing: the application no longer reads; give the bytes back at once.
          ch.consume(m.data.length);
          return;
        }
        return this.emit(
          m.msg === 'channelData'
            ? { type: 'channelData', id: ch.localId, data: m.data }
            : { type: 'channelData', id: ch.localId, data: m.data, extended: m.dataType },
        );
      }
      case 'channelEof': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (ch.eofReceived) throw new ProtocolError(`channel ${ch.localId}: second EOF`);
        ch.eofReceived = true;
        return this.emit({ type: 'channelEof', id: ch.localId });
      }
      case 'channelClose': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (!ch.closeSent) {
          ch.closeSent = true;
          this.send({ msg: 'channelClose', recipient: ch.remoteId });
        }
        ch.closed = true;
        this.closedNow.push(ch.localId);
        return this.emit({ type: 'channelClose', id: ch.localId });
      }
      case 'channelRequest': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (ch.closeSent) return; // no replies after our CLOSE
        let seq: number | null = null;
        if (m.requestType === KEEPALIVE_REQUEST) {
          if (m.wantReply) ch.incoming.push({ ok: false });
        } else {
          if (m.wantReply) seq = ch.incoming.push();
          const data = m.data.slice();
          this.emit({ type: 'channelRequest', id: ch.localId, requestType: m.requestType, wantReply: m.wantReply, data, seq });
        }
        // An automatic reply may be sendable now; replyRequest sends the rest.
        for (const a of ch.incoming.drain()) {
          this.send(a.ok ? { msg: 'channelSuccess', recipient: ch.remoteId } : { msg: 'channelFailure', recipient: ch.remoteId });
        }
        return;
      }
      case 'channelSuccess':
      case 'channelFailure': {
        const ch = this.peerChannel(m.recipient, 'open');
        if (ch.outstandingReplies === 0) throw new ProtocolError(`channel ${ch.localId}: request reply without a request`);
        ch.outstandingReplies--;
        return this.emit({ type: 'channelRequestReply', id: ch.localId, ok: m.msg === 'channelSuccess' });
      }
    }
  }

  private incomingOpen(m: Extract<ConnectionMessage, { msg: 'channelOpen' }>): void {
    const refuse = (reason: number, description: string): void =>
      this.send({ msg: 'channelOpenFailure', recipient: m.sender, reason, description, lang: '' });
    if (this.role === 'client' && m.channelType === 'session') {
      return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'session channels are not accepted by a client');
    }
    const id = this.allocateId();
    if (id === null) return refuse(OpenFailure.RESOURCE_SHORTAGE, 'too many channels');
    const ch = new Channel(id, m.channelType, this.limits, { kind: 'awaitingAcceptance' }, this.allocateSeq);
    ch.setRemote(m.sender, m.window, m.maxPacket);
    this.channels.set(id, ch);
    this.emit({ type: 'channelOpenRequest', id, channelType: m.channelType, typeData: m.typeData.slice() });
  }

  private flushGlobalReplies(): void {
    for (const a of this.globalIncoming.drain()) {
      this.send(a.ok ? { msg: 'requestSuccess', data: a.data ?? new Uint8Array(0) } : { msg: 'requestFailure' });
    }
  }

  // ---- helpers ----

  /** A channel named by the peer: unknown ids and wrong states are protocol errors. */
  private peerChannel(id: number, state: 'open' | 'awaitingConfirmation'): Channel {
    const ch = this.channels.get(id);
    if (!ch || ch.closed) throw new ProtocolError(`message for unknown channel ${id}`);
    if (ch.state.kind !== state) throw new ProtocolError(`channel ${id}: unexpected message while ${ch.state.kind}`);
    return ch;
  }

  /** A channel named by the application: unknown ids are a RangeError. */
  private channel(id: number, arg: string): Channel {
    const ch = this.channels.get(id);
    if (!ch) throw new RangeError(`${arg}: no channel ${id}`);
    return ch;
  }

  private openChannelFor(id: number): Channel {
    const ch = this.channel(id, 'id');
    if (ch.state.kind !== 'open') throw new RangeError(`id: channel ${id} is not open (${ch.state.kind})`);
    return ch;
  }

  private allocateId(): number | null {
    if (this.channels.size >= this.maxChannels) return null;
    let id = 0;
    while (this.channels.has(id)) id++;
    return id;
  }

  private send(m: ConnectionMessage): void {
    if (!this.failed) this.ctx.send(encodeConnectionMessage(m));
  }

  private emit(event: ConnectionEvent): void {
    this.ctx.emit(event);
  }
}

function checkLimits(windowSize: number, maxPacketSize: number): ChannelLimits {
  if (!Number.isInteger(windowSize) || windowSize < 1 || windowSize > MAX_WINDOW) {
    throw new RangeError(`windowSize must be an integer between 1 and ${MAX_WINDOW}`);
  }
  if (!Number.isInteger(maxPacketSize) || maxPacketSize < 1 || maxPacketSize > MAX_WINDOW) {
    throw new RangeError(`maxPacketSize must be an integer between 1 and ${MAX_WINDOW}`);
  }
  return { windowSize, maxPacketSize };
}

/** CHANNEL_DATA / CHANNEL_EXTENDED_DATA up to the data's own bytes (RFC 4254 §5.2). */
function dataHeader(recipient: number, length: number, extended: number | undefined): Uint8Array {
  const w = new Writer(16);
  if (extended === undefined) w.byte(Msg.CHANNEL_DATA).uint32(recipient);
  else w.byte(Msg.CHANNEL_EXTENDED_DATA).uint32(recipient).uint32(extended);
  return w.uint32(length).toBytes();
}
