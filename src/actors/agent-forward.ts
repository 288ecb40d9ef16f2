/**
 * ssh-agent forwarding (OpenSSH PROTOCOL, "auth-agent@openssh.com"):
 *
 * - client: asks for forwarding on each session (auth-agent-req@openssh.com)
 *   and serves the auth-agent@openssh.com channels the server then opens by
 *   relaying them to the local agent socket. Channels nobody asked for are
 *   refused.
 * - server: a session that accepted the request gets a UNIX socket in a
 *   private temp dir (proc.agentPath); each connection to it opens an
 *   auth-agent@openssh.com channel to the client. The dir is removed when the
 *   session closes.
 *
 * Traffic from the untrusted side of each relay goes through AgentMessageGuard,
 * which checks the agent framing and caps each message at AGENT_MAX_MESSAGE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { AgentFramer } from '../protocol/agent-messages.js';
import { OpenFailure } from '../protocol/messages.js';
import type { ConnectionActor } from './connection-actor.js';
import { acceptForwardChannel, openForwardChannel, type ForwardChannelInfo } from './forward-channel.js';
import { dialUnix } from './forward-pipe.js';

export const AGENT_CHANNEL = 'auth-agent@openssh.com';
export const AGENT_REQUEST = 'auth-agent-req@openssh.com';

const INFO: ForwardChannelInfo = { channelType: AGENT_CHANNEL, destHost: '', destPort: 0, origHost: '', origPort: 0 };

/** Passes bytes on unchanged while they form agent messages within the size cap; errors otherwise. */
export class AgentMessageGuard extends Transform {
  private readonly framer = new AgentFramer();

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.framer.push(chunk);
    } catch (err) {
      return cb(err as Error);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    cb(this.framer.pending === 0 ? null : new Error('agent stream ended inside a message'));
  }
}

/** Joins an agent-side socket and a channel; bytes from the channel are checked by the guard. */
function relay(local: Socket, chan: ReturnType<typeof acceptForwardChannel>): void {
  const guard = new AgentMessageGuard();
  guard.on('error', () => {
    chan.destroy();
    local.destroy();
  });
  // channel -> guard -> local agent; local agent -> channel.
  const fromChannel = chan.pipe(guard);
  fromChannel.pipe(local);
  local.pipe(chan);
  chan.once('channelClose', () => local.destroy());
  chan.on('error', () => local.destroy());
  local.on('error', () => chan.destroy());
  local.once('close', () => {
    if (!chan.writableEnded) chan.destroy();
  });
}

/**
 * Client side: forwarding of the agent at `agentPath` for this connection.
 * Registers the session request and returns the channel-open handler.
 */
export function requestAgentForwarding(actor: ConnectionActor, agentPath: string): (id: number) => void {
  actor.sessionPreludes.push(() => ({ requestType: AGENT_REQUEST, data: new Uint8Array(0) }));
  return (id) => {
    const chan = acceptForwardChannel(actor, id, INFO);
    dialUnix(agentPath).then(
      (sock) => relay(sock, chan),
      () => chan.destroy(),
    );
  };
}

/** Client side, actor context: an auth-agent channel we did not ask for. */
export function refuseAgentChannel(actor: ConnectionActor, id: number): void {
  actor.core.connection.rejectChannel(id, OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'agent forwarding not requested');
}

/** Server side: the forwarded agent socket of one session. */
export class ServerAgentListener {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly server: Server,
  ) {}

  /** Listens on a fresh socket in a private (0700) temp dir; connections become agent channels on `actor`. */
  static async start(actor: ConnectionActor): Promise<ServerAgentListener> {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-agent-'));
    const path = join(dir, 'agent.sock');
    const server = createServer({ allowHalfOpen: true }, (sock) => {
      // The local side is the application's (untrusted as far as the client's agent goes).
      openForwardChannel(actor, AGENT_CHANNEL, new Uint8Array(0), INFO).then(
        (chan) => {
          const guard = new AgentMessageGuard();
          guard.on('error', () => {
            sock.destroy();
            chan.destroy();
          });
          sock.pipe(guard).pipe(chan);
          chan.pipe(sock);
          chan.once('channelClose', () => sock.destroy());
          chan.on('error', () => sock.destroy());
          sock.on('error', () => chan.destroy());
          sock.once('close', () => {
            if (!chan.writableEnded) chan.destroy();
          });
        },
        () => sock.destroy(),
      );
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const listener = new ServerAgentListener(path, dir, server);
    void actor.waitClosed().then(() => listener.close());
    return listener;
  }

  /** Stops listening and removes the socket and its dir. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
