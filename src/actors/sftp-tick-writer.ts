/**
 * Writes to a stream in batches of one tick: the first write of a tick
 * corks the Writable and a next-tick callback uncorks it, so every packet
 * queued while handling one event (a burst of replies, a pipeline of
 * requests) reaches the stream as one writev. Used by both ends of SFTP.
 */
import type { Writable } from 'node:stream';

export class TickWriter {
  private corked = false;

  constructor(private readonly writable: Writable) {}

  write(...parts: Uint8Array[]): void {
    if (!this.corked) {
      this.corked = true;
      this.writable.cork();
      process.nextTick(() => {
        this.corked = false;
        this.writable.uncork();
      });
    }
    for (const p of parts) this.writable.write(p);
  }
}
