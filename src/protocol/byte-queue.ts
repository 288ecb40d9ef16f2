/**
 * A FIFO of received byte chunks that hands out exact-length slices: a view
 * into one chunk when the slice lies inside it, a copy when it spans chunks.
 * Shared by every length-prefixed framer (SSH packets, SFTP messages).
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Removes and returns the first n bytes (n <= length). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** The first n bytes (n <= length), without removing them. */
  peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (o === n) break;
    }
    return out;
  }

  private skip(n: number): void {
    this.size -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        n -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}
