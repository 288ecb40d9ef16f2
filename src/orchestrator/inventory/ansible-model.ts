/**
 * The Ansible inventory model shared by the INI, YAML and JSON readers:
 * groups with hosts, vars and children, resolved to HostSpecs. Variable
 * precedence: `all`, then groups by depth (parents before children, then by
 * name), then host vars. `ansible_host`/`_port`/`_user` (and their `_ssh_`
 * aliases) become the connect target; a ProxyJump in `ansible_ssh_common_args`
 * becomes the host's bastion.
 */
import type { HostSpec } from '../types.js';
import { parsePort } from '../target.js';
import { expandHostPattern } from './host-ranges.js';
import { InventoryError } from './inventory-error.js';

const aliases: Record<string, string> = {
  ansible_ssh_host: 'ansible_host',
  ansible_ssh_port: 'ansible_port',
  ansible_ssh_user: 'ansible_user',
};

/** Renames the `_ssh_` aliases so the more specific level wins whichever spelling it used. */
function normalized(vars: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars ?? {})) out[aliases[k] ?? k] = v;
  return out;
}

export interface AnsibleGroup {
  hosts: Map<string, Record<string, string>>;
  vars: Record<string, string>;
  children: Set<string>;
  line: number;
}

export class AnsibleInventory {
  readonly groups = new Map<string, AnsibleGroup>();
  /** First line each host was seen on (for error messages). */
  readonly hostLines = new Map<string, number>();

  constructor(readonly file: string) {
    this.group('all', 0);
  }

  group(name: string, line: number): AnsibleGroup {
    let g = this.groups.get(name);
    if (!g) {
      if (!/^[^\s:[\]]+$/.test(name)) throw new InventoryError(this.file, line, `bad group name ${JSON.stringify(name)}`);
      g = { hosts: new Map(), vars: {}, children: new Set(), line };
      this.groups.set(name, g);
    }
    return g;
  }

  /** Adds a host pattern (ranges expanded) with its vars to a group. */
  addHosts(group: string, pattern: string, vars: Record<string, string>, line: number): void {
    let names: string[];
    try {
      names = expandHostPattern(pattern);
    } catch (err) {
      throw new InventoryError(this.file, line, (err as Error).message);
    }
    const g = this.group(group, line);
    for (const n of names) {
      g.hosts.set(n, { ...g.hosts.get(n), ...vars });
      if (!this.hostLines.has(n)) this.hostLines.set(n, line);
    }
  }

  resolve(): HostSpec[] {
    const parents = new Map<string, Set<string>>();
    for (const [name, g] of this.groups) {
      for (const c of g.children) {
        if (!this.groups.has(c)) this.group(c, g.line);
        if (!parents.has(c)) parents.set(c, new Set());
        parents.get(c)!.add(name);
      }
    }
    const depth = new Map<string, number>();
    const visiting = new Set<string>();
    const depthOf = (name: string): number => {
      if (name === 'all') return 0;
      const known = depth.get(name);
      if (known !== undefined) return known;
      if (visiting.has(name)) throw new InventoryError(this.file, this.groups.get(name)?.line ?? 0, `group ${name} is its own ancestor`);
      visiting.add(name);
      let d = 1;
      for (const p of parents.get(name) ?? []) d = Math.max(d, depthOf(p) + 1);
      visiting.delete(name);
      depth.set(name, d);
      return d;
    };
    const ancestors = (name: string, acc: Set<string>): Set<string> => {
      if (acc.has(name)) return acc;
      acc.add(name);
      for (const p of parents.get(name) ?? []) ancestors(p, acc);
      return acc;
    };
    const hostGroups = new Map<string, Set<string>>();
    const hostVars = new Map<string, Record<string, string>>();
    for (const [gname, g] of this.groups) {
      for (const [h, vars] of g.hosts) {
        if (!hostGroups.has(h)) hostGroups.set(h, new Set());
        ancestors(gname, hostGroups.get(h)!);
        hostVars.set(h, { ...hostVars.get(h), ...vars });
      }
    }
    const out: HostSpec[] = [];
    for (const [h, groups] of hostGroups) {
      groups.add('all');
      const ordered = [...groups].sort((a, b) => depthOf(a) - depthOf(b) || a.localeCompare(b));
      const vars: Record<string, string> = {};
      for (const gname of ordered) Object.assign(vars, normalized(this.groups.get(gname)!.vars));
      Object.assign(vars, normalized(hostVars.get(h)));
      out.push(this.toSpec(h, vars, ordered.filter((x) => x !== 'all' && x !== 'ungrouped')));
    }
    return out;
  }

  private toSpec(name: string, vars: Record<string, string>, groups: string[]): HostSpec {
    const line = this.hostLines.get(name) ?? 0;
    const take = (...keys: string[]): string | undefined => {
      let v: string | undefined;
      for (const k of keys) {
        if (vars[k] !== undefined) v ??= vars[k];
        delete vars[k];
      }
      return v;
    };
    const spec: HostSpec = { name, host: take('ansible_host') ?? name, groups };
    const port = take('ansible_port');
    if (port !== undefined) {
      try {
        spec.port = parsePort(port, `ansible_port of ${name}`);
      } catch (err) {
        throw new InventoryError(this.file, line, (err as Error).message);
      }
    }
    const user = take('ansible_user');
    if (user !== undefined) spec.username = user;
    const own = take('fleetssh_jump');
    const jump = own ?? jumpFromSshArgs(`${vars['ansible_ssh_common_args'] ?? ''} ${vars['ansible_ssh_extra_args'] ?? ''}`);
    if (jump !== undefined && jump.toLowerCase() !== 'none') spec.jump = jump;
    if (Object.keys(vars).length > 0) spec.vars = vars;
    return spec;
  }
}

/**
 * The jump host in ssh arguments as Ansible users write them:
 * `-J bastion`, `-o ProxyJump=bastion`, `-oProxyJump bastion`, or the older
 * `-o ProxyCommand="ssh -W %h:%p [-q] [-p PORT] [user@]bastion"`.
 */
export function jumpFromSshArgs(args: string): string | undefined {
  const direct = /(?:^|\s)(?:-J\s*|-o\s*['"]?ProxyJump(?:\s*=\s*|\s+))['"]?([^\s'"]+)/i.exec(args);
  if (direct) return direct[1]!;
  const cmd = /ProxyCommand\s*=?\s*['"]?ssh\s+([^'"]*)/i.exec(args);
  if (!cmd || !/-W\s*\S+/.test(cmd[1]!)) return undefined;
  const words = cmd[1]!.trim().split(/\s+/);
  let port: string | undefined;
  let user: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-W' || w === '-o' || w === '-i' || w === '-F') i += 1;
    else if (w === '-p') port = words[++i];
    else if (w === '-l') user = words[++i];
    else if (!w.startsWith('-')) host ??= w;
  }
  if (host === undefined) return undefined;
  return `${user !== undefined && !host.includes('@') ? `${user}@` : ''}${host}${port !== undefined ? `:${port}` : ''}`;
}
