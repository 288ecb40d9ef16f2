/**
 * TCP reads into one reused buffer (net's `onread` option) instead of a new
 * allocation per read. Bulk receive otherwise allocates a read buffer
 * for every ~64 KiB and the scavenges that this external memory triggers are
 * a large share of a download's client CPU.
 *
 * A lent chunk is valid only until the receiver returns: the receiver must
 * copy whatever it keeps (the transport does so for the bytes of a packet it
 * has not completed yet, and copies the whole chunk while it cannot open
 * packets into new memory).
 */
import { connect as netConnect, type Socket, type TcpNetConnectOpts } from 'node:net';

/**
 * Up to this much per read: a 256 MiB SFTP get ran 5-15 % faster with
 * 11-5 % less client CPU per MiB than with 64 KiB (two swapped A/B runs of
 * 4 rounds, load-tests/README.md session 5), from fewer reads and fewer,
 * longer passes through the transport per event-loop turn.
 */
const READ_BUFFER = 256 * 1024;
// One buffer for every lending socket: reads run one at a time on the event
// loop and each chunk is consumed before its callback returns, so sockets
// need not have their own (10,000 connections would hold 2.5 GB of them).
let shared: Buffer | null = null;
const ATTACH = Symbol('fleetssh.lentReads');

/** receive(chunk, lent): lent = the chunk's memory is reused after the call. */
export type LentReceiver = (chunk: Uint8Array, lent: boolean) => void;

type Lending = Socket & { [ATTACH]?: (receive: LentReceiver) => void };

/** net.connect() whose reads are lent to the receiver given to attachLentReads(). */
export function connectLending(options: TcpNetConnectOpts): Socket {
  let receiver: LentReceiver | null = null;
  // Reads that arrive before a receiver is attached are kept as copies.
  const early: Uint8Array[] = [];
  const socket: Lending = netConnect({
    ...options,
    onread: {
      buffer: (shared ??= Buffer.allocUnsafe(READ_BUFFER)),
      callback: (n: number, buf: Uint8Array): boolean => {
        const chunk = buf.subarray(0, n);
        if (receiver) receiver(chunk, true);
        else early.push(new Uint8Array(chunk));
        return true;
      },
    },
  });
  socket[ATTACH] = (receive) => {
    receiver = receive;
    for (const c of early.splice(0)) receive(c, false);
  };
  return socket;
}

/**
 * Attaches `receive` to a socket made by connectLending() and returns true;
 * false for any other stream (whose reads come as 'data' events).
 */
export function attachLentReads(socket: object, receive: LentReceiver): boolean {
  const attach = (socket as Lending)[ATTACH];
  if (!attach) return false;
  attach(receive);
  return true;
}
