/**
 * A sealed packet's wire bytes as a few pieces rather than one buffer: the
 * ciphertext of a large part (channel data) stays in the buffer node:crypto
 * returned it in, and the small runs around it (length, header, padding, tag)
 * are joined. The pieces go to the socket together in one writev, so the
 * 32 KiB copy into a joined packet (and its allocation) is saved.
 */

/** Pieces at least this long are kept as they are; shorter runs are joined. */
const LARGE_PIECE = 4096;

export class WirePieces {
  private readonly pieces: Uint8Array[] = [];
  private run: Uint8Array[] = [];
  private runLength = 0;
  total = 0;

  /** Appends the next wire bytes; `bytes` must not change afterwards. */
  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.total += bytes.length;
    if (bytes.length >= LARGE_PIECE) {
      this.flush();
      this.pieces.push(bytes);
      return;
    }
    this.run.push(bytes);
    this.runLength += bytes.length;
  }

  finish(): Uint8Array[] {
    this.flush();
    return this.pieces;
  }

  private flush(): void {
    if (this.run.length === 1) this.pieces.push(this.run[0]!);
    else if (this.run.length > 1) {
      // Every byte is written below, so the buffer need not be zeroed.
      const joined = Buffer.allocUnsafe(this.runLength);
      let o = 0;
      for (const r of this.run) {
        joined.set(r, o);
        o += r.length;
      }
      this.pieces.push(joined);
    }
    this.run = [];
    this.runLength = 0;
  }
}
