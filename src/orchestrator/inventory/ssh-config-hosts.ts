/**
 * Host entries of an OpenSSH client config (`~/.ssh/config`): every literal
 * name on a `Host` line (patterns with `*`, `?` or `!` are skipped) with the
 * HostName, Port, User and ProxyJump of its block. Full ssh_config semantics
 * (first match wins across blocks, Match, Include) belong to connect().
 */
import type { HostSpec } from '../types.js';
import { parsePort } from '../target.js';
import { InventoryError } from './inventory-error.js';

interface Block {
  names: string[];
  line: number;
  settings: Map<string, { value: string; line: number }>;
}

export function parseSshConfigHosts(text: string, file: string): HostSpec[] {
  const blocks: Block[] = [];
  let current: Block | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) throw new InventoryError(file, n, `expected "Keyword value", got ${JSON.stringify(line)}`);
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    if (key === 'host') {
      const names = value.split(/\s+/).filter((x) => x !== '' && !/[*?!]/.test(x));
      current = { names, line: n, settings: new Map() };
      blocks.push(current);
    } else if (key === 'match') {
      current = null;
    } else if (current && !current.settings.has(key)) {
      current.settings.set(key, { value, line: n });
    }
  });
  const out: HostSpec[] = [];
  const seen = new Set<string>();
  for (const b of blocks) {
    for (const name of b.names) {
      if (seen.has(name)) continue;
      seen.add(name);
      const get = (k: string): { value: string; line: number } | undefined => b.settings.get(k);
      const hostName = get('hostname')?.value.replace(/%h/g, name) ?? name;
      const spec: HostSpec = { name, host: hostName };
      const port = get('port');
      if (port) {
        try {
          spec.port = parsePort(port.value, `Port for ${name}`);
        } catch (err) {
          throw new InventoryError(file, port.line, (err as Error).message);
        }
      }
      const user = get('user');
      if (user) spec.username = user.value;
      const jump = get('proxyjump');
      if (jump && jump.value.toLowerCase() !== 'none') spec.jump = jump.value.split(',')[0]!;
      out.push(spec);
    }
  }
  return out;
}
