/**
 * Named timers of one connection. Every timer is unref'd (the socket keeps the
 * process alive while the connection is open) and clearAll() runs on close, so
 * nothing of a closed connection keeps the process alive.
 */
const MAX_DELAY = 2 ** 31 - 1;

export class TimerSet {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private disposed = false;

  /** (Re)arms the timer `name` to call fn once after ms milliseconds. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    if (this.disposed) return;
    const delay = Math.min(Math.max(0, Math.ceil(ms)), MAX_DELAY);
    const t = setTimeout(() => {
      if (this.timers.get(name) === t) this.timers.delete(name);
      fn();
    }, delay);
    t.unref();
    this.timers.set(name, t);
  }

  clear(name: string): void {
    const t = this.timers.get(name);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(name);
    }
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  get size(): number {
    return this.timers.size;
  }

  /** Clears every timer; later set() calls are ignored. */
  clearAll(): void {
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
