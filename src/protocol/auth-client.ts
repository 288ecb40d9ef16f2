/**
 * Client side of user authentication (RFC 4252, RFC 4256), sans-I/O.
 *
 * Order of methods: publickey for each key, then keyboard-interactive, then
 * password, or the order given as `preferred`. A method is tried only when
 * the last USERAUTH_FAILURE listed it. The first request is "none" (to learn
 * what the server allows), as OpenSSH sends, unless publickey comes first and
 * the first usable key is held in this process: then that key's signed
 * request goes first. Keys held elsewhere (an agent) are
 * offered with a query and signed only after PK_OK; keys in this process are
 * signed at once. Each skipped query saves a round trip, a packet each way
 * and the server's work on it (load-tests/README.md, session 5).
 *
 * A key whose keyType is a certificate type ("ssh-ed25519-cert-v01@openssh.com",
 * publicBlob = the certificate) is offered under the certificate algorithm
 * ("rsa-sha2-512-cert-v01@openssh.com" for RSA, chosen by the plain names
 * in server-sig-algs as OpenSSH does) and signs with the plain algorithm.
 *
 * Decisions asked through ctx.decide (answer shapes):
 *  - {kind:'kbdint', name, instruction, lang, prompts:[{prompt, echo}]} -> string[] | null
 *    (null gives up on keyboard-interactive; never asked for zero prompts)
 *  - {kind:'password', prompt} -> string | null   (only when passwordPrompt is true)
 *  - {kind:'passwordChange', prompt, lang} -> {oldPassword, newPassword} | null
 */
import type { SigningKeyRef } from './crypto-api.js';
import type { LayerContext } from './layer.js';
import type { SignatureName } from './algorithms.js';
import { DEFAULT_SIGNATURES, signatureAlgorithmsForKeyType } from './algorithms.js';
import { type OpenSSHCertificate, CERT_KEY_TYPES, certAlgorithmFor, isCertKeyType } from './certificate.js';
import { Msg } from './messages.js';
import { PermissionDenied, ProtocolError, DisconnectError } from './errors.js';
import { equalBytes } from './wire.js';
import {
  type AuthMethodFields,
  type InfoRequest,
  decodeEmpty,
  decodeInfoRequest,
  decodePasswdChangeReq,
  decodePkOk,
  decodeServiceMessage,
  decodeUserauthBanner,
  decodeUserauthFailure,
  encodeInfoResponse,
  encodeServiceRequest,
  encodeUserauthRequest,
  publicKeySignedData,
} from './auth-messages.js';

export interface AuthClientOptions {
  username: string;
  keys: readonly SigningKeyRef[];
  password?: string | null;
  kbdint?: boolean;
  passwordPrompt?: boolean;
  /**
   * Methods in the order to try them (AsyncSSH's preferred_auth, ssh's
   * PreferredAuthentications); names we do not implement are skipped.
   * Default: publickey, keyboard-interactive, password.
   */
  preferred?: readonly string[];
  /**
   * Signature algorithms the client may sign with (AsyncSSH's signature_algs);
   * default DEFAULT_SIGNATURES, without the SHA-1 ssh-rsa. A key with none
   * of its algorithms here is skipped.
   */
  signatureAlgs?: readonly string[];
  /**
   * Refuse a server that lets us in without a real challenge (AsyncSSH's
   * disable_trivial_auth): success must follow a signed publickey request, a
   * password, or a keyboard-interactive round with at least one prompt.
   */
  disableTrivialAuth?: boolean;
}

const DEFAULT_ORDER = ['publickey', 'keyboard-interactive', 'password'] as const;
type MethodName = (typeof DEFAULT_ORDER)[number];
const isMethod = (m: string): m is MethodName => (DEFAULT_ORDER as readonly string[]).includes(m);

export type AuthEvent =
  | { type: 'authBanner'; message: string; lang: string }
  /** Server side, after certificate authentication: the certificate and the application's grant. */
  | { type: 'authSuccess'; username: string; certificate?: OpenSSHCertificate; grant?: unknown };

/** Password prompts per connection when asking the application (OpenSSH's NumberOfPasswordPrompts). */
const PASSWORD_PROMPTS = 3;

type ClientState =
  | { kind: 'idle' }
  | { kind: 'awaitingServiceAccept' }
  | { kind: 'awaitingNoneResult' }
  | { kind: 'awaitingPkOk'; key: SigningKeyRef; algorithm: string; signatureAlgorithm: SignatureName }
  | { kind: 'awaitingSignature' }
  | { kind: 'awaitingPkResult' }
  | { kind: 'awaitingKbdint' }
  | { kind: 'awaitingKbdintAnswer' }
  | { kind: 'awaitingPassword' }
  | { kind: 'awaitingPasswordResult' }
  | { kind: 'awaitingPasswordChange' }
  | { kind: 'done' }
  | { kind: 'failed' };

export class AuthClient {
  private state: ClientState = { kind: 'idle' };
  private allowed: string[] = [];
  private readonly tried = new Set<string>();
  private keyIndex = 0;
  private kbdintTried = false;
  private passwordAttempts = 0;
  private readonly opts: AuthClientOptions;
  private readonly order: readonly MethodName[];
  private readonly signatureAlgs: readonly string[];
  /** A request that proves something was sent: a signature, a password, an answered prompt. */
  private challenged = false;
  /** SERVICE_ACCEPT seen; every other auth message must come after it. */
  private serviceAccepted = false;

  constructor(private readonly ctx: LayerContext, options: AuthClientOptions) {
    if (typeof options.username !== 'string') throw new TypeError('username must be a string');
    this.opts = options;
    this.order = options.preferred === undefined ? DEFAULT_ORDER : [...new Set(options.preferred.filter(isMethod))];
    this.signatureAlgs = options.signatureAlgs ?? DEFAULT_SIGNATURES;
  }

  get authenticated(): boolean {
    return this.state.kind === 'done';
  }

  start(): void {
    if (this.state.kind !== 'idle') throw new Error('AuthClient.start() called twice');
    this.state = { kind: 'awaitingServiceAccept' };
    this.ctx.send(encodeServiceRequest('ssh-userauth'));
    // A key held here whose algorithm does not hang on the server's
    // server-sig-algs (not RSA) is signed and sent right behind the service
    // request, in the same write: the server handles them in order, and the
    // login takes one round trip fewer (RFC 4252 lets a client send requests
    // without waiting for replies).
    const first = this.inProcessFirstKey();
    if (first !== undefined && baseKeyType(first.keyType) !== 'ssh-rsa') this.skipNone();
  }

  handle(payload: Uint8Array): void {
    if (this.state.kind === 'failed') return;
    if (this.state.kind === 'done') return this.fail(new ProtocolError(`auth message ${payload[0]} after success`));
    try {
      this.dispatch(payload);
    } catch (err) {
      this.fail(err instanceof DisconnectError ? err : new ProtocolError(String(err)));
    }
  }

  private dispatch(payload: Uint8Array): void {
    const msg = payload[0];
    const s = this.state;
    switch (msg) {
      case Msg.SERVICE_ACCEPT: {
        if (this.serviceAccepted || s.kind === 'idle') throw outOfState(msg, s.kind);
        const name = decodeServiceMessage(payload, Msg.SERVICE_ACCEPT);
        if (name !== 'ssh-userauth') throw new ProtocolError(`SERVICE_ACCEPT for ${JSON.stringify(name)}`);
        this.serviceAccepted = true;
        // Pipelined behind the service request already (start()).
        if (s.kind !== 'awaitingServiceAccept') return;
        if (this.inProcessFirstKey() !== undefined) return this.skipNone();
        this.state = { kind: 'awaitingNoneResult' };
        this.sendRequest({ kind: 'none' });
        return;
      }
      case Msg.USERAUTH_BANNER: {
        if (!this.serviceAccepted) throw outOfState(msg, s.kind);
        const b = decodeUserauthBanner(payload);
        this.emit({ type: 'authBanner', message: b.message, lang: b.lang });
        return;
      }
      case Msg.USERAUTH_SUCCESS: {
        if (!awaitingResult(s) || !this.serviceAccepted) throw outOfState(msg, s.kind);
        decodeEmpty(payload, 'USERAUTH_SUCCESS');
        if (this.opts.disableTrivialAuth === true && !this.challenged) {
          throw new PermissionDenied('the server accepted us without a challenge (no signature, password or prompt) and disableTrivialAuth is set');
        }
        this.state = { kind: 'done' };
        this.emit({ type: 'authSuccess', username: this.opts.username });
        return;
      }
      case Msg.USERAUTH_FAILURE: {
        if (!awaitingResult(s) || !this.serviceAccepted) throw outOfState(msg, s.kind);
        const f = decodeUserauthFailure(payload);
        this.allowed = f.methods;
        this.next();
        return;
      }
      case 60:
        if (!this.serviceAccepted) throw outOfState(msg, s.kind);
        return this.handleMethodMessage(payload);
      default:
        throw outOfState(msg ?? -1, s.kind);
    }
  }

  /** Message 60 means PK_OK, PASSWD_CHANGEREQ or INFO_REQUEST depending on the method in progress. */
  private handleMethodMessage(payload: Uint8Array): void {
    const s = this.state;
    if (s.kind === 'awaitingPkOk') {
      const ok = decodePkOk(payload);
      if (ok.algorithm !== s.algorithm || !equalBytes(ok.publicBlob, s.key.publicBlob)) {
        throw new ProtocolError('USERAUTH_PK_OK for a key that was not offered');
      }
      this.signAndSend(s.key, s.algorithm, s.signatureAlgorithm);
    } else if (s.kind === 'awaitingPasswordResult') {
      const req = decodePasswdChangeReq(payload);
      this.state = { kind: 'awaitingPasswordChange' };
      this.ctx.decide({ kind: 'passwordChange', prompt: req.prompt, lang: req.lang }, (answer) => {
        if (this.state.kind !== 'awaitingPasswordChange') return;
        const a = asPasswordChange(answer);
        if (a === null) return this.next();
        this.state = { kind: 'awaitingPasswordResult' };
        this.challenged = true;
        this.sendRequest({ kind: 'passwordChange', oldPassword: a.oldPassword, newPassword: a.newPassword });
      });
    } else if (s.kind === 'awaitingKbdint') {
      this.answerInfoRequest(decodeInfoRequest(payload));
    } else {
      throw outOfState(60, s.kind);
    }
  }

  private answerInfoRequest(req: InfoRequest): void {
    if (req.prompts.length === 0) {
      this.ctx.send(encodeInfoResponse([]));
      return;
    }
    this.state = { kind: 'awaitingKbdintAnswer' };
    const question = { kind: 'kbdint', name: req.name, instruction: req.instruction, lang: req.lang, prompts: req.prompts };
    this.ctx.decide(question, (answer) => {
      if (this.state.kind !== 'awaitingKbdintAnswer') return;
      if (!isStringArray(answer) || answer.length !== req.prompts.length) return this.next();
      this.state = { kind: 'awaitingKbdint' };
      this.challenged = true;
      this.ctx.send(encodeInfoResponse(answer));
    });
  }

  /** `algorithm` names the key in the request (a certificate algorithm for certificates); the signature uses `signatureAlgorithm`. */
  private signAndSend(key: SigningKeyRef, algorithm: string, signatureAlgorithm: SignatureName): void {
    this.state = { kind: 'awaitingSignature' };
    const { username } = this.opts;
    const data = publicKeySignedData(this.ctx.sessionId, username, 'ssh-connection', algorithm, key.publicBlob);
    this.ctx.work({ op: 'sign', key, algorithm: signatureAlgorithm, data }, (err, result) => {
      if (this.state.kind !== 'awaitingSignature') return;
      if (err || !(result instanceof Uint8Array)) {
        // A key that cannot sign (agent refused, bad handle): move on to the next one.
        return this.next();
      }
      this.state = { kind: 'awaitingPkResult' };
      this.challenged = true;
      this.sendRequest({ kind: 'publickey', algorithm, publicBlob: key.publicBlob, signature: result });
    });
  }

  /**
   * Starts with the first key instead of "none": assume publickey is allowed;
   * the server's first FAILURE says what is.
   */
  private skipNone(): void {
    this.allowed = ['publickey'];
    this.next();
  }

  /** Picks the next method/key the server allows, in our order, or gives up. */
  private next(): void {
    for (const m of this.order) {
      if (!this.allowed.includes(m)) continue;
      if (m === 'publickey' ? this.tryPublicKey() : m === 'keyboard-interactive' ? this.tryKbdint() : this.tryPassword()) return;
    }
    const tried = this.tried.size ? `tried: ${[...this.tried].join(', ')}` : 'no usable method tried';
    this.fail(new PermissionDenied(`permission denied (${tried}; server allows: ${this.allowed.join(',') || 'nothing'})`));
  }

  private tryPublicKey(): boolean {
    while (this.keyIndex < this.opts.keys.length) {
      const key = this.opts.keys[this.keyIndex++]!;
      const signatureAlgorithm = this.keyAlgorithm(key);
      if (signatureAlgorithm === null) continue;
      const algorithm = isCertKeyType(key.keyType) ? certAlgorithmFor(signatureAlgorithm) : signatureAlgorithm;
      this.tried.add('publickey');
      if (key.inProcess === true) {
        this.signAndSend(key, algorithm, signatureAlgorithm);
        return true;
      }
      this.state = { kind: 'awaitingPkOk', key, algorithm, signatureAlgorithm };
      this.sendRequest({ kind: 'publickey', algorithm, publicBlob: key.publicBlob });
      return true;
    }
    return false;
  }

  private tryKbdint(): boolean {
    if (!this.opts.kbdint || this.kbdintTried) return false;
    this.kbdintTried = true;
    this.tried.add('keyboard-interactive');
    this.state = { kind: 'awaitingKbdint' };
    this.sendRequest({ kind: 'keyboard-interactive', lang: '', submethods: '' });
    return true;
  }

  private tryPassword(): boolean {
    const fixed = this.opts.password;
    if (typeof fixed === 'string' && this.passwordAttempts === 0) {
      this.passwordAttempts = 1;
      this.tried.add('password');
      this.state = { kind: 'awaitingPasswordResult' };
      this.challenged = true;
      this.sendRequest({ kind: 'password', password: fixed });
      return true;
    }
    if (typeof fixed === 'string' || !this.canPromptAgain()) return false;
    this.passwordAttempts++;
    this.tried.add('password');
    this.state = { kind: 'awaitingPassword' };
    const prompt = `${this.opts.username}'s password: `;
    this.ctx.decide({ kind: 'password', prompt }, (answer) => {
      if (this.state.kind !== 'awaitingPassword') return;
      if (typeof answer !== 'string') {
        this.passwordAttempts = Infinity;
        return this.next();
      }
      this.state = { kind: 'awaitingPasswordResult' };
      this.challenged = true;
      this.sendRequest({ kind: 'password', password: answer });
    });
    return true;
  }

  /** The first key to offer when publickey comes first and that key is held here (so "none" and the query can be skipped). */
  private inProcessFirstKey(): SigningKeyRef | undefined {
    const first = this.order[0] === 'publickey' ? this.firstUsableKey() : undefined;
    return first?.inProcess === true ? first : undefined;
  }

  /** The key next() would offer first, if publickey is allowed. */
  private firstUsableKey(): SigningKeyRef | undefined {
    return this.opts.keys.find((k) => this.keyAlgorithm(k) !== null);
  }

  /** The signature algorithm a key (or a certificate, by its key's type) would sign with here, or null. */
  private keyAlgorithm(key: SigningKeyRef): SignatureName | null {
    return this.pickAlgorithm(baseKeyType(key.keyType));
  }

  private canPromptAgain(): boolean {
    return this.opts.passwordPrompt === true && typeof this.opts.password !== 'string' && this.passwordAttempts < PASSWORD_PROMPTS;
  }

  /**
   * The key's algorithm among signatureAlgs; for RSA, rsa-sha2-512/256 by the
   * server's server-sig-algs. A server that announced none gets ssh-rsa when
   * signatureAlgs allows it (opt-in), else rsa-sha2-512 (as OpenSSH, which
   * never falls back to SHA-1 by default).
   */
  private pickAlgorithm(keyType: string): SignatureName | null {
    const candidates = signatureAlgorithmsForKeyType(keyType).filter((a) => this.signatureAlgs.includes(a));
    if (candidates.length === 0) return null;
    if (keyType !== 'ssh-rsa') return candidates[0]!;
    const announced = this.ctx.serverSigAlgs;
    if (announced === null) return candidates.includes('ssh-rsa') ? 'ssh-rsa' : candidates[0]!;
    return candidates.find((a) => announced.includes(a)) ?? null;
  }

  private sendRequest(fields: AuthMethodFields): void {
    this.ctx.send(encodeUserauthRequest({ username: this.opts.username, service: 'ssh-connection', fields }));
  }

  private emit(event: AuthEvent): void {
    this.ctx.emit(event);
  }

  private fail(err: DisconnectError): void {
    this.state = { kind: 'failed' };
    this.ctx.fail(err);
  }
}

function awaitingResult(s: ClientState): boolean {
  switch (s.kind) {
    case 'awaitingNoneResult':
    case 'awaitingPkOk':
    case 'awaitingPkResult':
    case 'awaitingKbdint':
    case 'awaitingPasswordResult':
      return true;
    default:
      return false;
  }
}

/** A certificate's key type, or the key type itself. */
function baseKeyType(keyType: string): string {
  return isCertKeyType(keyType) ? CERT_KEY_TYPES[keyType] : keyType;
}

function outOfState(msg: number, state: string): ProtocolError {
  return new ProtocolError(`unexpected auth message ${msg} while ${state}`);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function asPasswordChange(v: unknown): { oldPassword: string; newPassword: string } | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as { oldPassword?: unknown; newPassword?: unknown };
  return typeof o.oldPassword === 'string' && typeof o.newPassword === 'string'
    ? { oldPassword: o.oldPassword, newPassword: o.newPassword }
    : null;
}
