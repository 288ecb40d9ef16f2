/**
 * An ssh-agent client over its UNIX socket (SSH_AUTH_SOCK): list identities,
 * sign (rsa-sha2-256/512 by flag), add, remove and remove all. One socket per
 * client; requests go out in order and the agent answers in order.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { SigningKeyRef } from '../protocol/crypto-api.js';
import { Reader, Writer, fromUtf8, utf8 } from '../protocol/wire.js';
import {
  AgentError,
  AgentFramer,
  decodeIdentitiesAnswer,
  decodeSignResponse,
  decodeStatus,
  encodeAddIdentity,
  encodeRemoveAllIdentities,
  encodeRemoveIdentity,
  encodeRequestIdentities,
  encodeSignRequest,
  frameAgentMessage,
  signFlagsFor,
  signatureBlobAlgorithm,
  type AddIdentityConstraints,
} from '../protocol/agent-messages.js';
import { decodeQueryExtensionsReply, encodeQueryExtensions } from '../protocol/agent-query.js';
import { SSHKey } from '../crypto/keys/ssh-key.js';
import { fromB64u, parsePublicBlob } from '../crypto/keys/key-blob.js';

export { AgentError } from '../protocol/agent-messages.js';

type Pending = { resolve: (payload: Uint8Array) => void; reject: (err: Error) => void };

/** What a sign call through the work runner needs: recognised by work-runner.ts. */
export class AgentSigningHandle {
  constructor(readonly agent: SSHAgentClient, readonly publicBlob: Uint8Array) {}

  sign(algorithm: string, data: Uint8Array): Promise<Uint8Array> {
    return this.agent.sign(this.publicBlob, data, algorithm);
  }
}

/** One identity the agent holds. */
export class SSHAgentKey {
  readonly keyType: string;

  constructor(readonly agent: SSHAgentClient, readonly publicBlob: Uint8Array, readonly comment: string) {
    this.keyType = fromUtf8(new Reader(publicBlob, 'key blob').string('key type', 256));
  }

  /** The same key as a public SSHKey (null for types SSHKey cannot import, e.g. certificates). */
  publicKey(): SSHKey | null {
    try {
      return new SSHKey(parsePublicBlob(this.publicBlob).key, this.comment);
    } catch {
      return null;
    }
  }

  /** The signature blob string(algorithm) || string(signature), made by the agent. */
  sign(algorithm: string, data: Uint8Array): Promise<Uint8Array> {
    return this.agent.sign(this.publicBlob, data, algorithm);
  }

  /** A signing reference for the core; the work runner routes its signatures to the agent. */
  toSigningKeyRef(): SigningKeyRef {
    return { keyType: this.keyType, publicBlob: this.publicBlob, handle: new AgentSigningHandle(this.agent, this.publicBlob) };
  }
}

/** Private fields after the key type name, as ADD_IDENTITY carries them. */
export function agentKeyFields(key: SSHKey): Uint8Array {
  const ref = key.toSigningKeyRef();
  const jwk = (ref.handle as KeyObject).export({ format: 'jwk' }) as JsonWebKey;
  const w = new Writer(2048);
  if (key.keyType === 'ssh-rsa') {
    for (const f of ['n', 'e', 'd', 'qi', 'p', 'q'] as const) w.mpintBytes(fromB64u(jwk[f], f));
  } else {
    // ed25519 and ecdsa start with the public blob's fields after the type name.
    const r = new Reader(key.publicBlob, 'key blob');
    r.string('key type');
    w.raw(r.rest());
    if (key.keyType === 'ssh-ed25519') {
      const d = fromB64u(jwk.d, 'd');
      const x = fromB64u(jwk.x, 'x');
      const both = new Uint8Array(64);
      both.set(d, 0);
      both.set(x, 32);
      w.string(both);
      both.fill(0);
    } else {
      w.mpintBytes(fromB64u(jwk.d, 'd'));
    }
  }
  return w.toBytes();
}

export class SSHAgentClient {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly framer = new AgentFramer();
  private readonly pending: Pending[] = [];
  private closedError: Error | null = null;

  constructor(readonly path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError('path: expected the agent socket path');
  }

  private open(): Promise<Socket> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ path: this.path });
      const onError = (err: Error): void => reject(new AgentError(`cannot connect to agent at ${this.path}: ${err.message}`, 'ERR_SSH_AGENT_UNAVAILABLE'));
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        this.socket = s;
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        s.on('error', (err) => this.fail(new AgentError(`agent connection failed: ${err.message}`, 'ERR_SSH_AGENT_UNAVAILABLE')));
        s.on('close', () => this.fail(new AgentError('agent closed the connection', 'ERR_SSH_AGENT_UNAVAILABLE')));
        resolve(s);
      });
    });
    return this.connecting;
  }

  private onData(chunk: Uint8Array): void {
    let messages: Uint8Array[];
    try {
      messages = this.framer.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket?.destroy();
      return;
    }
    for (const m of messages) {
      const p = this.pending.shift();
      if (!p) {
        this.fail(new AgentError('agent sent a reply nobody asked for', 'ERR_SSH_AGENT_PROTOCOL'));
        this.socket?.destroy();
        return;
      }
      p.resolve(m);
    }
    // An idle agent connection never keeps the process alive.
    if (this.pending.length === 0) this.socket?.unref();
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Sends one request and resolves with the reply payload. */
  async request(payload: Uint8Array): Promise<Uint8Array> {
    const framed = frameAgentMessage(payload);
    const s = await this.open();
    if (this.closedError) throw this.closedError;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      s.ref();
      s.write(framed);
    });
  }

  /** The identities the agent holds. */
  async getKeys(): Promise<SSHAgentKey[]> {
    const ids = decodeIdentitiesAnswer(await this.request(encodeRequestIdentities()));
    const out: SSHAgentKey[] = [];
    for (const id of ids) {
      try {
        out.push(new SSHAgentKey(this, id.publicBlob, id.comment));
      } catch {
        // a blob without a readable type name: not usable, skipped
      }
    }
    return out;
  }

  /**
   * Signs `data` with the agent's key `publicBlob`. `algorithm` picks the RSA
   * hash by flag; a reply with another algorithm than asked is refused.
   */
  async sign(publicBlob: Uint8Array, data: Uint8Array, algorithm?: string): Promise<Uint8Array> {
    const sig = decodeSignResponse(await this.request(encodeSignRequest(publicBlob, data, algorithm ? signFlagsFor(algorithm) : 0)));
    if (algorithm !== undefined && signatureBlobAlgorithm(sig) !== algorithm && !algorithm.includes('-cert-')) {
      throw new AgentError(`agent signed with ${signatureBlobAlgorithm(sig)}, not ${algorithm}`, 'ERR_SSH_AGENT_PROTOCOL');
    }
    return sig;
  }

  /** Adds private keys (ed25519, ecdsa, rsa), optionally with a lifetime (seconds) or confirmation. */
  async addKeys(keys: readonly SSHKey[], constraints: AddIdentityConstraints = {}): Promise<void> {
    if (!Array.isArray(keys)) throw new TypeError('keys: expected a list of SSHKey');
    for (const key of keys) {
      if (!(key instanceof SSHKey) || !key.hasPrivate) throw new TypeError('keys: expected SSHKey objects with private keys');
      const fields = agentKeyFields(key);
      const msg = encodeAddIdentity(key.keyType, fields, key.comment, constraints);
      fields.fill(0);
      try {
        decodeStatus(await this.request(msg), `adding ${key.keyType} key`);
      } finally {
        msg.fill(0);
      }
    }
  }

  /** Removes keys by their public part. */
  async removeKeys(keys: readonly (SSHKey | SSHAgentKey | Uint8Array)[]): Promise<void> {
    if (!Array.isArray(keys)) throw new TypeError('keys: expected a list of keys');
    for (const k of keys) {
      const blob = k instanceof Uint8Array ? k : k.publicBlob;
      decodeStatus(await this.request(encodeRemoveIdentity(blob)), 'removing a key');
    }
  }

  async removeAll(): Promise<void> {
    decodeStatus(await this.request(encodeRemoveAllIdentities()), 'removing all keys');
  }

  /** Locks the agent with a passphrase: until unlock(), it lists no keys and signs nothing. */
  async lock(passphrase: string): Promise<void> {
    decodeStatus(await this.request(lockMessage(AGENTC_LOCK, passphrase)), 'locking the agent');
  }

  /** Unlocks an agent locked by lock(); a wrong passphrase is an AgentError. */
  async unlock(passphrase: string): Promise<void> {
    decodeStatus(await this.request(lockMessage(AGENTC_UNLOCK, passphrase)), 'unlocking the agent');
  }

  /**
   * The extensions the agent implements (AsyncSSH's query_extensions, the
   * "query" extension of draft-miller-ssh-agent); [] from an agent that does
   * not implement "query" (OpenSSH's ssh-agent answers it with FAILURE).
   */
  async queryExtensions(): Promise<string[]> {
    return decodeQueryExtensionsReply(await this.request(encodeQueryExtensions()));
  }

  close(): void {
    this.fail(new AgentError('agent client closed', 'ERR_SSH_AGENT_CLOSED'));
    const s = this.socket;
    this.socket = null;
    if (s) {
      this.socketGone = new Promise((resolve) => s.once('close', () => resolve()));
      s.destroy();
    }
  }

  private socketGone: Promise<void> = Promise.resolve();

  /** Resolves once close() has released the agent socket (AsyncSSH's wait_closed). */
  async waitClosed(): Promise<void> {
    await this.socketGone;
  }
}

// draft-miller-ssh-agent §3.8: SSH_AGENTC_LOCK / SSH_AGENTC_UNLOCK, answered with SUCCESS or FAILURE.
const AGENTC_LOCK = 22;
const AGENTC_UNLOCK = 23;

function lockMessage(type: number, passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string') throw new TypeError('passphrase: expected a string');
  const secret = utf8(passphrase);
  const msg = new Writer(secret.length + 8).byte(type).string(secret).toBytes();
  secret.fill(0);
  return msg;
}

/** An agent client for `path` (default $SSH_AUTH_SOCK); null when no agent is configured. */
export function agentFromEnv(path?: string | null): SSHAgentClient | null {
  if (path === null) return null;
  const p = path ?? process.env.SSH_AUTH_SOCK;
  return p ? new SSHAgentClient(p) : null;
}
