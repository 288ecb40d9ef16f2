/**
 * Writes to a stream in batches of one event-loop turn: the first write of
 * a turn corks the Writable and a setImmediate callback uncorks it, so every
 * packet queued while handling the I/O of one turn (a burst of replies, the
 * file-system completions of many files, a pipeline of requests) reaches the
 * stream as one writev. Used by both ends of SFTP.
 */
import type { Writable } from 'node:stream';

export class TickWriter {
  private corked = false;

  constructor(private readonly writable: Writable) {}

  write(...parts: Uint8Array[]): void {
    if (!this.corked) {
      this.corked = true;
      this.writable.cork();
      setImmediate(() => {
        this.corked = false;
        this.writable.uncork();
      });
    }
    for (const p of parts) this.writable.write(p);
  }
}
