/**
 * Hosts files: one `[user@]host[:port] [user] [jump=[user@]bastion[:port]]`
 * a line, `#` comments, pdsh or Ansible ranges in names. Also the same
 * syntax (without the extra columns) for `-H` arguments.
 */
import { parseTarget } from '../target.js';
import type { HostSpec } from '../types.js';
import { expandHostPattern } from './host-ranges.js';
import { InventoryError } from './inventory-error.js';

/** Strips a `#` comment that starts a line or follows whitespace. */
export function stripComment(line: string): string {
  const m = /(^|\s)#/.exec(line);
  return (m ? line.slice(0, m.index) : line).trim();
}

/** HostSpecs for `[user@]host[:port]` entries (ranges expanded); `name` is host or host:port. */
export function specsFromEntry(entry: string, fallbackUser?: string): HostSpec[] {
  return expandHostPattern(entry).map((one) => {
    const t = parseTarget(one);
    const spec: HostSpec = { name: t.port !== undefined ? `${t.host}:${t.port}` : t.host, host: t.host };
    if (t.port !== undefined) spec.port = t.port;
    const user = t.username ?? fallbackUser;
    if (user !== undefined) spec.username = user;
    return spec;
  });
}

/** Adds specs, keeping the first of each name. */
export function addUnique(out: HostSpec[], seen: Set<string>, specs: HostSpec[]): void {
  for (const s of specs) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    out.push(s);
  }
}

/** Splits `a,b c` on commas and spaces, except inside `[...]` ranges. */
export function splitList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '[') depth += 1;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    if (depth === 0 && (ch === ',' || /\s/.test(ch))) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}

export function hostsFromStrings(entries: readonly string[]): HostSpec[] {
  const out: HostSpec[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    for (const part of splitList(e)) addUnique(out, seen, specsFromEntry(part));
  }
  return out;
}

export function parseHostsFile(text: string, file: string): HostSpec[] {
  const out: HostSpec[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = stripComment(raw);
    if (line === '') return;
    const all = line.split(/\s+/);
    const jumps = all.filter((f) => /^(?:jump|proxyjump)=/i.test(f));
    const fields = all.filter((f) => !jumps.includes(f));
    if (fields.length === 0 || fields.length > 2 || jumps.length > 1)
      throw new InventoryError(file, i + 1, `expected "[user@]host[:port] [user] [jump=BASTION]", got ${JSON.stringify(line)}`);
    const jump = jumps[0]?.slice(jumps[0].indexOf('=') + 1);
    if (jump === '') throw new InventoryError(file, i + 1, 'empty jump= value');
    try {
      const specs = specsFromEntry(fields[0]!, fields[1]);
      if (jump !== undefined && jump.toLowerCase() !== 'none') for (const s of specs) s.jump = jump;
      addUnique(out, seen, specs);
    } catch (err) {
      throw new InventoryError(file, i + 1, (err as Error).message);
    }
  });
  return out;
}
