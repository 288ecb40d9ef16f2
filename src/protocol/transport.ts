/**
 * The SSH transport layer (RFC 4253) as a sans-I/O state machine: version
 * exchange, binary packets, KEXINIT negotiation, key exchange and re-keying
 * (by bytes or time, started by either side), strict kex, ext-info,
 * compression, and the generic messages (DISCONNECT, IGNORE, DEBUG,
 * UNIMPLEMENTED). Service payloads (5, 6, 50+) go up through `onPayload`.
 */
import type { CipherName, CompressionName, SignatureName } from './algorithms.js';
import { SIGNATURE_ALGORITHMS, keyTypeForSignature } from './algorithms.js';
import { certKeyTypeForAlgorithm } from './certificate.js';
import type { DhGroup, HandshakeRequest, HandshakeResult, SigningKeyRef } from './crypto-api.js';
import type { DecisionRequest } from './layer.js';
import { ConnectionLost, DisconnectError, ProtocolError } from './errors.js';
import { directionKeys } from './key-derivation.js';
import { STRICT_C, STRICT_S, localKexInit, type KexOfferOptions } from './kex-offer.js';
import { KexExchange, type KexResult } from './kex-exchange.js';
import { KEX_MARKERS, decodeKexInit, encodeKexInit, guessIsRight, negotiate, type KexInitMessage, type Negotiated } from './kexinit.js';
import { Msg } from './messages.js';
import { PacketReader, PacketWriter } from './packet-codec.js';
import { VersionExchange } from './version-exchange.js';
import { Reader, Writer, concatBytes, fromUtf8, utf8 } from './wire.js';
import { createNullSealerOpener } from './null-cipher.js';

export interface TransportOptions extends KexOfferOptions {
  publicKeyAlgs: readonly SignatureName[];
  rekeyBytes: number;
  rekeySeconds: number;
  softwareVersion: string;
  chooseGexGroup?: (min: number, n: number, max: number) => DhGroup;
}

export type TransportEvent =
  | { type: 'debug'; message: string }
  | { type: 'kexComplete'; first: boolean; algorithms: Negotiated };

export interface TransportHost {
  output(wire: Uint8Array): void;
  emit(event: TransportEvent): void;
  work(request: HandshakeRequest, done: (err: Error | null, result?: HandshakeResult) => void): void;
  decide(request: DecisionRequest, done: (answer: unknown) => void): void;
  /** Returns false for a message number nobody handles (answered with UNIMPLEMENTED). */
  onPayload(payload: Uint8Array): boolean;
  onClosed(error: DisconnectError | null, local: boolean): void;
}

interface KexRound {
  localInit: Uint8Array | null;
  peerInit: KexInitMessage | null;
  peerInitPayload: Uint8Array | null;
  negotiated: Negotiated | null;
  exchange: KexExchange | null;
  result: KexResult | null;
  ignoreNextKexPacket: boolean;
  newKeysSent: boolean;
  newKeysReceived: boolean;
}


export class Transport {
  private version: VersionExchange | null;
  private readonly localVersion: string;
  remoteVersion: string | null = null;
  private readonly reader: PacketReader;
  private readonly writer: PacketWriter;
  private round: KexRound | null = null;
  private queued: Uint8Array[] = [];
  private pendingInput: Uint8Array[] = [];
  private inboundPaused = false;
  /** True while receiveLent() is reading a chunk whose memory the caller reuses afterwards. */
  private lentInput = false;
  sessionId: Uint8Array | null = null;
  /** The names of server-sig-algs that we implement (shared constants, not per-connection strings). */
  serverSigAlgs: readonly SignatureName[] | null = null;
  private strict = false;
  private firstKexDone = false;
  private peerWantsExtInfo = false;
  private extInfoWindow = false;
  private authenticated = false;
  private pendingCompression: { out: CompressionName; in: CompressionName } | null = null;
  private lastKexAt = 0;
  private now = 0;
  negotiated: Negotiated | null = null;
  closed = false;

  constructor(private readonly o: TransportOptions, private readonly host: TransportHost) {
    this.version = new VersionExchange(o.role === 'client');
    this.localVersion = `SSH-2.0-${o.softwareVersion}`;
    const nul = createNullSealerOpener();
    this.reader = new PacketReader(nul.opener);
    this.writer = new PacketWriter(nul.sealer, o.crypto.random);
  }

  start(now: number): void {
    this.now = now;
    this.lastKexAt = now;
    this.host.output(VersionExchange.line(this.o.softwareVersion));
    this.startKex();
  }

  get inKex(): boolean {
    return this.round !== null;
  }

  get bytesIn(): number {
    return this.reader.bytesSinceKex;
  }

  // ---- inbound ----

  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      if (this.version) {
        const v = this.version.receive(bytes);
        if (v.kind === 'needMore') return;
        this.version = null;
        this.remoteVersion = v.version;
        for (const line of v.banner) this.host.emit({ type: 'debug', message: `server banner line: ${line}` });
        bytes = v.rest;
      }
      if (this.inboundPaused) {
        this.pendingInput.push(bytes);
        return;
      }
      this.reader.push(bytes);
      this.pump();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * receive() of bytes whose memory the caller reuses once this returns. Only
   * an opener that returns new memory may read them in place; the bytes of a
   * packet not yet complete are then copied. Otherwise (version exchange,
   * paused input, MAC-then-decrypt openers) the chunk is copied first.
   */
  receiveLent(bytes: Uint8Array): void {
    if (this.version || this.inboundPaused || !this.reader.opensIntoNewMemory()) {
      this.receive(new Uint8Array(bytes)); // a copy (Buffer#slice would be a view)
      return;
    }
    this.lentInput = true;
    try {
      this.receive(bytes);
    } finally {
      this.lentInput = false;
    }
    this.reader.ownQueued();
  }

  private pump(): void {
    while (!this.closed && !this.inboundPaused) {
      const payload = this.reader.next();
      if (!payload) return;
      this.dispatch(payload, (this.reader.seq - 1) >>> 0);
    }
  }

  private dispatch(payload: Uint8Array, seq: number): void {
    const type = payload[0]!;
    const r = this.round;
    const initialStrict = this.strict && !this.firstKexDone;
    if (this.extInfoWindow && type !== Msg.EXT_INFO) this.extInfoWindow = false;
    switch (type) {
      case Msg.DISCONNECT:
        return this.onDisconnect(payload);
      case Msg.IGNORE:
      case Msg.DEBUG:
      case Msg.UNIMPLEMENTED:
        if (initialStrict) throw new ProtocolError(`message ${type} during strict initial key exchange`);
        if (type === Msg.DEBUG) this.onDebug(payload);
        return;
      case Msg.KEXINIT:
        return this.onKexInit(payload);
      case Msg.NEWKEYS:
        return this.onNewKeys(payload);
      case Msg.EXT_INFO:
        return this.onExtInfo(payload);
    }
    if (type >= 30 && type <= 49) {
      if (!r || !r.exchange) throw new ProtocolError(`key exchange message ${type} outside key exchange`);
      if (r.ignoreNextKexPacket) {
        r.ignoreNextKexPacket = false;
        return;
      }
      r.exchange.handle(payload);
      return;
    }
    if (!this.firstKexDone || (r && r.peerInit && !r.newKeysReceived)) {
      throw new ProtocolError(`message ${type} during key exchange`);
    }
    if ((type === Msg.SERVICE_REQUEST || type === Msg.SERVICE_ACCEPT || type >= 50) && this.host.onPayload(payload)) return;
    this.send(new Writer(8).byte(Msg.UNIMPLEMENTED).uint32(seq).toBytes());
  }

  private onDisconnect(payload: Uint8Array): void {
    const r = new Reader(payload, 'DISCONNECT');
    r.byte();
    const reason = r.uint32('reason code');
    const description = new TextDecoder().decode(r.string('description', 65536));
    const safe = description.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
    this.closeWith(new DisconnectError(reason, `peer disconnected: ${safe || 'no reason given'}`), false, false);
  }

  private onDebug(payload: Uint8Array): void {
    const r = new Reader(payload, 'DEBUG');
    r.byte();
    r.boolean('always_display');
    const message = new TextDecoder().decode(r.string('message', 65536));
    this.host.emit({ type: 'debug', message: `peer debug: ${message.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')}` });
  }

  private onExtInfo(payload: Uint8Array): void {
    const allowed = this.o.role === 'client' && (this.extInfoWindow || (this.firstKexDone && !this.authenticated && !this.round));
    if (!allowed) throw new ProtocolError('EXT_INFO in the wrong place');
    this.extInfoWindow = false;
    const r = new Reader(payload, 'EXT_INFO');
    r.byte();
    const n = r.uint32('extension count');
    if (n > 64) throw new ProtocolError('too many extensions in EXT_INFO');
    for (let i = 0; i < n; i++) {
      const name = fromUtf8(r.string('extension name', 256));
      const value = r.string('extension value', 65536);
      if (name === 'server-sig-algs') {
        const announced = new TextDecoder().decode(value).split(',');
        this.serverSigAlgs = SIGNATURE_ALGORITHMS.filter((a) => announced.includes(a));
      }
    }
    r.end();
  }

  // ---- key exchange ----

  private localKexLists(): KexInitMessage {
    return localKexInit(this.o, !this.firstKexDone);
  }

  private newRound(): KexRound {
    return {
      localInit: null,
      peerInit: null,
      peerInitPayload: null,
      negotiated: null,
      exchange: null,
      result: null,
      ignoreNextKexPacket: false,
      newKeysSent: false,
      newKeysReceived: false,
    };
  }

  /** Starts a key exchange (initial or re-key) by sending our KEXINIT. */
  startKex(): void {
    if (this.closed) return;
    if (this.round?.localInit) return;
    this.round ??= this.newRound();
    const payload = encodeKexInit(this.localKexLists());
    this.round.localInit = payload;
    this.writeNow(payload);
    if (this.round.peerInit) this.beginExchange();
  }

  private onKexInit(payload: Uint8Array): void {
    if (this.round?.peerInit) throw new ProtocolError('second KEXINIT during key exchange');
    const msg = decodeKexInit(payload);
    if (!this.firstKexDone) {
      const peerMarker = this.o.role === 'client' ? STRICT_S : STRICT_C;
      this.strict = msg.kex.includes(peerMarker);
      if (this.strict && this.reader.packetsSinceKex !== 1) throw new ProtocolError('strict kex: KEXINIT was not the first packet');
      if (this.o.role === 'server') this.peerWantsExtInfo = msg.kex.includes('ext-info-c');
    }
    this.round ??= this.newRound();
    this.round.peerInit = msg;
    this.round.peerInitPayload = payload.slice();
    if (!this.round.localInit) this.startKex();
    else this.beginExchange();
  }

  private beginExchange(): void {
    const r = this.round!;
    const local = decodeKexInit(r.localInit!);
    const client = this.o.role === 'client' ? local : r.peerInit!;
    const server = this.o.role === 'client' ? r.peerInit! : local;
    const n = negotiate(client, server, (c) => this.o.crypto.cipherInfo(c as CipherName).aead);
    r.negotiated = n;
    if (r.peerInit!.firstKexPacketFollows && !guessIsRight(client, server)) r.ignoreNextKexPacket = true;
    const vc = this.o.role === 'client' ? this.localVersion : this.remoteVersion!;
    const vs = this.o.role === 'client' ? this.remoteVersion! : this.localVersion;
    const ic = this.o.role === 'client' ? r.localInit! : r.peerInitPayload!;
    const is = this.o.role === 'client' ? r.peerInitPayload! : r.localInit!;
    const head = new Writer(ic.length + is.length + 512).string(vc).string(vs).string(ic).string(is).toBytes();
    let hostKey: SigningKeyRef | undefined;
    if (this.o.role === 'server') {
      const kt = certKeyTypeForAlgorithm(n.hostKey) ?? keyTypeForSignature(n.hostKey);
      hostKey = this.o.hostKeys.find((k) => k.keyType === kt);
    }
    r.exchange = new KexExchange(
      {
        role: this.o.role,
        method: n.kex as never,
        hostKeyAlgorithm: n.hostKey,
        transcriptHead: head,
        hostKey,
        chooseGexGroup: this.o.chooseGexGroup,
      },
      {
        send: (p) => this.writeNow(p),
        work: (req, done) => this.host.work(req, this.guard(done)),
        decide: (req, done) => this.host.decide(req, this.guard(done)),
        fail: (err) => this.fail(err),
        complete: (res) => this.onExchangeComplete(res),
      },
    );
  }

  /** Wraps an async callback so that it is dropped after close and its errors end the connection. */
  private guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      if (this.closed) return;
      try {
        fn(...args);
      } catch (err) {
        this.fail(err as Error);
      }
    };
  }

  private onExchangeComplete(res: KexResult): void {
    const r = this.round!;
    r.result = res;
    if (!this.sessionId) this.sessionId = res.exchangeHash.slice();
    this.writeNow(new Uint8Array([Msg.NEWKEYS]));
    r.newKeysSent = true;
    this.installOutbound(r);
    if (this.o.role === 'server' && !this.firstKexDone && this.peerWantsExtInfo) this.sendExtInfo();
    if (this.inboundPaused) {
      this.inboundPaused = false;
      this.installInbound(r);
      const pending = this.pendingInput;
      this.pendingInput = [];
      for (const p of pending) this.reader.push(p);
      this.maybeFinishRound();
      this.pump();
      return;
    }
    this.maybeFinishRound();
  }

  private onNewKeys(payload: Uint8Array): void {
    const r = this.round;
    if (!r || !r.exchange || r.newKeysReceived) throw new ProtocolError('unexpected NEWKEYS');
    if (payload.length !== 1) throw new ProtocolError('malformed NEWKEYS');
    r.newKeysReceived = true;
    if (!r.result) {
      // Keys not derived yet (our side still computing): hold further input.
      this.inboundPaused = true;
      return;
    }
    this.installInbound(r);
    this.maybeFinishRound();
  }

  private keysFor(r: KexRound, dir: 'cs' | 'sc') {
    return directionKeys(this.o.crypto, r.result!, r.negotiated!, this.sessionId!, dir);
  }

  /** When a negotiated compression starts: at NEWKEYS ('zlib'), after user auth ('zlib@openssh.com'), or never. */
  private compressionStart(comp: CompressionName): 'now' | 'afterAuth' | null {
    if (comp === 'zlib' || (comp === 'zlib@openssh.com' && this.authenticated)) return 'now';
    return comp === 'zlib@openssh.com' ? 'afterAuth' : null;
  }

  private installOutbound(r: KexRound): void {
    const k = this.keysFor(r, this.o.role === 'client' ? 'cs' : 'sc');
    this.writer.sealer.dispose();
    this.writer.sealer = this.o.crypto.createSealer(k.cipher, k.mac, k.keys);
    if (this.strict) this.writer.seq = 0;
    this.writer.bytesSinceKex = 0;
    this.writer.packetsSinceKex = 0;
    const n = r.negotiated!;
    const comp = (this.o.role === 'client' ? n.compressionCS : n.compressionSC) as CompressionName;
    if (!this.writer.compressor) {
      const when = this.compressionStart(comp);
      if (when === 'now') this.writer.compressor = this.o.crypto.createCompressor(comp);
      else if (when === 'afterAuth') this.pendingCompression = { ...(this.pendingCompression ?? { in: 'none' }), out: comp };
    }
  }

  private installInbound(r: KexRound): void {
    const k = this.keysFor(r, this.o.role === 'client' ? 'sc' : 'cs');
    this.reader.opener.dispose();
    this.reader.opener = this.o.crypto.createOpener(k.cipher, k.mac, k.keys);
    // Mid-way through a lent chunk, an opener that reads in place (a peer may
    // change ciphers at a re-key) must not keep views of memory about to be reused.
    if (this.lentInput && !this.reader.opensIntoNewMemory()) this.reader.ownQueued();
    if (this.strict) this.reader.seq = 0;
    this.reader.bytesSinceKex = 0;
    this.reader.packetsSinceKex = 0;
    if (this.o.role === 'client' && !this.firstKexDone) this.extInfoWindow = true;
    const n = r.negotiated!;
    const comp = (this.o.role === 'client' ? n.compressionSC : n.compressionCS) as CompressionName;
    if (!this.reader.decompressor) {
      const when = this.compressionStart(comp);
      if (when === 'now') this.reader.decompressor = this.o.crypto.createDecompressor(comp);
      else if (when === 'afterAuth') this.pendingCompression = { ...(this.pendingCompression ?? { out: 'none' }), in: comp };
    }

  }

  private maybeFinishRound(): void {
    const r = this.round;
    if (!r || !r.newKeysSent || !r.newKeysReceived) return;
    const first = !this.firstKexDone;
    this.firstKexDone = true;
    this.negotiated = r.negotiated;
    this.round = null;
    this.lastKexAt = this.now;
    const queued = this.queued;
    this.queued = [];
    this.host.emit({ type: 'kexComplete', first, algorithms: { ...r.negotiated! } });
    for (const p of queued) this.send(p);
  }

  private sendExtInfo(): void {
    const algs = this.o.publicKeyAlgs.join(',');
    this.writeNow(new Writer(256).byte(Msg.EXT_INFO).uint32(1).string('server-sig-algs').string(algs).toBytes());
  }

  /** Called by the core when user authentication has succeeded. */
  authSucceeded(): void {
    this.authenticated = true;
    const p = this.pendingCompression;
    this.pendingCompression = null;
    if (p?.out === 'zlib@openssh.com' && !this.writer.compressor) this.writer.compressor = this.o.crypto.createCompressor(p.out);
    if (p?.in === 'zlib@openssh.com' && !this.reader.decompressor) this.reader.decompressor = this.o.crypto.createDecompressor(p.in);
  }

  // ---- outbound ----

  private writeNow(payload: Uint8Array): void {
    if (this.closed) return;
    this.host.output(this.writer.seal(payload));
  }

  /** Sends a service payload; held back while a key exchange is in progress. */
  send(payload: Uint8Array): void {
    this.sendParts([payload]);
  }

  /** SSH_MSG_DEBUG (RFC 4253 §11.3); held back like any message while a key exchange runs. */
  sendDebug(message: string, lang = '', alwaysDisplay = false): void {
    this.send(encodeDebug(message, lang, alwaysDisplay));
  }

  /** Sends a payload given as pieces, copied once into the packet. */
  sendParts(parts: readonly Uint8Array[]): void {
    if (this.closed) return;
    if (this.round || !this.firstKexDone) {
      this.queued.push(parts.length === 1 ? parts[0]! : concatBytes(...parts));
      return;
    }
    // Pieces of one packet (a large part's ciphertext is not copied again).
    for (const wire of this.writer.sealToPieces(parts)) this.host.output(wire);
    if (this.writer.bytesSinceKex >= this.o.rekeyBytes || this.reader.bytesSinceKex >= this.o.rekeyBytes) this.startKex();
  }

  /** Checks inbound volume after a batch of input (rekey by bytes). */
  checkRekey(): void {
    if (this.closed || this.round || !this.firstKexDone) return;
    const o = this.o;
    if (this.writer.bytesSinceKex >= o.rekeyBytes || this.reader.bytesSinceKex >= o.rekeyBytes) this.startKex();
    else if (o.rekeySeconds > 0 && this.now - this.lastKexAt >= o.rekeySeconds * 1000) this.startKex();
    // Sequence numbers must never wrap under the same keys.
    else if (this.writer.packetsSinceKex > 0x7fffffff || this.reader.packetsSinceKex > 0x7fffffff) this.startKex();
  }

  tick(now: number): void {
    this.now = now;
    this.checkRekey();
  }

  nextDeadline(): number | null {
    if (this.closed || this.o.rekeySeconds <= 0) return null;
    return this.lastKexAt + this.o.rekeySeconds * 1000;
  }

  // ---- closing ----

  disconnect(reason: number, description: string): void {
    if (this.closed) return;
    this.writeNow(new Writer(64 + description.length * 3).byte(Msg.DISCONNECT).uint32(reason).string(utf8(description)).string('').toBytes());
    this.closeWith(null, true, false);
  }

  /** Ends the connection because of an error (ours or the peer's). */
  fail(err: Error): void {
    if (this.closed) return;
    const de = err instanceof DisconnectError ? err : new ProtocolError(`internal error: ${err.message}`);
    const canSend = !this.version;
    if (canSend) {
      try {
        this.writeNow(new Writer(256).byte(Msg.DISCONNECT).uint32(de.reason).string(de.message.slice(0, 200)).string('').toBytes());
      } catch {
        /* the sealer itself failed: nothing more to say */
      }
    }
    this.closeWith(de, true, false);
  }

  socketClosed(): void {
    if (this.closed) return;
    this.closeWith(new ConnectionLost('connection lost'), false, true);
  }

  private closeWith(error: DisconnectError | null, local: boolean, _socket: boolean): void {
    this.closed = true;
    this.queued = [];
    this.pendingInput = [];
    this.reader.opener.dispose();
    this.writer.sealer.dispose();
    this.writer.compressor?.dispose();
    this.reader.decompressor?.dispose();
    this.host.onClosed(error, local);
  }
}

export { KEX_MARKERS };

export function encodeDebug(message: string, lang: string, alwaysDisplay: boolean): Uint8Array {
  return new Writer(16 + message.length).byte(Msg.DEBUG).boolean(alwaysDisplay).string(message).string(lang).toBytes();
}
