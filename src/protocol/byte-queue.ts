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

  /**
   * Removes and returns the first n bytes (n <= length): a view into one
   * chunk when they lie inside it, else a view of `scratch` (length >= n)
   * they were copied into, valid until the caller reuses `scratch`.
   */
  takeInto(n: number, scratch: Uint8Array): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) out = first.subarray(0, n);
    else {
      out = scratch.subarray(0, n);
      this.copyTo(out);
    }
    this.skip(n);
    return out;
  }

  /** Replaces the queued chunks by one copy, so no pushed memory is referenced. */
  own(): void {
    if (this.size === 0) return;
    const copy = new Uint8Array(this.size);
    this.copyTo(copy);
    this.chunks = [copy];
  }

  /** True when the first n bytes (n <= length) lie inside one chunk. */
  contiguous(n: number): boolean {
    return this.chunks[0]!.length >= n;
  }

  /** The first n bytes (n <= length), without removing them. */
  peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    this.copyTo(out);
    return out;
  }

  /** Copies the first out.length bytes into out. */
  private copyTo(out: Uint8Array): void {
    const n = out.length;
    let o = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (o === n) break;
    }
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
