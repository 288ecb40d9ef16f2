/**
 * Ansible YAML inventories (`all: {hosts, vars, children}` trees) and
 * Ansible JSON (the same tree, or the dynamic-inventory shape with `_meta`).
 */
import type { HostSpec } from '../types.js';
import { AnsibleInventory } from './ansible-model.js';
import { InventoryError } from './inventory-error.js';
import { lineOf, parseYaml, YamlError, type YamlValue } from './yaml-subset.js';

type Tree = { [key: string]: unknown };

function isObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringVars(v: unknown, file: string, where: string, line: number): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (!isObject(v)) throw new InventoryError(file, line, `${where}: vars must be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = typeof x === 'object' ? JSON.stringify(x) : String(x);
  }
  return out;
}

function addGroupTree(inv: AnsibleInventory, name: string, body: unknown, file: string, line: number): void {
  const g = inv.group(name, line);
  if (body === null || body === undefined) return;
  if (!isObject(body)) throw new InventoryError(file, line, `group ${name}: expected a mapping with hosts, vars or children`);
  for (const key of Object.keys(body)) {
    if (key !== 'hosts' && key !== 'vars' && key !== 'children')
      throw new InventoryError(file, lineOf(body, key), `group ${name}: unknown key ${JSON.stringify(key)} (expected hosts, vars, children)`);
  }
  const hosts = body['hosts'];
  if (Array.isArray(hosts)) for (const h of hosts) inv.addHosts(name, String(h), {}, 0);
  else if (isObject(hosts))
    for (const [h, vars] of Object.entries(hosts)) inv.addHosts(name, h, stringVars(vars, file, `host ${h}`, lineOf(hosts, h)), lineOf(hosts, h));
  else if (hosts !== null && hosts !== undefined) throw new InventoryError(file, lineOf(body, 'hosts'), `group ${name}: hosts must be a mapping or a list`);
  Object.assign(g.vars, stringVars(body['vars'], file, `group ${name}`, lineOf(body, 'vars')));
  const children = body['children'];
  if (Array.isArray(children)) for (const c of children) g.children.add(String(c)), inv.group(String(c), 0);
  else if (isObject(children)) {
    for (const [c, cb] of Object.entries(children)) {
      if (c === name) throw new InventoryError(file, lineOf(children, c), `group ${name} cannot be its own child`);
      g.children.add(c);
      addGroupTree(inv, c, cb, file, lineOf(children, c));
    }
  } else if (children !== null && children !== undefined) throw new InventoryError(file, lineOf(body, 'children'), `group ${name}: children must be a mapping`);
}

/** Builds HostSpecs from a parsed Ansible tree (YAML or JSON). */
export function ansibleFromTree(tree: unknown, file: string): HostSpec[] {
  if (!isObject(tree)) throw new InventoryError(file, 0, 'expected a mapping of group names at the top level');
  const inv = new AnsibleInventory(file);
  const meta = tree['_meta'];
  for (const [name, body] of Object.entries(tree)) {
    if (name === '_meta') continue;
    // Dynamic-inventory JSON allows a bare list of hosts as a group.
    addGroupTree(inv, name, Array.isArray(body) ? { hosts: body } : body, file, lineOf(tree, name));
  }
  if (isObject(meta) && isObject(meta['hostvars'])) {
    for (const [h, vars] of Object.entries(meta['hostvars'])) {
      const known = [...inv.groups.values()].some((g) => g.hosts.has(h));
      inv.addHosts(known ? [...inv.groups].find(([, g]) => g.hosts.has(h))![0] : 'ungrouped', h, stringVars(vars, file, `host ${h}`, 0), 0);
    }
  }
  return inv.resolve();
}

export function parseAnsibleYaml(text: string, file: string): HostSpec[] {
  let tree: YamlValue;
  try {
    tree = parseYaml(text);
  } catch (err) {
    if (err instanceof YamlError) throw new InventoryError(file, err.line, err.message);
    throw err;
  }
  if (tree === null) return [];
  return ansibleFromTree(tree, file);
}
