/**
 * The live progress line: done / failed / running, rate and ETA. `render`
 * is a pure function of the counts and the clock, so it is tested without a
 * terminal; ProgressBar owns the redraw on a TTY stream.
 */

export interface ProgressCounts {
  total: number;
  succeeded: number;
  failed: number;
  unreachable: number;
  running: number;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function renderProgress(c: ProgressCounts, elapsedMs: number, width = 80): string {
  const done = c.succeeded + c.failed + c.unreachable;
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? done / secs : 0;
  const eta = done === c.total ? 0 : rate > 0 ? (c.total - done) / rate : Infinity;
  const stats = ` ${done}/${c.total} ok ${c.succeeded} failed ${c.failed} unreachable ${c.unreachable} running ${c.running} ${rate.toFixed(1)}/s ETA ${duration(eta)}`;
  const barWidth = Math.max(10, Math.min(40, width - stats.length - 3));
  const filled = c.total === 0 ? barWidth : Math.round((done / c.total) * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${stats}`.slice(0, Math.max(20, width - 1));
}

export interface ProgressSink {
  write(text: string): unknown;
  columns?: number;
}

export class ProgressBar {
  private timer: ReturnType<typeof setInterval> | null = null;
  private shown = false;
  private readonly t0: number;

  constructor(
    private readonly out: ProgressSink,
    private readonly counts: () => ProgressCounts,
    private readonly now: () => number = Date.now,
    intervalMs = 100,
  ) {
    this.t0 = now();
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  draw(): void {
    this.out.write(`\r\x1b[2K${renderProgress(this.counts(), this.now() - this.t0, this.out.columns || 80)}`);
    this.shown = true;
  }

  /** Removes the line (call before printing anything else, then draw()). */
  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.draw();
    this.out.write('\n');
  }
}
