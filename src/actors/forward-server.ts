/**
 * The server side of forwarding for one connection: direct-tcpip and
 * direct-streamlocal channels (dial out and join), tcpip-forward and
 * streamlocal-forward requests (listen here, and open forwarded-* channels
 * back to the client), their cancel requests, and the handler's policy.
 *
 * Defaults are OpenSSH's with AllowTcpForwarding yes, AllowStreamLocalForwarding
 * yes and GatewayPorts no: everything is allowed, remote listeners bind
 * loopback unless `gatewayPorts` or the handler says otherwise. Every listener
 * is closed when the connection closes.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { OpenFailure } from '../protocol/messages.js';
import { decodeTcpipForward, encodeForwardPort } from '../protocol/global-requests.js';
import { decodeTcpipChannelData, encodeTcpipChannelData } from '../protocol/session-requests.js';
import type { AuthorizedKeyEntry } from '../protocol/authorized-keys.js';
import { certificatePermissionOf, type ServerAuthState } from './server-auth.js';
import type { ConnectionActor, GlobalRequestAnswer } from './connection-actor.js';
import { acceptForwardChannel, openForwardChannel, type ForwardChannelInfo } from './forward-channel.js';
import { dialTcp, dialUnix, LocalListener, pipeForward } from './forward-pipe.js';
import {
  CANCEL_STREAMLOCAL_FORWARD,
  DIRECT_STREAMLOCAL,
  FORWARDED_STREAMLOCAL,
  STREAMLOCAL_FORWARD,
  decodeDirectStreamlocal,
  decodeStreamlocalForward,
  encodeForwardedStreamlocal,
} from '../protocol/streamlocal.js';

/** A connection decision: false refuses, true dials the destination, a Duplex is joined instead. */
export type ConnectionDecision = boolean | Duplex;
/** A listen decision: false refuses, true binds (loopback unless gatewayPorts), or the address to bind. */
export type ListenDecision = boolean | { listenHost: string };

/** Forwarding policy methods of the server handler; each may return a promise. */
export interface ServerForwardHandler<C> {
  connectionRequested?(destHost: string, destPort: number, origHost: string, origPort: number, conn: C): ConnectionDecision | Promise<ConnectionDecision>;
  serverRequested?(listenHost: string, listenPort: number, conn: C): ListenDecision | Promise<ListenDecision>;
  unixConnectionRequested?(destPath: string, conn: C): ConnectionDecision | Promise<ConnectionDecision>;
  unixServerRequested?(listenPath: string, conn: C): boolean | Promise<boolean>;
}

export interface ServerForwardOptions {
  /** Let clients bind remote listeners on non-loopback addresses (OpenSSH GatewayPorts yes). Default false. */
  gatewayPorts?: boolean;
  /** Allow TCP forwarding at all (OpenSSH AllowTcpForwarding). Default true. */
  allowTcpForwarding?: boolean;
  /** Allow UNIX socket forwarding at all (OpenSSH AllowStreamLocalForwarding). Default true. */
  allowStreamLocalForwarding?: boolean;
}

const ANY_ADDRESS = new Set(['', '*', '0.0.0.0', '::']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** Where a remote listener binds: loopback unless gateway ports are allowed. */
export function bindAddress(requested: string, gatewayPorts: boolean): string {
  if (LOOPBACK.has(requested)) return requested === 'localhost' ? '127.0.0.1' : requested;
  if (!gatewayPorts) return '127.0.0.1';
  return ANY_ADDRESS.has(requested) ? '' : requested;
}

/** "host:port" / "[v6]:port" from permitopen/permitlisten; port "*" is any. */
function splitHostPort(spec: string): { host: string | null; port: string } {
  const v6 = /^\[([^\]]*)\]:(.+)$/.exec(spec);
  if (v6) return { host: v6[1]!, port: v6[2]! };
  const i = spec.lastIndexOf(':');
  return i < 0 ? { host: null, port: spec } : { host: spec.slice(0, i), port: spec.slice(i + 1) };
}

/**
 * What the authorized_keys entry the client's key matched allows (sshd(8)):
 * no-port-forwarding (or restrict) refuses all TCP and streamlocal forwarding,
 * permitopen limits direct-tcpip destinations, permitlisten limits remote
 * listeners ("[host:]port", "*" = any port). No entry = no restriction.
 */
export function keyAllows(entry: AuthorizedKeyEntry | null, what: { open: [string, number] } | { listen: [string, number] } | 'streamlocal'): boolean {
  if (!entry) return true;
  if (!entry.options.permissions['port-forwarding']) return false;
  if (what === 'streamlocal') return true;
  const [host, port] = 'open' in what ? what.open : what.listen;
  const list = 'open' in what ? entry.options.permitOpen : entry.options.permitListen;
  if (list.length === 0) return true;
  return list.some((spec) => {
    if (spec === 'none') return false;
    const p = splitHostPort(spec);
    const portOk = p.port === '*' || Number(p.port) === port;
    const hostOk = p.host === null || p.host === '*' || p.host.toLowerCase() === host.toLowerCase();
    return portOk && hostOk;
  });
}

export class ServerForwarding<C> {
  private readonly tcpListeners = new Map<string, LocalListener>();
  private readonly unixListeners = new Map<string, LocalListener>();

  constructor(
    private readonly actor: ConnectionActor,
    private readonly handler: ServerForwardHandler<C>,
    private readonly options: ServerForwardOptions,
    private readonly conn: () => C,
  ) {
    actor.once('close', () => this.closeAll());
  }

  /** The matched authorized_keys entry, when the server connection keeps one (server-auth.ts). */
  private keyEntry(): AuthorizedKeyEntry | null {
    const c = this.conn() as { authState?: { matched?: AuthorizedKeyEntry | null } | null };
    return c?.authState?.matched ?? null;
  }

  /**
   * What the key's options allow (keyAllows), and, after certificate
   * authentication, only when the certificate has permit-port-forwarding,
   * as sshd requires for every kind of forwarding.
   */
  private allowed(what: Parameters<typeof keyAllows>[1]): boolean {
    const c = this.conn() as { authState?: ServerAuthState | null };
    return keyAllows(this.keyEntry(), what) && certificatePermissionOf(c?.authState ?? null, 'port-forwarding');
  }

  /** Whether this class answers channel opens of `type`. */
  handlesChannel(type: string): boolean {
    return type === 'direct-tcpip' || type === DIRECT_STREAMLOCAL;
  }

  /** Actor context: an incoming direct-tcpip / direct-streamlocal channel. */
  channelOpen(id: number, type: string, typeData: Uint8Array): void {
    const refuse = (reason: number, text: string): void => this.actor.rejectChannel(id, reason, text);
    let info: ForwardChannelInfo;
    let decide: () => ConnectionDecision | Promise<ConnectionDecision>;
    let dial: () => Promise<Socket>;
    try {
      if (type === 'direct-tcpip') {
        if (this.options.allowTcpForwarding === false) return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'TCP forwarding disabled');
        const d = decodeTcpipChannelData(typeData, 'direct-tcpip');
        if (!this.allowed({ open: [d.host, d.port] })) return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'not permitted by the key\'s options or certificate');
        info = { channelType: type, destHost: d.host, destPort: d.port, origHost: d.originatorAddress, origPort: d.originatorPort };
        decide = () => this.handler.connectionRequested?.(d.host, d.port, d.originatorAddress, d.originatorPort, this.conn()) ?? true;
        dial = () => dialTcp(d.host, d.port);
      } else {
        if (this.options.allowStreamLocalForwarding === false) return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'streamlocal forwarding disabled');
        const path = decodeDirectStreamlocal(typeData);
        if (!this.allowed('streamlocal')) return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'not permitted by the key\'s options or certificate');
        info = { channelType: type, destHost: path, destPort: 0, origHost: '', origPort: 0 };
        decide = () => this.handler.unixConnectionRequested?.(path, this.conn()) ?? true;
        dial = () => dialUnix(path);
      }
    } catch (err) {
      return refuse(OpenFailure.CONNECT_FAILED, `malformed ${type} request: ${(err as Error).message}`);
    }
    void (async () => {
      let decision: ConnectionDecision;
      try {
        decision = await decide();
      } catch {
        decision = false;
      }
      if (decision === false || decision === undefined || decision === null) {
        return refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'forwarding refused');
      }
      let local: Duplex;
      if (decision === true) {
        try {
          local = await dial();
        } catch (err) {
          return refuse(OpenFailure.CONNECT_FAILED, `connect to ${info.destHost}${info.destPort ? `:${info.destPort}` : ''} failed: ${(err as Error).message}`);
        }
      } else {
        local = decision;
      }
      this.actor.channelCall(() => pipeForward(local, acceptForwardChannel(this.actor, id, info)));
      // A connection that closed meanwhile never runs the call above.
      if (this.actor.closed) local.destroy();
    })();
  }

  /** Any context: answers forwarding global requests; undefined = not a forwarding request. */
  globalRequest(name: string, data: Uint8Array): GlobalRequestAnswer | Promise<GlobalRequestAnswer> | undefined {
    switch (name) {
      case 'tcpip-forward':
        return this.listenTcp(data);
      case 'cancel-tcpip-forward': {
        const { address, port } = decodeTcpipForward(data);
        const key = `${address}\0${port}`;
        const l = this.tcpListeners.get(key);
        if (!l) return false;
        this.tcpListeners.delete(key);
        return l.close().then(() => true);
      }
      case STREAMLOCAL_FORWARD:
        return this.listenUnix(data);
      case CANCEL_STREAMLOCAL_FORWARD: {
        const path = decodeStreamlocalForward(data);
        const l = this.unixListeners.get(path);
        if (!l) return false;
        this.unixListeners.delete(path);
        return l.close().then(() => true);
      }
      default:
        return undefined;
    }
  }

  private async listenTcp(data: Uint8Array): Promise<GlobalRequestAnswer> {
    if (this.options.allowTcpForwarding === false) return false;
    const { address, port } = decodeTcpipForward(data);
    if (port > 65535 || !this.allowed({ listen: [address, port] })) return false;
    const decision = (await this.handler.serverRequested?.(address, port, this.conn())) ?? true;
    if (decision === false) return false;
    const host = typeof decision === 'object' && decision !== null ? decision.listenHost : bindAddress(address, this.options.gatewayPorts === true);
    if (this.actor.closed) return false;
    let listener: LocalListener;
    try {
      listener = await LocalListener.listen({ host, port }, (sock) => this.forwardBack(sock, 'forwarded-tcpip', address, listener.port));
    } catch {
      return false;
    }
    if (this.actor.closed) {
      void listener.close();
      return false;
    }
    // Requests for port 0 are told the port; the client names this listener by it.
    const key = `${address}\0${port === 0 ? listener.port : port}`;
    this.tcpListeners.get(key)?.close();
    this.tcpListeners.set(key, listener);
    return port === 0 ? { ok: true, data: encodeForwardPort(listener.port) } : true;
  }

  private async listenUnix(data: Uint8Array): Promise<GlobalRequestAnswer> {
    if (this.options.allowStreamLocalForwarding === false) return false;
    const path = decodeStreamlocalForward(data);
    if (!this.allowed('streamlocal')) return false;
    const ok = (await this.handler.unixServerRequested?.(path, this.conn())) ?? true;
    if (ok !== true || this.actor.closed || this.unixListeners.has(path)) return false;
    let listener: LocalListener;
    try {
      listener = await LocalListener.listen({ path }, (sock) => this.forwardBack(sock, FORWARDED_STREAMLOCAL, path, 0));
    } catch {
      return false;
    }
    if (this.actor.closed) {
      void listener.close();
      return false;
    }
    this.unixListeners.set(path, listener);
    return true;
  }

  /** A connection to one of our listeners: a forwarded-* channel back to the client. */
  private forwardBack(sock: Socket, type: string, address: string, port: number): void {
    const origHost = sock.remoteAddress ?? '';
    const origPort = sock.remotePort ?? 0;
    const typeData =
      type === 'forwarded-tcpip'
        ? encodeTcpipChannelData({ host: address, port, originatorAddress: origHost, originatorPort: origPort })
        : encodeForwardedStreamlocal(address);
    const info: ForwardChannelInfo = { channelType: type, destHost: address, destPort: port, origHost, origPort };
    openForwardChannel(this.actor, type, typeData, info).then(
      (chan) => pipeForward(sock, chan),
      () => sock.destroy(),
    );
  }

  private closeAll(): void {
    for (const l of new Set([...this.tcpListeners.values(), ...this.unixListeners.values()])) void l.close();
    this.tcpListeners.clear();
    this.unixListeners.clear();
  }
}
