/**
 * How a run is shown: grouped per-host blocks (default), pdsh-style inline
 * lines, JSON lines per host or per event, per-host output files. Remote
 * text and error messages are neutralised before they reach a terminal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostEvent, HostResult } from '../orchestrator/types.js';
import type { FleetSummary } from '../orchestrator/fleet.js';
import { neutralize, safeFileName } from './sanitize.js';

export interface Writer {
  write(text: string): unknown;
}

export interface Reporter {
  onEvent(e: HostEvent): void;
  onSummary(s: FleetSummary): void;
}

function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

function colour(on: boolean, code: number, text: string): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** One status line describing how a host ended. */
export function describeResult(r: HostResult): string {
  if (r.error) {
    const what = r.error.kind === 'timeout' && r.error.phase ? `timeout (${r.error.phase})` : r.error.kind;
    return `${what}: ${neutralize(r.error.message)}`;
  }
  if (r.exitSignal !== null) return `killed by signal ${neutralize(r.exitSignal)}`;
  return `exit status ${r.exitStatus}`;
}

function indentBlock(text: string): string {
  const t = neutralize(text);
  return t.endsWith('\n') ? t : t + '\n';
}

/** pssh -i style: a block per host as it finishes. */
export class GroupedReporter implements Reporter {
  private n = 0;
  constructor(
    private readonly out: Writer,
    private readonly opts: { colour: boolean; showOutput: boolean; now?: () => Date } = { colour: false, showOutput: true },
  ) {}

  onEvent(e: HostEvent): void {
    if (e.type !== 'done') return;
    const r = e.result;
    this.n += 1;
    const ok = r.outcome === 'succeeded';
    const tag = ok ? colour(this.opts.colour, 32, '[SUCCESS]') : colour(this.opts.colour, 31, '[FAILURE]');
    let text = `[${this.n}] ${clock((this.opts.now ?? (() => new Date()))())} ${tag} ${neutralize(r.host)}`;
    text += ok ? '\n' : ` ${describeResult(r)}\n`;
    if (this.opts.showOutput) {
      if (r.stdout) text += indentBlock(r.stdout);
      if (r.stderr) text += colour(this.opts.colour, 33, 'Stderr: ') + indentBlock(r.stderr);
    }
    this.out.write(text);
  }

  onSummary(s: FleetSummary): void {
    const kinds = Object.entries(s.errors)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    this.out.write(
      `${s.total} hosts: ${s.succeeded} succeeded, ${s.failed} failed, ${s.unreachable} unreachable` +
        (s.aborted ? `, ${s.aborted} aborted` : '') +
        (kinds ? ` (${kinds})` : '') +
        ` in ${(s.durationMs / 1000).toFixed(2)} s\n`,
    );
  }
}

/** pdsh style: `host: line` as lines arrive (run with lines: true). */
export class InlineReporter implements Reporter {
  constructor(private readonly out: Writer, private readonly err: Writer) {}
  onEvent(e: HostEvent): void {
    if (e.type === 'stdout') this.out.write(`${neutralize(e.host)}: ${neutralize(e.data)}\n`);
    else if (e.type === 'stderr') this.err.write(`${neutralize(e.host)}: ${neutralize(e.data)}\n`);
    else if (e.type === 'done' && e.result.outcome !== 'succeeded') this.err.write(`${neutralize(e.host)}: [FAILURE] ${describeResult(e.result)}\n`);
  }
  onSummary(s: FleetSummary): void {
    new GroupedReporter(this.err).onSummary(s);
  }
}

/** JSON lines: one per host result (`hosts`) or one per event (`events`); a summary line last. */
export class JsonReporter implements Reporter {
  constructor(private readonly out: Writer, private readonly mode: 'hosts' | 'events') {}
  onEvent(e: HostEvent): void {
    if (this.mode === 'events') this.out.write(JSON.stringify(e) + '\n');
    else if (e.type === 'done') this.out.write(JSON.stringify(e.result) + '\n');
  }
  onSummary(s: FleetSummary): void {
    this.out.write(JSON.stringify({ type: 'summary', ...s }) + '\n');
  }
}

/** `-o DIR`: DIR/<host>.out and DIR/<host>.err (raw bytes as received, as text), written when the host is done. */
export class OutdirReporter implements Reporter {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  onEvent(e: HostEvent): void {
    if (e.type !== 'done') return;
    const base = join(this.dir, safeFileName(e.host));
    writeFileSync(base + '.out', e.result.stdout);
    if (e.result.stderr) writeFileSync(base + '.err', e.result.stderr);
  }
  onSummary(): void {}
}

/** Fan-out to several reporters. */
export class Reporters implements Reporter {
  constructor(private readonly list: Reporter[]) {}
  onEvent(e: HostEvent): void {
    for (const r of this.list) r.onEvent(e);
  }
  onSummary(s: FleetSummary): void {
    for (const r of this.list) r.onSummary(s);
  }
}
