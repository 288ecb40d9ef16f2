/**
 * One key exchange round after KEXINIT: the method-specific messages (30-34),
 * as a state machine named after what it waits for. The math runs elsewhere
 * (a 'work' request answered later); this file only orders messages and
 * builds the exchange-hash input.
 */
import { SIGNATURE_ALGORITHMS, type KexName, type SignatureName } from './algorithms.js';
import { certKeyTypeForAlgorithm, certSignatureAlgorithm, parseCertificate } from './certificate.js';
import type {
  DhGroup,
  HandshakeRequest,
  HandshakeResult,
  HashName,
  KexClientFinishResult,
  KexClientStartResult,
  KexServerResult,
  SigningKeyRef,
} from './crypto-api.js';
import type { DecisionRequest } from './layer.js';
import { HostKeyNotVerifiable, KeyExchangeFailed, ProtocolError } from './errors.js';
import { kexInfo } from './kex-methods.js';
import { Msg } from './messages.js';
import { Reader, Writer, encodeMpint, encodeString, fromUtf8 } from './wire.js';

export interface KexResult {
  hashName: HashName;
  sharedWire: Uint8Array;
  exchangeHash: Uint8Array;
  hostKeyBlob: Uint8Array;
}

export interface KexHost {
  send(payload: Uint8Array): void;
  work(request: HandshakeRequest, done: (err: Error | null, result?: HandshakeResult) => void): void;
  decide(request: DecisionRequest, done: (answer: unknown) => void): void;
  fail(err: Error): void;
  complete(result: KexResult): void;
}

export interface KexParams {
  role: 'client' | 'server';
  method: KexName;
  /** The negotiated host key algorithm (a signature or a certificate algorithm). */
  hostKeyAlgorithm: string;
  /** string(V_C) || string(V_S) || string(I_C) || string(I_S) */
  transcriptHead: Uint8Array;
  /** Server: the host key to sign with. */
  hostKey?: SigningKeyRef;
  /** Server: picks a group for group exchange. */
  chooseGexGroup?: (min: number, n: number, max: number) => DhGroup;
  /** Client: the group sizes to request. */
  gexBits?: { min: number; n: number; max: number };
}

type State =
  | { kind: 'awaitingClientStart' }
  | { kind: 'awaitingGexGroup' }
  | { kind: 'awaitingReply'; secret: Uint8Array; publicWire: Uint8Array }
  | { kind: 'awaitingClientFinish' }
  | { kind: 'awaitingHostKeyVerdict' }
  | { kind: 'awaitingInit' }
  | { kind: 'awaitingGexRequest' }
  | { kind: 'awaitingServerResult' }
  | { kind: 'done' }
  | { kind: 'failed' };

const DEFAULT_GEX = { min: 2048, n: 3072, max: 8192 };

export class KexExchange {
  private state: State;
  private readonly style: 'ecdh' | 'dh' | 'gex';
  private readonly hashName: HashName;
  /** The plain algorithm the exchange hash is signed with. */
  private readonly signatureAlgorithm: SignatureName;
  private group: DhGroup | undefined;
  private gexParams: Uint8Array = new Uint8Array(0);

  constructor(private readonly p: KexParams, private readonly host: KexHost) {
    const info = kexInfo(p.method);
    this.style = info.style;
    this.hashName = info.hash;
    const plain = certSignatureAlgorithm(p.hostKeyAlgorithm) ?? p.hostKeyAlgorithm;
    if (!(SIGNATURE_ALGORITHMS as readonly string[]).includes(plain)) throw new KeyExchangeFailed(`unsupported host key algorithm ${p.hostKeyAlgorithm}`);
    this.signatureAlgorithm = plain as SignatureName;
    if (p.role === 'client') {
      if (this.style === 'gex') {
        const b = p.gexBits ?? DEFAULT_GEX;
        this.gexParams = new Writer(16).uint32(b.min).uint32(b.n).uint32(b.max).toBytes();
        this.state = { kind: 'awaitingGexGroup' };
        host.send(new Writer(16).byte(Msg.KEX_DH_GEX_REQUEST).raw(this.gexParams).toBytes());
      } else {
        this.state = { kind: 'awaitingClientStart' };
        this.clientStart();
      }
    } else {
      this.state = this.style === 'gex' ? { kind: 'awaitingGexRequest' } : { kind: 'awaitingInit' };
    }
  }

  get finished(): boolean {
    return this.state.kind === 'done';
  }

  /** Whether a message number belongs to this exchange right now. */
  handle(payload: Uint8Array): void {
    const type = payload[0]!;
    const s = this.state;
    try {
      if (s.kind === 'awaitingGexGroup' && type === Msg.KEX_DH_GEX_GROUP) return this.onGexGroup(payload);
      if (s.kind === 'awaitingReply') {
        const replyType = this.style === 'gex' ? Msg.KEX_DH_GEX_REPLY : Msg.KEX_ECDH_REPLY;
        if (type === replyType) return this.onReply(payload, s);
      }
      if (s.kind === 'awaitingGexRequest' && type === Msg.KEX_DH_GEX_REQUEST) return this.onGexRequest(payload);
      if (s.kind === 'awaitingInit') {
        const initType = this.style === 'gex' ? Msg.KEX_DH_GEX_INIT : Msg.KEX_ECDH_INIT;
        if (type === initType) return this.onInit(payload);
      }
    } catch (err) {
      this.state = { kind: 'failed' };
      this.host.fail(err as Error);
      return;
    }
    this.state = { kind: 'failed' };
    this.host.fail(new ProtocolError(`unexpected key exchange message ${type} while ${s.kind}`));
  }

  private clientStart(): void {
    this.host.work({ op: 'kexClientStart', method: this.p.method, group: this.group }, (err, res) => {
      if (this.state.kind !== 'awaitingClientStart') return;
      if (err) return this.abort(err);
      const r = res as KexClientStartResult;
      this.state = { kind: 'awaitingReply', secret: r.secret, publicWire: r.publicWire };
      const initType = this.style === 'gex' ? Msg.KEX_DH_GEX_INIT : Msg.KEX_ECDH_INIT;
      this.host.send(new Writer(r.publicWire.length + 8).byte(initType).raw(r.publicWire).toBytes());
    });
  }

  private abort(err: Error): void {
    this.state = { kind: 'failed' };
    this.host.fail(err instanceof KeyExchangeFailed || err instanceof HostKeyNotVerifiable ? err : new KeyExchangeFailed(err.message));
  }

  private readPublic(r: Reader, field: string): Uint8Array {
    if (this.style === 'ecdh') return encodeString(r.string(field, 8192));
    const mag = r.mpintBytes(field, 8192 / 8 + 1);
    return encodeMpint(mag);
  }

  /** The key that signs the exchange hash: the host key, or the key inside a host certificate. */
  private verificationKey(hostKeyBlob: Uint8Array): Uint8Array {
    const certKeyType = certKeyTypeForAlgorithm(this.p.hostKeyAlgorithm);
    if (!certKeyType) return hostKeyBlob;
    let cert;
    try {
      cert = parseCertificate(hostKeyBlob);
    } catch (err) {
      throw new KeyExchangeFailed(`malformed host certificate: ${(err as Error).message}`);
    }
    if (cert.certKeyType !== certKeyType) throw new KeyExchangeFailed(`host certificate is ${cert.certKeyType}, negotiated ${this.p.hostKeyAlgorithm}`);
    return cert.publicKeyBlob;
  }

  private groupWire(): Uint8Array {
    const g = this.group!;
    return new Writer(g.p.length + g.g.length + 16).raw(this.gexParams).mpintBytes(g.p).mpintBytes(g.g).toBytes();
  }

  private onGexGroup(payload: Uint8Array): void {
    const r = new Reader(payload, 'KEX_DH_GEX_GROUP');
    r.byte();
    const prime = r.mpintBytes('p', 8192 / 8 + 1);
    const gen = r.mpintBytes('g', 8192 / 8 + 1);
    r.end();
    const bits = prime.length * 8 - Math.clz32(prime[0] ?? 0) + 24;
    const b = this.p.gexBits ?? DEFAULT_GEX;
    if (bits < b.min || bits > b.max) throw new KeyExchangeFailed(`server sent a ${bits}-bit group outside ${b.min}..${b.max}`);
    this.group = { p: prime, g: gen };
    this.state = { kind: 'awaitingClientStart' };
    this.clientStart();
  }

  private onReply(payload: Uint8Array, s: { secret: Uint8Array; publicWire: Uint8Array }): void {
    const r = new Reader(payload, 'KEX_REPLY');
    r.byte();
    const hostKeyBlob = r.string('server host key', 16384);
    const serverPublicWire = this.readPublic(r, 'server public value');
    const signature = r.string('signature', 16384);
    r.end();
    const sigReader = new Reader(signature, 'signature');
    const sigAlg = fromUtf8(sigReader.string('signature algorithm', 64));
    if (sigAlg !== this.signatureAlgorithm) {
      throw new KeyExchangeFailed(`host key signature uses ${sigAlg}, negotiated ${this.p.hostKeyAlgorithm}`);
    }
    const hw = new Writer(4096).raw(this.p.transcriptHead).string(hostKeyBlob);
    if (this.style === 'gex') hw.raw(this.groupWire());
    hw.raw(s.publicWire).raw(serverPublicWire);
    this.state = { kind: 'awaitingClientFinish' };
    this.host.work(
      {
        op: 'kexClientFinish',
        method: this.p.method,
        group: this.group,
        secret: s.secret,
        serverPublicWire,
        hashPrefix: hw.toBytes(),
        hostKeyBlob: this.verificationKey(hostKeyBlob),
        signature,
        signatureAlgorithm: this.signatureAlgorithm,
      },
      (err, res) => {
        if (this.state.kind !== 'awaitingClientFinish') return;
        if (err) return this.abort(err);
        const f = res as KexClientFinishResult;
        if (!f.signatureValid) return this.abort(new KeyExchangeFailed('server host key signature is invalid'));
        const keyType = fromUtf8(new Reader(hostKeyBlob, 'host key').string('key type', 64));
        this.state = { kind: 'awaitingHostKeyVerdict' };
        this.host.decide({ kind: 'hostKey', keyType, publicBlob: hostKeyBlob }, (answer) => {
          if (this.state.kind !== 'awaitingHostKeyVerdict') return;
          if (answer instanceof Error) return this.abort(answer);
          if (answer !== true) return this.abort(new HostKeyNotVerifiable('host key not trusted'));
          this.state = { kind: 'done' };
          this.host.complete({ hashName: this.hashName, sharedWire: f.sharedWire, exchangeHash: f.exchangeHash, hostKeyBlob });
        });
      },
    );
  }

  private onGexRequest(payload: Uint8Array): void {
    const r = new Reader(payload, 'KEX_DH_GEX_REQUEST');
    r.byte();
    const min = r.uint32('min');
    const n = r.uint32('n');
    const max = r.uint32('max');
    r.end();
    if (min > n || n > max || max < 1024 || min > 8192) throw new KeyExchangeFailed(`bad group exchange request ${min}/${n}/${max}`);
    if (!this.p.chooseGexGroup) throw new KeyExchangeFailed('group exchange is not available');
    this.group = this.p.chooseGexGroup(min, n, max);
    this.gexParams = new Writer(16).uint32(min).uint32(n).uint32(max).toBytes();
    this.state = { kind: 'awaitingInit' };
    const g = this.group;
    this.host.send(new Writer(g.p.length + 32).byte(Msg.KEX_DH_GEX_GROUP).mpintBytes(g.p).mpintBytes(g.g).toBytes());
  }

  private onInit(payload: Uint8Array): void {
    const r = new Reader(payload, 'KEX_INIT');
    r.byte();
    const clientPublicWire = this.readPublic(r, 'client public value');
    r.end();
    const hostKey = this.p.hostKey!;
    const hw = new Writer(4096).raw(this.p.transcriptHead).string(hostKey.publicBlob);
    if (this.style === 'gex') hw.raw(this.groupWire());
    hw.raw(clientPublicWire);
    this.state = { kind: 'awaitingServerResult' };
    this.host.work(
      {
        op: 'kexServer',
        method: this.p.method,
        group: this.group,
        clientPublicWire,
        hashPrefix: hw.toBytes(),
        hostKey,
        signatureAlgorithm: this.signatureAlgorithm,
      },
      (err, res) => {
        if (this.state.kind !== 'awaitingServerResult') return;
        if (err) return this.abort(err);
        const sr = res as KexServerResult;
        const replyType = this.style === 'gex' ? Msg.KEX_DH_GEX_REPLY : Msg.KEX_ECDH_REPLY;
        this.host.send(
          new Writer(hostKey.publicBlob.length + sr.publicWire.length + sr.signature.length + 32)
            .byte(replyType)
            .string(hostKey.publicBlob)
            .raw(sr.publicWire)
            .string(sr.signature)
            .toBytes(),
        );
        this.state = { kind: 'done' };
        this.host.complete({
          hashName: this.hashName,
          sharedWire: sr.sharedWire,
          exchangeHash: sr.exchangeHash,
          hostKeyBlob: hostKey.publicBlob,
        });
      },
    );
  }
}
