/**
 * JSON inventories:
 * - array form: `["web1", "deploy@db1:2222", {"host": "10.0.0.5", "name": "cache", "port": 22, "user": "ops"}]`
 * - object form: `{"web1": {"host": "10.0.0.1", "port": 2222}, "db1": "ops@10.0.0.2"}`,
 *   or `{"hosts": [...array form...]}`, or an Ansible tree / dynamic-inventory document.
 */
import type { HostSpec } from '../types.js';
import { parsePort } from '../target.js';
import { ansibleFromTree } from './ansible-yaml.js';
import { addUnique, specsFromEntry } from './hosts-file.js';
import { InventoryError } from './inventory-error.js';

type Obj = { [key: string]: unknown };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Offset of the first syntax error in `text` (a small JSON scanner; JSON.parse does not always say). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (ch === '{') {
          ws();
          if (text[i] !== '"') fail();
          value();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) fail();
      return void i++;
    }
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return at as number;
  }
}

function lineAt(text: string, message: string): number {
  const pos = /position (\d+)/.exec(message);
  const at = pos ? Number(pos[1]) : jsonErrorOffset(text);
  return at < 0 ? 0 : text.slice(0, at).split('\n').length;
}

/** Line of the n-th top-level entry is not tracked by JSON.parse: report the entry instead. */
function fromObject(name: string | undefined, o: Obj, file: string, where: string): HostSpec[] {
  const known = new Set(['name', 'host', 'hostname', 'port', 'user', 'username', 'jump', 'proxyJump', 'bastion', 'groups', 'vars']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new InventoryError(file, 0, `${where}: unknown field ${JSON.stringify(k)}`);
  const host = o['host'] ?? o['hostname'] ?? name;
  if (typeof host !== 'string' || host === '') throw new InventoryError(file, 0, `${where}: "host" must be a non-empty string`);
  const spec: HostSpec = { name: typeof o['name'] === 'string' ? o['name'] : (name ?? host), host };
  const port = o['port'];
  if (port !== undefined) {
    try {
      spec.port = parsePort(String(port), `${where}: port`);
    } catch (err) {
      throw new InventoryError(file, 0, (err as Error).message);
    }
    if (o['name'] === undefined && name === undefined) spec.name = `${host}:${spec.port}`;
  }
  const user = o['user'] ?? o['username'];
  if (user !== undefined) {
    if (typeof user !== 'string') throw new InventoryError(file, 0, `${where}: "user" must be a string`);
    spec.username = user;
  }
  const jumpKeys = ['jump', 'proxyJump', 'bastion'].filter((k) => o[k] !== undefined);
  if (jumpKeys.length > 1) throw new InventoryError(file, 0, `${where}: give only one of ${jumpKeys.map((k) => JSON.stringify(k)).join(', ')}`);
  if (jumpKeys.length === 1) {
    const jump = o[jumpKeys[0]!];
    if (typeof jump !== 'string' || jump.trim() === '') throw new InventoryError(file, 0, `${where}: "${jumpKeys[0]}" must be a "[user@]host[:port]" string`);
    spec.jump = jump.trim();
  }
  const groups = o['groups'];
  if (groups !== undefined) {
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))
      throw new InventoryError(file, 0, `${where}: "groups" must be a list of strings`);
    spec.groups = groups as string[];
  }
  const vars = o['vars'];
  if (vars !== undefined) {
    if (!isObject(vars)) throw new InventoryError(file, 0, `${where}: "vars" must be an object`);
    spec.vars = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]));
  }
  return [spec];
}

function fromEntry(entry: unknown, file: string, where: string, name?: string): HostSpec[] {
  if (typeof entry === 'string') {
    try {
      const specs = specsFromEntry(entry);
      if (name !== undefined && specs.length === 1) specs[0]!.name = name;
      return specs;
    } catch (err) {
      throw new InventoryError(file, 0, `${where}: ${(err as Error).message}`);
    }
  }
  if (isObject(entry)) return fromObject(name, entry, file, where);
  if (entry === null && name !== undefined) return fromObject(name, {}, file, where);
  throw new InventoryError(file, 0, `${where}: expected a string or an object`);
}

function looksAnsible(o: Obj): boolean {
  if ('_meta' in o || 'all' in o) return true;
  return Object.values(o).some((v) => isObject(v) && ('hosts' in v || 'children' in v) && !('host' in v));
}

export function parseJsonInventory(text: string, file: string): HostSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InventoryError(file, lineAt(text, (err as Error).message), `invalid JSON: ${(err as Error).message}`);
  }
  const out: HostSpec[] = [];
  const seen = new Set<string>();
  if (isObject(doc) && Array.isArray(doc['hosts']) && Object.keys(doc).length === 1) doc = doc['hosts'];
  if (Array.isArray(doc)) {
    doc.forEach((e, i) => addUnique(out, seen, fromEntry(e, file, `entry ${i}`)));
    return out;
  }
  if (!isObject(doc)) throw new InventoryError(file, 1, 'expected a JSON array or object');
  if (looksAnsible(doc)) return ansibleFromTree(doc, file);
  for (const [name, e] of Object.entries(doc)) addUnique(out, seen, fromEntry(e, file, `host ${JSON.stringify(name)}`, name));
  return out;
}
