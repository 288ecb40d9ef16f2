/**
 * Host entries of an OpenSSH client config (`~/.ssh/config`): every literal
 * name on a `Host` line (patterns with `*`, `?` or `!` are skipped), each
 * resolved as `ssh -G name` would (src/protocol/ssh-config.ts: first value
 * wins, Match blocks, tokens) for its HostName, Port, User and ProxyJump.
 * Include files are not followed here; connect() applies the full config.
 */
import { homedir, userInfo } from 'node:os';
import { parseSshConfig, resolveSshConfig } from '../../protocol/ssh-config.js';
import type { HostSpec } from '../types.js';
import { InventoryError } from './inventory-error.js';

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? '';
  }
}

export function parseSshConfigHosts(text: string, file: string): HostSpec[] {
  const config = parseSshConfig(text, file);
  const bad = config.errors[0];
  if (bad) throw new InventoryError(file, bad.line, bad.message);
  const names: string[] = [];
  for (const item of config.items) {
    if (item.kind !== 'host') continue;
    for (const p of item.patterns) if (!/[*?!]/.test(p) && !names.includes(p)) names.push(p);
  }
  const me = localUser();
  return names.map((name) => {
    // A user equal to the local one is what connect() would pick anyway.
    const r = resolveSshConfig(config, name, { localUser: me, homeDir: homedir() });
    const spec: HostSpec = { name, host: r.hostName };
    if (r.port !== 22) spec.port = r.port;
    if (r.user !== me) spec.username = r.user;
    if (r.proxyJump !== undefined && r.proxyJump.toLowerCase() !== 'none') spec.jump = r.proxyJump;
    return spec;
  });
}
