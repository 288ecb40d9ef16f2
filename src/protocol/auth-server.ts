/**
 * Server side of user authentication (RFC 4252, RFC 4256), sans-I/O, with
 * OpenSSH's rules: username and service are fixed by the first request,
 * every USERAUTH_FAILURE except the answer to the first "none" counts as a
 * failure, and the maxAuthTries-th failure ends the connection.
 *
 * Decisions asked through ctx.decide (answer shapes):
 *  - {kind:'beginAuth', username} -> boolean   (true: authentication needed; false: accept now)
 *  - {kind:'password', username, password} -> boolean | {changePrompt: string}
 *    ({changePrompt} sends USERAUTH_PASSWD_CHANGEREQ with that prompt)
 *  - {kind:'passwordChange', username, oldPassword, newPassword} -> boolean
 *  - {kind:'publicKey', username, keyType, publicBlob, algorithm} -> boolean
 *    (asked for the query and again for the signed request; the signature is
 *    then checked with ctx.work({op:'verify'}), `signature` = the full blob)
 *  - {kind:'certificate', username, keyType, publicBlob, algorithm, certificate}
 *    -> true | {accepted: true, ...grant}   (an OpenSSH user certificate whose
 *    CA signature has already been verified here; `certificate` is the parsed
 *    OpenSSHCertificate, the answer decides trust, principals, validity and
 *    source-address, e.g. with authorizeUserCertificate. An object answer is
 *    passed on as `grant` in the authSuccess event, with the certificate.)
 *  - {kind:'kbdintChallenge', username, submethods} -> KbdintChallenge | null
 *  - {kind:'kbdintResponse', username, responses} -> boolean | KbdintChallenge
 * where KbdintChallenge = {name, instruction, prompts: [{prompt, echo}]}.
 * Any answer of another shape counts as "no".
 */
import type { LayerContext } from './layer.js';
import type { SignatureName } from './algorithms.js';
import { DEFAULT_SIGNATURES, keyTypeForSignature } from './algorithms.js';
import {
  type OpenSSHCertificate,
  certKeyTypeForAlgorithm,
  certSignatureAlgorithm,
  isCertKeyType,
  parseCertificate,
} from './certificate.js';
import { DisconnectReason, Msg } from './messages.js';
import { DisconnectError, ProtocolError, ServiceNotAvailable } from './errors.js';
import {
  type AuthMethodName,
  type KbdintPrompt,
  type UserauthRequest,
  MAX_KBDINT_PROMPTS,
  blobKeyType,
  decodeInfoResponse,
  decodeServiceMessage,
  decodeUserauthRequest,
  encodeInfoRequest,
  encodePasswdChangeReq,
  encodePkOk,
  encodeServiceAccept,
  encodeUserauthBanner,
  encodeUserauthFailure,
  encodeUserauthSuccess,
  methodName,
  publicKeySignedData,
  signatureAlgorithm,
} from './auth-messages.js';
import type { AuthEvent } from './auth-client.js';

export type { AuthEvent } from './auth-client.js';

export interface AuthServerOptions {
  maxAuthTries?: number;
  methods?: readonly AuthMethodName[];
  banner?: string;
  /** Signature algorithms accepted for publickey (default: DEFAULT_SIGNATURES, i.e. no ssh-rsa/SHA-1, as OpenSSH 8.8+). */
  publicKeyAlgorithms?: readonly SignatureName[];
}

export interface KbdintChallenge {
  name: string;
  instruction: string;
  prompts: KbdintPrompt[];
}

type ServerState =
  | { kind: 'awaitingServiceRequest' }
  | { kind: 'awaitingRequest' }
  /** A decision or a signature check is pending: nothing may arrive now. */
  | { kind: 'awaitingDecision' }
  | { kind: 'awaitingInfoResponse'; prompts: number }
  | { kind: 'authenticated' }
  | { kind: 'failed' };

export class AuthServer {
  private state: ServerState = { kind: 'awaitingServiceRequest' };
  private readonly maxAuthTries: number;
  private readonly methods: readonly AuthMethodName[];
  private readonly banner: string | undefined;
  private readonly publicKeyAlgorithms: readonly SignatureName[];
  private username: string | null = null;
  private service: string | null = null;
  private authRequired = true;
  private attempts = 0;
  private failures = 0;
  /** The certificate and the application's grant of the request that is succeeding, for the authSuccess event. */
  private certGrant: { certificate: OpenSSHCertificate; grant: unknown } | null = null;

  constructor(private readonly ctx: LayerContext, options: AuthServerOptions = {}) {
    const tries = options.maxAuthTries ?? 6;
    if (!Number.isInteger(tries) || tries < 1) throw new RangeError('maxAuthTries must be a positive integer');
    this.maxAuthTries = tries;
    this.methods = options.methods ?? ['publickey', 'password', 'keyboard-interactive'];
    this.banner = options.banner;
    this.publicKeyAlgorithms = options.publicKeyAlgorithms ?? DEFAULT_SIGNATURES;
  }

  /** True once USERAUTH_SUCCESS was sent; the core rejects messages >= 80 before that. */
  get authenticated(): boolean {
    return this.state.kind === 'authenticated';
  }

  handle(payload: Uint8Array): void {
    const s = this.state;
    if (s.kind === 'failed') return;
    // RFC 4252 §5.1: authentication requests after success are ignored.
    if (s.kind === 'authenticated') return;
    try {
      this.dispatch(payload);
    } catch (err) {
      this.fail(err instanceof DisconnectError ? err : new ProtocolError(String(err)));
    }
  }

  private dispatch(payload: Uint8Array): void {
    const msg = payload[0];
    const s = this.state;
    if (msg === Msg.SERVICE_REQUEST) {
      // A repeated "ssh-userauth" request before success is accepted again, as
      // sshd does (paramiko sends one before every method it tries).
      if (s.kind !== 'awaitingServiceRequest' && s.kind !== 'awaitingRequest') throw outOfState(msg, s.kind);
      const name = decodeServiceMessage(payload, Msg.SERVICE_REQUEST);
      if (name !== 'ssh-userauth') throw new ServiceNotAvailable(`service ${JSON.stringify(name)} not available`);
      if (s.kind === 'awaitingServiceRequest') this.state = { kind: 'awaitingRequest' };
      this.ctx.send(encodeServiceAccept(name));
      return;
    }
    if (msg === Msg.USERAUTH_REQUEST) {
      // A new request abandons a keyboard-interactive exchange in progress (as OpenSSH).
      if (s.kind !== 'awaitingRequest' && s.kind !== 'awaitingInfoResponse') throw outOfState(msg, s.kind);
      return this.handleRequest(decodeUserauthRequest(payload));
    }
    if (msg === Msg.USERAUTH_INFO_RESPONSE) {
      if (s.kind !== 'awaitingInfoResponse') throw outOfState(msg, s.kind);
      const responses = decodeInfoResponse(payload);
      if (responses.length !== s.prompts) return this.reject('keyboard-interactive');
      const username = this.username!;
      this.state = { kind: 'awaitingDecision' };
      this.ctx.decide({ kind: 'kbdintResponse', username, responses }, (answer) => this.afterKbdint(answer));
      return;
    }
    throw outOfState(msg ?? -1, s.kind);
  }

  private handleRequest(req: UserauthRequest): void {
    if (this.attempts++ === 0) {
      this.username = req.username;
      this.service = req.service;
      if (req.service !== 'ssh-connection') {
        throw new ServiceNotAvailable(`service ${JSON.stringify(req.service)} not available`);
      }
      if (this.banner !== undefined) this.ctx.send(encodeUserauthBanner({ message: this.banner, lang: '' }));
      this.state = { kind: 'awaitingDecision' };
      this.ctx.decide({ kind: 'beginAuth', username: req.username }, (answer) => {
        if (this.state.kind !== 'awaitingDecision') return;
        this.authRequired = answer !== false;
        if (!this.authRequired) return this.succeed();
        this.evaluate(req);
      });
      return;
    }
    if (req.username !== this.username || req.service !== this.service) {
      throw new ProtocolError(
        `change of username or service not allowed: (${this.username},${this.service}) -> (${req.username},${req.service})`,
      );
    }
    this.evaluate(req);
  }

  private evaluate(req: UserauthRequest): void {
    const f = req.fields;
    const method = methodName(f);
    const username = req.username;
    if (!(this.methods as readonly string[]).includes(method) || f.kind === 'other') return this.reject(method);
    this.state = { kind: 'awaitingDecision' };
    switch (f.kind) {
      case 'none':
        return this.succeed();
      case 'password':
        return this.ctx.decide({ kind: 'password', username, password: f.password }, (answer) => {
          if (this.state.kind !== 'awaitingDecision') return;
          const change = changePrompt(answer);
          if (change !== null) {
            this.state = { kind: 'awaitingRequest' };
            this.ctx.send(encodePasswdChangeReq({ prompt: change, lang: '' }));
            return;
          }
          this.conclude(answer === true, method);
        });
      case 'passwordChange': {
        const { oldPassword, newPassword } = f;
        return this.ctx.decide({ kind: 'passwordChange', username, oldPassword, newPassword }, (answer) => {
          if (this.state.kind === 'awaitingDecision') this.conclude(answer === true, method);
        });
      }
      case 'keyboard-interactive':
        return this.ctx.decide({ kind: 'kbdintChallenge', username, submethods: f.submethods }, (answer) =>
          this.afterKbdint(answer),
        );
      case 'publickey':
        return this.publicKey(username, f.algorithm, f.publicBlob, f.signature);
    }
  }

  private publicKey(username: string, algorithm: string, publicBlob: Uint8Array, signature?: Uint8Array): void {
    let keyType: string;
    try {
      keyType = blobKeyType(publicBlob);
    } catch {
      return this.reject('publickey');
    }
    if (isCertKeyType(keyType)) return this.certificate(username, keyType, algorithm, publicBlob, signature);
    const known = (this.publicKeyAlgorithms as readonly string[]).includes(algorithm);
    if (!known || keyTypeForSignature(algorithm) !== keyType) return this.reject('publickey');
    const alg = algorithm as SignatureName;
    this.ctx.decide({ kind: 'publicKey', username, keyType, publicBlob, algorithm }, (answer) => {
      if (this.state.kind !== 'awaitingDecision') return;
      if (answer !== true) return this.reject('publickey');
      if (signature === undefined) {
        this.state = { kind: 'awaitingRequest' };
        this.ctx.send(encodePkOk({ algorithm, publicBlob }));
        return;
      }
      let sigAlg: string;
      try {
        sigAlg = signatureAlgorithm(signature);
      } catch {
        return this.reject('publickey');
      }
      if (sigAlg !== algorithm) return this.reject('publickey');
      const data = publicKeySignedData(this.ctx.sessionId, username, this.service!, algorithm, publicBlob);
      this.ctx.work({ op: 'verify', publicKeyBlob: publicBlob, algorithm: alg, signature, data }, (err, result) => {
        if (this.state.kind === 'awaitingDecision') this.conclude(err === null && result === true, 'publickey');
      });
    });
  }

  /**
   * A certificate: the CA signature is verified first, then the application
   * decides trust; the user's signature is made with the certified key under
   * the plain algorithm, over data naming the certificate algorithm and blob.
   */
  private certificate(username: string, keyType: string, algorithm: string, publicBlob: Uint8Array, signature?: Uint8Array): void {
    const sigAlg = certSignatureAlgorithm(algorithm);
    if (sigAlg === undefined || certKeyTypeForAlgorithm(algorithm) !== keyType) return this.reject('publickey');
    if (!this.publicKeyAlgorithms.includes(sigAlg)) return this.reject('publickey');
    let cert: OpenSSHCertificate;
    let caAlg: string;
    try {
      cert = parseCertificate(publicBlob);
      caAlg = signatureAlgorithm(cert.signature);
    } catch {
      return this.reject('publickey');
    }
    const caKnown = (DEFAULT_SIGNATURES as readonly string[]).includes(caAlg);
    if (!caKnown || keyTypeForSignature(caAlg) !== blobKeyType(cert.signatureKey)) return this.reject('publickey');
    const caCheck = { op: 'verify' as const, publicKeyBlob: cert.signatureKey, algorithm: caAlg as SignatureName, signature: cert.signature, data: cert.signedData };
    this.ctx.work(caCheck, (caErr, caValid) => {
      if (this.state.kind !== 'awaitingDecision') return;
      if (caErr !== null || caValid !== true) return this.reject('publickey');
      this.ctx.decide({ kind: 'certificate', username, keyType, publicBlob, algorithm, certificate: cert }, (answer) => {
        if (this.state.kind !== 'awaitingDecision') return;
        const accepted = answer === true || (typeof answer === 'object' && answer !== null && (answer as { accepted?: unknown }).accepted === true);
        if (!accepted) return this.reject('publickey');
        if (signature === undefined) {
          this.state = { kind: 'awaitingRequest' };
          this.ctx.send(encodePkOk({ algorithm, publicBlob }));
          return;
        }
        let userAlg: string;
        try {
          userAlg = signatureAlgorithm(signature);
        } catch {
          return this.reject('publickey');
        }
        if (userAlg !== sigAlg) return this.reject('publickey');
        const data = publicKeySignedData(this.ctx.sessionId, username, this.service!, algorithm, publicBlob);
        this.ctx.work({ op: 'verify', publicKeyBlob: cert.publicKeyBlob, algorithm: sigAlg, signature, data }, (err, result) => {
          if (this.state.kind !== 'awaitingDecision') return;
          const ok = err === null && result === true;
          if (ok) this.certGrant = { certificate: cert, grant: answer === true ? null : answer };
          this.conclude(ok, 'publickey');
        });
      });
    });
  }

  private afterKbdint(answer: unknown): void {
    if (this.state.kind !== 'awaitingDecision') return;
    if (answer === true) return this.succeed();
    const challenge = asChallenge(answer);
    if (challenge === null) return this.reject('keyboard-interactive');
    this.state = { kind: 'awaitingInfoResponse', prompts: challenge.prompts.length };
    this.ctx.send(encodeInfoRequest({ ...challenge, lang: '' }));
  }

  private conclude(ok: boolean, method: string): void {
    if (ok) this.succeed();
    else this.reject(method);
  }

  /**
   * Sends a USERAUTH_BANNER now (AsyncSSH's send_auth_banner). RFC 4252 §5.4:
   * once the user-auth service is accepted and before authentication ends;
   * false outside that time.
   */
  sendBanner(message: string, lang = ''): boolean {
    const k = this.state.kind;
    if (k === 'awaitingServiceRequest' || k === 'authenticated' || k === 'failed') return false;
    this.ctx.send(encodeUserauthBanner({ message, lang }));
    return true;
  }

  private succeed(): void {
    this.state = { kind: 'authenticated' };
    this.ctx.send(encodeUserauthSuccess());
    const cert = this.certGrant;
    this.emit(cert ? { type: 'authSuccess', username: this.username ?? '', certificate: cert.certificate, grant: cert.grant } : { type: 'authSuccess', username: this.username ?? '' });
  }

  /** Sends USERAUTH_FAILURE, or disconnects on the maxAuthTries-th failure. */
  private reject(method: string): void {
    const firstNone = method === 'none' && this.attempts === 1;
    if (!firstNone && ++this.failures >= this.maxAuthTries) {
      return this.fail(new DisconnectError(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, 'too many authentication failures'));
    }
    this.state = { kind: 'awaitingRequest' };
    this.ctx.send(encodeUserauthFailure({ methods: this.methods.filter((m) => m !== 'none'), partialSuccess: false }));
  }

  private emit(event: AuthEvent): void {
    this.ctx.emit(event);
  }

  private fail(err: DisconnectError): void {
    this.state = { kind: 'failed' };
    this.ctx.fail(err);
  }
}

function outOfState(msg: number, state: string): ProtocolError {
  return new ProtocolError(`unexpected auth message ${msg} while ${state}`);
}

function changePrompt(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return null;
  const p = (v as { changePrompt?: unknown }).changePrompt;
  return typeof p === 'string' ? p : null;
}

function asChallenge(v: unknown): KbdintChallenge | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as { name?: unknown; instruction?: unknown; prompts?: unknown };
  if (!Array.isArray(o.prompts) || o.prompts.length > MAX_KBDINT_PROMPTS) return null;
  const prompts: KbdintPrompt[] = [];
  for (const p of o.prompts as unknown[]) {
    if (typeof p !== 'object' || p === null) return null;
    const q = p as { prompt?: unknown; echo?: unknown };
    if (typeof q.prompt !== 'string') return null;
    prompts.push({ prompt: q.prompt, echo: q.echo === true });
  }
  return {
    name: typeof o.name === 'string' ? o.name : '',
    instruction: typeof o.instruction === 'string' ? o.instruction : '',
    prompts,
  };
}
