/**
 * Reads an inventory file, choosing the reader from the file name or, failing
 * that, from the content.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { HostSpec } from '../types.js';
import { parseAnsibleIni } from './ansible-ini.js';
import { parseAnsibleYaml } from './ansible-yaml.js';
import { parseHostsFile } from './hosts-file.js';
import { parseJsonInventory } from './json-inventory.js';
import { parseSshConfigHosts } from './ssh-config-hosts.js';
import { InventoryError } from './inventory-error.js';

export type InventoryFormat = 'hosts' | 'json' | 'ansible-ini' | 'yaml' | 'ssh-config';

export function detectFormat(file: string, text: string): InventoryFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yml' || ext === '.yaml') return 'yaml';
  if (ext === '.ini' || ext === '.cfg') return 'ansible-ini';
  if (basename(file) === 'config' || basename(file) === 'ssh_config' || ext === '.conf' && /^\s*host\s/im.test(text)) return 'ssh-config';
  const firstLine = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';')) ?? '';
  if (firstLine.startsWith('{') || (firstLine.startsWith('[') && /^\[\s*("|\{|\]|$)/.test(firstLine))) return 'json';
  if (/^(host|match)\s/i.test(firstLine)) return 'ssh-config';
  if (/^[^\s\[\]]+:\s*$/.test(firstLine) || firstLine === '---') return 'yaml';
  // key=value host vars mean Ansible, except the hosts file's own jump= column.
  if (/^\[[^\]\s]+\]$/.test(firstLine) || /\s(?!(?:jump|proxyjump)=)\w+=/i.test(text)) return 'ansible-ini';
  return 'hosts';
}

export function parseInventory(text: string, file: string, format: InventoryFormat = detectFormat(file, text)): HostSpec[] {
  switch (format) {
    case 'hosts':
      return parseHostsFile(text, file);
    case 'json':
      return parseJsonInventory(text, file);
    case 'ansible-ini':
      return parseAnsibleIni(text, file);
    case 'yaml':
      return parseAnsibleYaml(text, file);
    case 'ssh-config':
      return parseSshConfigHosts(text, file);
  }
}

export async function loadInventory(file: string, format?: InventoryFormat): Promise<HostSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InventoryError(file, 0, `cannot read: ${(err as Error).message}`);
  }
  return parseInventory(text, file, format);
}

/** Keeps hosts in any of `groups` (by group membership or name). */
export function selectGroups(hosts: HostSpec[], groups: readonly string[]): HostSpec[] {
  if (groups.length === 0 || groups.includes('all')) return hosts;
  const want = new Set(groups);
  return hosts.filter((h) => want.has(h.name) || (h.groups ?? []).some((g) => want.has(g)));
}
