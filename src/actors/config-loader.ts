/**
 * Reads ssh_config files for the pure parser: the user's ~/.ssh/config by
 * default, and every Include (globs with `*`/`?`, `~` and paths relative to
 * ~/.ssh, or /etc/ssh for system files), nested at most 16 deep as OpenSSH.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { homedir, hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { matchPattern } from '../protocol/host-pattern.js';
import { parseSshConfig, resolveSshConfig, type ResolvedSshConfig, type ResolveOptions, type SshConfig } from '../protocol/ssh-config.js';
import { expandTilde } from '../protocol/ssh-config-tokens.js';

export interface LoadSshConfigOptions {
  homeDir?: string;
  /** Where relative Include paths start; default ~/.ssh (or /etc/ssh for files there). */
  includeBase?: string;
  maxDepth?: number;
}

const MAX_DEPTH = 16;

/** Expands `*` and `?` in each path segment (no `**`), sorted like glob(3); hidden names need a literal dot. */
export function expandGlob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  let paths = [absolute ? '/' : '.'];
  for (const seg of segments) {
    const next: string[] = [];
    if (!/[*?]/.test(seg)) {
      for (const p of paths) next.push(join(p, seg));
    } else {
      for (const p of paths) {
        let names: string[];
        try {
          names = readdirSync(p);
        } catch {
          continue;
        }
        for (const n of names.sort()) {
          if (n.startsWith('.') && !seg.startsWith('.')) continue;
          if (matchPattern(n, seg)) next.push(join(p, n));
        }
      }
    }
    paths = next;
  }
  return paths;
}

function readOne(path: string, opts: Required<LoadSshConfigOptions>, depth: number, missingOk: boolean): SshConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (missingOk && (code === 'ENOENT' || code === 'EISDIR')) return { file: path, items: [], errors: [] };
    return { file: path, items: [], errors: [{ file: path, line: 0, message: `cannot read: ${code ?? String(err)}` }] };
  }
  const config = parseSshConfig(text, path);
  for (const item of config.items) {
    if (item.kind !== 'include') continue;
    if (depth + 1 > opts.maxDepth) {
      config.errors.push({ file: path, line: item.line, message: `Include nested more than ${opts.maxDepth} deep` });
      continue;
    }
    for (const pat of item.patterns) {
      let full = expandTilde(pat, opts.homeDir);
      if (!isAbsolute(full)) full = join(opts.includeBase, full);
      // Missing includes are silently ignored, as a glob matching nothing.
      for (const f of expandGlob(full)) item.configs.push(readOne(f, opts, depth + 1, true));
    }
  }
  return config;
}

/** Loads a config file (default ~/.ssh/config; a missing default file is an empty config). */
export function loadSshConfig(path?: string, options: LoadSshConfigOptions = {}): SshConfig {
  const homeDir = options.homeDir ?? homedir();
  const file = path ?? join(homeDir, '.ssh', 'config');
  const includeBase = options.includeBase ?? (file.startsWith('/etc/ssh/') ? '/etc/ssh' : join(homeDir, '.ssh'));
  return readOne(file, { homeDir, includeBase, maxDepth: options.maxDepth ?? MAX_DEPTH }, 0, path === undefined);
}

/** Resolve options with this process's user, home, host name and uid, %C via node:crypto. */
export function localResolveOptions(extra: Partial<ResolveOptions> & { allowExec?: boolean } = {}): ResolveOptions {
  const info = userInfo();
  const { allowExec, ...rest } = extra;
  return {
    localUser: info.username,
    homeDir: homedir(),
    localHostname: hostname(),
    uid: info.uid,
    sha1Hex: (s) => createHash('sha1').update(s).digest('hex'),
    exec: allowExec
      ? (cmd) => {
          try {
            execFileSync('/bin/sh', ['-c', cmd], { stdio: 'ignore', timeout: 30_000 });
            return true;
          } catch {
            return false;
          }
        }
      : undefined,
    ...rest,
  };
}

/** Loads and resolves in one step, for connect(). */
export function resolveHostConfig(host: string, path?: string, extra: Partial<ResolveOptions> & { allowExec?: boolean } = {}): ResolvedSshConfig {
  const opts = localResolveOptions(extra);
  return resolveSshConfig(loadSshConfig(path, { homeDir: opts.homeDir }), host, opts);
}
