/**
 * SSHCore: one connection's whole protocol state, sans-I/O. The transport,
 * the user-auth layer of the role and the connection layer, wired together.
 * Bytes in -> receive(); wire bytes out <- takeOutbound(); events out <-
 * takeEvents(); async work and decisions are events answered later by
 * completeWork() / decide().
 */
import {
  COMPRESSION_ALGORITHMS,
  DEFAULT_CIPHERS,
  DEFAULT_COMPRESSION,
  DEFAULT_KEX,
  DEFAULT_MACS,
  DEFAULT_SIGNATURES,
  type CipherName,
  type CompressionName,
  type KexName,
  type MacName,
  type SignatureName,
} from './algorithms.js';
import type { DhGroup, HandshakeRequest, HandshakeResult, SigningKeyRef, TransportCrypto } from './crypto-api.js';
import { DisconnectError, ProtocolError } from './errors.js';
import type { CoreEventBase, DecisionRequest, LayerContext } from './layer.js';
import { DisconnectReason, Msg } from './messages.js';
import { Transport, type TransportEvent, type TransportHost } from './transport.js';
import { AuthClient } from './auth-client.js';
import { AuthServer } from './auth-server.js';
import { ConnectionLayer } from './connection.js';

export type AuthMethodName = 'none' | 'password' | 'publickey' | 'keyboard-interactive';

export interface CoreOptions {
  role: 'client' | 'server';
  crypto: TransportCrypto;
  kexAlgs?: readonly KexName[];
  encryptionAlgs?: readonly CipherName[];
  macAlgs?: readonly MacName[];
  compressionAlgs?: readonly CompressionName[];
  signatureAlgs?: readonly SignatureName[];
  /** Server: signature algorithms accepted for publickey auth (announced in server-sig-algs). */
  publicKeyAlgs?: readonly SignatureName[];
  hostKeys?: readonly SigningKeyRef[];
  /** Re-key after this many bytes in either direction (default 1 GiB). */
  rekeyBytes?: number;
  /** Re-key after this many seconds (default 3600; 0 = never). */
  rekeySeconds?: number;
  softwareVersion?: string;
  chooseGexGroup?: (min: number, n: number, max: number) => DhGroup;
  // client auth
  username?: string;
  clientKeys?: readonly SigningKeyRef[];
  password?: string | null;
  kbdint?: boolean;
  passwordPrompt?: boolean;
  /** Client auth methods in the order to try them (AuthClientOptions.preferred). */
  preferredAuth?: readonly string[];
  /** What publickey auth may sign with (AuthClientOptions.signatureAlgs); signatureAlgs above are the host key algorithms. */
  authSignatureAlgs?: readonly string[];
  disableTrivialAuth?: boolean;
  // server auth
  maxAuthTries?: number;
  authMethods?: AuthMethodName[];
  banner?: string;
  // channels
  windowSize?: number;
  maxPacketSize?: number;
  maxChannels?: number;
}

export type CoreEvent =
  | { type: 'work'; id: number; request: HandshakeRequest }
  | { type: 'decision'; id: number; request: DecisionRequest }
  | { type: 'closed'; error: DisconnectError | null; local: boolean }
  | TransportEvent
  | (CoreEventBase & Record<string, unknown>);

type WorkDone = (err: Error | null, result?: HandshakeResult) => void;

export class SSHCore {
  // The members below marked @internal are used by the wiring classes at the end of this file.
  /** @internal */
  readonly transport: Transport;
  /** @internal */
  events: CoreEvent[] = [];
  /** @internal */
  outbound: Uint8Array[] = [];
  private nextId = 1;
  /** Work and decisions waiting for their answer, by id (one id space). */
  private readonly waiting = new Map<number, { work: WorkDone } | { decide: (answer: unknown) => void }>();
  private authed = false;
  readonly connection: ConnectionLayer;
  /** The auth layer of the role; dropped once authentication succeeded (nothing of it is used after). */
  private authClient: AuthClient | null = null;
  private authServer: AuthServer | null = null;
  readonly role: 'client' | 'server';

  constructor(o: CoreOptions) {
    this.role = o.role;
    for (const c of o.compressionAlgs ?? []) {
      if (!(COMPRESSION_ALGORITHMS as readonly string[]).includes(c)) throw new RangeError(`compressionAlgs: unknown ${c}`);
    }
    if (o.role === 'server' && (!o.hostKeys || o.hostKeys.length === 0)) throw new TypeError('hostKeys: a server needs at least one host key');
    this.transport = new Transport(
      {
        role: o.role,
        crypto: o.crypto,
        kexAlgs: o.kexAlgs ?? DEFAULT_KEX,
        cipherAlgs: o.encryptionAlgs ?? DEFAULT_CIPHERS,
        macAlgs: o.macAlgs ?? DEFAULT_MACS,
        compressionAlgs: o.compressionAlgs ?? DEFAULT_COMPRESSION,
        signatureAlgs: o.signatureAlgs ?? DEFAULT_SIGNATURES,
        publicKeyAlgs: o.publicKeyAlgs ?? DEFAULT_SIGNATURES,
        hostKeys: o.hostKeys ?? [],
        rekeyBytes: o.rekeyBytes ?? 2 ** 30,
        rekeySeconds: o.rekeySeconds ?? 3600,
        softwareVersion: o.softwareVersion ?? 'fleetssh_0.1',
        chooseGexGroup: o.chooseGexGroup,
      },
      new TransportWiring(this),
    );
    const ctx = new LayerWiring(this);
    this.connection = new ConnectionLayer(ctx, {
      role: o.role,
      windowSize: o.windowSize,
      maxPacketSize: o.maxPacketSize,
      maxChannels: o.maxChannels,
    });
    if (o.role === 'client') {
      this.authClient = new AuthClient(ctx, {
        username: o.username ?? '',
        keys: [...(o.clientKeys ?? [])],
        password: o.password ?? null,
        kbdint: o.kbdint ?? true,
        passwordPrompt: o.passwordPrompt ?? false,
        ...(o.preferredAuth !== undefined ? { preferred: o.preferredAuth } : {}),
        ...(o.authSignatureAlgs !== undefined ? { signatureAlgs: o.authSignatureAlgs } : {}),
        disableTrivialAuth: o.disableTrivialAuth ?? false,
      });
    } else {
      this.authServer = new AuthServer(ctx, {
        maxAuthTries: o.maxAuthTries ?? 6,
        methods: o.authMethods,
        banner: o.banner,
        publicKeyAlgorithms: o.publicKeyAlgs ?? DEFAULT_SIGNATURES,
      });
    }
  }

  start(now: number): void {
    this.transport.start(now);
  }

  receive(bytes: Uint8Array): void {
    this.transport.receive(bytes);
    this.transport.checkRekey();
  }

  /** receive() of bytes whose memory the caller reuses once this returns. */
  receiveLent(bytes: Uint8Array): void {
    this.transport.receiveLent(bytes);
    this.transport.checkRekey();
  }

  takeOutbound(): Uint8Array[] {
    const out = this.outbound;
    this.outbound = [];
    return out;
  }

  /** The events since the last call; call again once they are dispatched (ids of closed channels are freed then). */
  takeEvents(): CoreEvent[] {
    this.connection.eventsTaken();
    const ev = this.events;
    this.events = [];
    return ev;
  }

  tick(now: number): void {
    this.transport.tick(now);
  }

  nextDeadline(): number | null {
    return this.transport.nextDeadline();
  }

  rekey(): void {
    this.transport.startKex();
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  get authenticated(): boolean {
    return this.authed;
  }

  /** Server: a USERAUTH_BANNER during authentication; false when not in it (see AuthServer.sendBanner). */
  /** SSH_MSG_DEBUG to the peer (AsyncSSH's send_debug). */
  sendDebug(message: string, lang = '', alwaysDisplay = false): void {
    this.transport.sendDebug(message, lang, alwaysDisplay);
  }

  sendAuthBanner(message: string, lang = ''): boolean {
    return this.authServer?.sendBanner(message, lang) ?? false;
  }

  get remoteVersion(): string | null {
    return this.transport.remoteVersion;
  }

  get negotiated() {
    return this.transport.negotiated;
  }

  get sessionId(): Uint8Array | null {
    return this.transport.sessionId;
  }

  completeWork(id: number, err: Error | null, result?: HandshakeResult): void {
    const w = this.waiting.get(id);
    if (!w || !('work' in w)) return;
    this.waiting.delete(id);
    const done = w.work;
    if (this.closed) return;
    try {
      done(err, result);
    } catch (e) {
      this.transport.fail(e as Error);
    }
  }

  decide(id: number, answer: unknown): void {
    const w = this.waiting.get(id);
    if (!w || !('decide' in w)) return;
    this.waiting.delete(id);
    const done = w.decide;
    if (this.closed) return;
    try {
      done(answer);
    } catch (e) {
      this.transport.fail(e as Error);
    }
  }

  disconnect(reason: number = DisconnectReason.BY_APPLICATION, description = 'closed by application'): void {
    this.transport.disconnect(reason, description);
  }

  /** Ends the connection with an error of ours (e.g. a timeout). */
  fail(err: DisconnectError): void {
    this.transport.fail(err);
  }

  socketClosed(): void {
    this.transport.socketClosed();
  }

  /** @internal */
  requestWork(request: HandshakeRequest, done: WorkDone): void {
    const id = this.nextId++;
    this.waiting.set(id, { work: done });
    this.events.push({ type: 'work', id, request });
  }

  /** @internal */
  requestDecision(request: DecisionRequest, done: (answer: unknown) => void): void {
    const id = this.nextId++;
    this.waiting.set(id, { decide: done });
    this.events.push({ type: 'decision', id, request });
  }

  /** @internal */
  onTransportEvent(e: TransportEvent): void {
    this.events.push(e);
    if (e.type === 'kexComplete' && e.first && this.authClient) this.authClient.start();
  }

  /** @internal */
  onLayerEvent(e: CoreEventBase): void {
    if (e.type === 'authSuccess' && !this.authed) {
      this.authed = true;
      this.authClient = null;
      this.authServer = null;
      this.transport.authSucceeded();
    }
    this.events.push(e as CoreEvent);
  }

  /** @internal */
  route(payload: Uint8Array): boolean {
    const type = payload[0]!;
    if (type === Msg.SERVICE_REQUEST || type === Msg.SERVICE_ACCEPT || (type >= 50 && type < 80)) {
      if (this.authed) return true; // RFC 4252 §5.1: ignore auth messages after success
      if (this.authClient) this.authClient.handle(payload);
      else this.authServer!.handle(payload);
      return true;
    }
    if (!this.authed) throw new ProtocolError(`message ${type} before authentication`);
    if (type >= 80 && type <= 100) {
      this.connection.handle(payload);
      return true;
    }
    // 101-127 unassigned connection-protocol numbers, 128+ local extensions.
    return false;
  }
}

const NO_SESSION_ID = new Uint8Array(0);

/**
 * The transport's host and the layers' context of one core: plain objects
 * with their methods on the prototype, so a connection does not carry a
 * dozen closures (and a dictionary-mode object with getters) for them.
 */
class TransportWiring implements TransportHost {
  constructor(private readonly core: SSHCore) {}
  output(wire: Uint8Array): void {
    this.core.outbound.push(wire);
  }
  emit(e: TransportEvent): void {
    this.core.onTransportEvent(e);
  }
  work(req: HandshakeRequest, done: WorkDone): void {
    this.core.requestWork(req, done);
  }
  decide(req: DecisionRequest, done: (answer: unknown) => void): void {
    this.core.requestDecision(req, done);
  }
  onPayload(payload: Uint8Array): boolean {
    return this.core.route(payload);
  }
  onClosed(error: DisconnectError | null, local: boolean): void {
    this.core.events.push({ type: 'closed', error, local });
  }
}

class LayerWiring implements LayerContext {
  constructor(private readonly core: SSHCore) {}
  send(payload: Uint8Array): void {
    this.core.transport.send(payload);
  }
  sendParts(parts: readonly Uint8Array[]): void {
    this.core.transport.sendParts(parts);
  }
  emit(e: CoreEventBase): void {
    this.core.onLayerEvent(e);
  }
  work(req: HandshakeRequest, done: WorkDone): void {
    this.core.requestWork(req, done);
  }
  decide(req: DecisionRequest, done: (answer: unknown) => void): void {
    this.core.requestDecision(req, done);
  }
  get sessionId(): Uint8Array {
    return this.core.transport.sessionId ?? NO_SESSION_ID;
  }
  get serverSigAlgs(): readonly string[] | null {
    return this.core.transport.serverSigAlgs;
  }
  fail(err: DisconnectError): void {
    this.core.transport.fail(err);
  }
}
