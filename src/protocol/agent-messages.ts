/**
 * The ssh-agent protocol (draft-miller-ssh-agent): message numbers, the
 * uint32-length framing, and codecs for the requests a client sends and the
 * replies it reads. Pure: the socket lives in src/actors/agent-client.ts.
 *
 * Every message is capped at AGENT_MAX_MESSAGE (256 KiB, as OpenSSH's
 * AGENT_MAX_LEN) and every length and count is checked before use.
 */
import { SSHError } from './errors.js';
import { ByteQueue } from './byte-queue.js';
import { Reader, Writer, fromUtf8 } from './wire.js';

export const AgentMsg = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_ID_CONSTRAINED: 25,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
} as const;

/** SIGN_REQUEST flags. */
export const AgentSignFlag = {
  RSA_SHA2_256: 2,
  RSA_SHA2_512: 4,
} as const;

/** ADD_ID_CONSTRAINED constraint types. */
export const AgentConstraint = {
  LIFETIME: 1,
  CONFIRM: 2,
} as const;

/** Largest agent message (payload) either side accepts. */
export const AGENT_MAX_MESSAGE = 256 * 1024;
/** Most identities an IDENTITIES_ANSWER may list (as OpenSSH's client). */
export const AGENT_MAX_KEYS = 2048;

/** The agent said no, or answered something malformed. */
export class AgentError extends SSHError {
  constructor(message: string, code = 'ERR_SSH_AGENT') {
    super(code, message);
  }
}

export interface AgentIdentity {
  readonly publicBlob: Uint8Array;
  readonly comment: string;
}

export interface AddIdentityConstraints {
  /** Seconds until the agent forgets the key. */
  readonly lifetime?: number;
  /** The agent asks the user before each use. */
  readonly confirm?: boolean;
}

/** uint32 length || payload; throws RangeError past the cap. */
export function frameAgentMessage(payload: Uint8Array): Uint8Array {
  if (payload.length === 0 || payload.length > AGENT_MAX_MESSAGE) {
    throw new RangeError(`agent message: length ${payload.length} outside 1..${AGENT_MAX_MESSAGE}`);
  }
  return new Writer(payload.length + 4).uint32(payload.length).raw(payload).toBytes();
}

/** Splits a byte stream into agent message payloads. */
export class AgentFramer {
  private readonly queue = new ByteQueue();

  /** Payloads completed by `bytes`; throws AgentError for a zero or oversized length. */
  push(bytes: Uint8Array): Uint8Array[] {
    this.queue.push(bytes);
    const out: Uint8Array[] = [];
    while (this.queue.length >= 4) {
      const h = this.queue.peek(4);
      const n = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
      if (n === 0 || n > AGENT_MAX_MESSAGE) throw new AgentError(`agent message length ${n} outside 1..${AGENT_MAX_MESSAGE}`, 'ERR_SSH_AGENT_PROTOCOL');
      if (this.queue.length < 4 + n) break;
      this.queue.take(4);
      out.push(new Uint8Array(this.queue.take(n)));
    }
    return out;
  }

  /** Bytes received that do not make a whole message yet. */
  get pending(): number {
    return this.queue.length;
  }
}

export function encodeRequestIdentities(): Uint8Array {
  return Uint8Array.of(AgentMsg.REQUEST_IDENTITIES);
}

export function encodeSignRequest(publicBlob: Uint8Array, data: Uint8Array, flags = 0): Uint8Array {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw new RangeError('flags: expected a uint32');
  return new Writer(publicBlob.length + data.length + 16).byte(AgentMsg.SIGN_REQUEST).string(publicBlob).string(data).uint32(flags).toBytes();
}

/**
 * `keyFields` are the type-specific private fields after the key type name,
 * as in the OpenSSH private key format (ed25519: ENC(A), k||ENC(A); ecdsa:
 * curve, Q, d; rsa: n, e, d, iqmp, p, q).
 */
export function encodeAddIdentity(keyType: string, keyFields: Uint8Array, comment: string, constraints: AddIdentityConstraints = {}): Uint8Array {
  const { lifetime, confirm } = constraints;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff)) {
    throw new RangeError('lifetime: expected a positive whole number of seconds');
  }
  const constrained = lifetime !== undefined || confirm === true;
  const w = new Writer(keyFields.length + comment.length + 64)
    .byte(constrained ? AgentMsg.ADD_ID_CONSTRAINED : AgentMsg.ADD_IDENTITY)
    .string(keyType)
    .raw(keyFields)
    .string(comment);
  if (lifetime !== undefined) w.byte(AgentConstraint.LIFETIME).uint32(lifetime);
  if (confirm === true) w.byte(AgentConstraint.CONFIRM);
  return w.toBytes();
}

export function encodeRemoveIdentity(publicBlob: Uint8Array): Uint8Array {
  return new Writer(publicBlob.length + 8).byte(AgentMsg.REMOVE_IDENTITY).string(publicBlob).toBytes();
}

export function encodeRemoveAllIdentities(): Uint8Array {
  return Uint8Array.of(AgentMsg.REMOVE_ALL_IDENTITIES);
}

function replyType(payload: Uint8Array, expected: number, what: string): Reader {
  const t = payload[0];
  if (t === AgentMsg.FAILURE || t === AgentMsg.EXTENSION_FAILURE) throw new AgentError(`agent refused ${what}`, 'ERR_SSH_AGENT_REFUSED');
  if (t !== expected) throw new AgentError(`agent answered ${what} with message ${t ?? 'none'}`, 'ERR_SSH_AGENT_PROTOCOL');
  const r = new Reader(payload, what);
  r.byte();
  return r;
}

function guard<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError(`malformed ${what}: ${err instanceof Error ? err.message : String(err)}`, 'ERR_SSH_AGENT_PROTOCOL');
  }
}

export function decodeIdentitiesAnswer(payload: Uint8Array): AgentIdentity[] {
  const r = replyType(payload, AgentMsg.IDENTITIES_ANSWER, 'identity list');
  return guard(() => {
    const n = r.uint32('nkeys');
    // Each identity takes at least 8 bytes (two empty strings): check before looping.
    if (n > AGENT_MAX_KEYS || n * 8 > r.remaining) throw new AgentError(`identity count ${n} too large for the message`, 'ERR_SSH_AGENT_PROTOCOL');
    const out: AgentIdentity[] = [];
    for (let i = 0; i < n; i++) {
      const publicBlob = new Uint8Array(r.string('key blob', AGENT_MAX_MESSAGE));
      const comment = fromUtf8(r.string('comment', AGENT_MAX_MESSAGE));
      if (publicBlob.length === 0) throw new AgentError(`identity ${i} has an empty key blob`, 'ERR_SSH_AGENT_PROTOCOL');
      out.push({ publicBlob, comment });
    }
    r.end();
    return out;
  }, 'identity list');
}

/** The signature blob: string(algorithm) || string(signature). */
export function decodeSignResponse(payload: Uint8Array): Uint8Array {
  const r = replyType(payload, AgentMsg.SIGN_RESPONSE, 'sign request');
  return guard(() => {
    const sig = new Uint8Array(r.string('signature', AGENT_MAX_MESSAGE));
    r.end();
    // The blob itself must be string(algorithm) || string(bytes).
    const inner = new Reader(sig, 'signature blob');
    inner.utf8('algorithm', 256);
    inner.string('signature bytes');
    inner.end();
    return sig;
  }, 'sign response');
}

/** The algorithm name at the front of a signature blob. */
export function signatureBlobAlgorithm(sig: Uint8Array): string {
  return guard(() => new Reader(sig, 'signature blob').utf8('algorithm', 256), 'signature blob');
}

/** SUCCESS -> nothing; FAILURE -> AgentError naming `what`. */
export function decodeStatus(payload: Uint8Array, what: string): void {
  const r = replyType(payload, AgentMsg.SUCCESS, what);
  guard(() => r.end(), what);
}

/** The SIGN_REQUEST flags that select an RSA signature algorithm. */
export function signFlagsFor(algorithm: string): number {
  if (algorithm === 'rsa-sha2-256') return AgentSignFlag.RSA_SHA2_256;
  if (algorithm === 'rsa-sha2-512') return AgentSignFlag.RSA_SHA2_512;
  return 0;
}

/** Decoded client request, for agents and relays that inspect traffic (type and, for known ones, fields). */
export type AgentRequest =
  | { type: 'requestIdentities' }
  | { type: 'sign'; publicBlob: Uint8Array; data: Uint8Array; flags: number }
  | { type: 'removeIdentity'; publicBlob: Uint8Array }
  | { type: 'removeAll' }
  | { type: 'other'; msg: number };

export function decodeAgentRequest(payload: Uint8Array): AgentRequest {
  const msg = payload[0];
  if (msg === undefined) throw new AgentError('empty agent message', 'ERR_SSH_AGENT_PROTOCOL');
  return guard((): AgentRequest => {
    const r = new Reader(payload, 'agent request');
    r.byte();
    switch (msg) {
      case AgentMsg.REQUEST_IDENTITIES:
        r.end();
        return { type: 'requestIdentities' };
      case AgentMsg.SIGN_REQUEST: {
        const publicBlob = r.string('key blob', AGENT_MAX_MESSAGE);
        const data = r.string('data', AGENT_MAX_MESSAGE);
        const flags = r.uint32('flags');
        r.end();
        return { type: 'sign', publicBlob, data, flags };
      }
      case AgentMsg.REMOVE_IDENTITY: {
        const publicBlob = r.string('key blob', AGENT_MAX_MESSAGE);
        r.end();
        return { type: 'removeIdentity', publicBlob };
      }
      case AgentMsg.REMOVE_ALL_IDENTITIES:
        r.end();
        return { type: 'removeAll' };
      default:
        return { type: 'other', msg };
    }
  }, 'agent request');
}
