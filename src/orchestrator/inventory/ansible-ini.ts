/**
 * Ansible INI inventories: host lines with `key=value` vars, `[group]`,
 * `[group:vars]` and `[group:children]` sections, `#`/`;` comments.
 */
import type { HostSpec } from '../types.js';
import { AnsibleInventory } from './ansible-model.js';
import { InventoryError } from './inventory-error.js';

/** Splits on whitespace, keeping quoted runs together (quotes removed). */
function tokens(line: string, file: string, lineNo: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur !== '' || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (quote) throw new InventoryError(file, lineNo, `unclosed ${quote} quote`);
  if (cur !== '' || any) out.push(cur);
  return out;
}

function stripIniComment(line: string): string {
  const t = line.trim();
  if (t.startsWith('#') || t.startsWith(';')) return '';
  const m = /\s[#;]/.exec(line);
  return (m ? line.slice(0, m.index) : line).trim();
}

function keyValue(tok: string, file: string, lineNo: number): [string, string] {
  const eq = tok.indexOf('=');
  if (eq <= 0) throw new InventoryError(file, lineNo, `expected key=value, got ${JSON.stringify(tok)}`);
  return [tok.slice(0, eq), tok.slice(eq + 1)];
}

export function parseAnsibleIni(text: string, file: string): HostSpec[] {
  const inv = new AnsibleInventory(file);
  let section: { group: string; kind: 'hosts' | 'vars' | 'children' } = { group: 'ungrouped', kind: 'hosts' };
  text.split(/\r?\n/).forEach((raw, i) => {
    const n = i + 1;
    const line = stripIniComment(raw);
    if (line === '') return;
    if (line.startsWith('[')) {
      const m = /^\[([^\]:\s]+)(?::(vars|children|hosts))?\]$/.exec(line);
      if (!m) throw new InventoryError(file, n, `bad section header ${JSON.stringify(line)}`);
      section = { group: m[1]!, kind: (m[2] as 'vars' | 'children' | 'hosts' | undefined) ?? 'hosts' };
      inv.group(section.group, n);
      return;
    }
    const g = inv.group(section.group, n);
    if (section.kind === 'vars') {
      const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (!m) throw new InventoryError(file, n, `expected key=value in [${section.group}:vars], got ${JSON.stringify(line)}`);
      const v = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
      g.vars[m[1]!] = v;
      return;
    }
    if (section.kind === 'children') {
      if (/\s/.test(line)) throw new InventoryError(file, n, `expected one group name in [${section.group}:children]`);
      if (line === section.group) throw new InventoryError(file, n, `group ${line} cannot be its own child`);
      inv.group(line, n);
      g.children.add(line);
      return;
    }
    const [pattern, ...rest] = tokens(line, file, n);
    const vars: Record<string, string> = {};
    for (const tok of rest) {
      const [k, v] = keyValue(tok, file, n);
      vars[k] = v;
    }
    inv.addHosts(section.group, pattern!, vars, n);
  });
  return inv.resolve();
}
