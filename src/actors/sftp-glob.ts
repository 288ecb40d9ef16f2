/**
 * Shell-style globbing over a directory tree (remote through SFTP, or local
 * through node:fs): `*`, `?`, `[abc]`, `[!a-z]` within one path component,
 * and `**` for any number of directories. Dot files match only patterns
 * that start with a dot, as in the shell.
 */
import { readdir, lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import { isDirAttrs } from '../protocol/sftp-attrs.js';
import { FxStatus } from '../protocol/sftp-constants.js';
import { SFTPError } from './sftp-errors.js';

export interface GlobEntry {
  name: string;
  isDir: boolean;
}

export interface GlobFs {
  list(dir: string): Promise<GlobEntry[]>;
  exists(path: string): Promise<boolean>;
}

export function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** A RegExp for one path component pattern. */
export function componentRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += '[' + (negate ? '^' : '') + body.replace(/[\\\]^]/g, '\\$&') + ']';
      i = close;
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$', 'u');
}

export async function globWalk(fs: GlobFs, pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p) => p !== '');
  let current: string[] = [absolute ? '/' : ''];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const join = (base: string, name: string): string => (base === '' ? name : posix.join(base, name));
    const next: string[] = [];
    if (part === '**') {
      // Zero or more directory levels.
      const stack = [...current];
      while (stack.length) {
        const d = stack.pop()!;
        next.push(d);
        for (const e of await fs.list(d === '' ? '.' : d).catch(() => [])) {
          if (e.isDir && !e.name.startsWith('.')) stack.push(join(d, e.name));
        }
      }
      if (last) {
        for (const d of next.slice()) for (const e of await fs.list(d === '' ? '.' : d).catch(() => [])) if (!e.isDir && !e.name.startsWith('.')) next.push(join(d, e.name));
      }
    } else if (!hasMagic(part)) {
      const lit = part.replace(/\\(.)/g, '$1');
      for (const base of current) {
        const p = join(base, lit);
        if (!last || (await fs.exists(p))) next.push(p);
      }
    } else {
      const re = componentRegExp(part);
      for (const base of current) {
        for (const e of await fs.list(base === '' ? '.' : base).catch(() => [])) {
          if (e.name === '.' || e.name === '..') continue;
          if (e.name.startsWith('.') && !part.startsWith('.')) continue;
          if (!re.test(e.name)) continue;
          if (!last && !e.isDir) continue;
          next.push(join(base, e.name));
        }
      }
    }
    current = [...new Set(next)];
    if (current.length === 0) break;
  }
  return current.filter((p) => p !== '').sort();
}

interface RemoteLike {
  compose(path: string): string;
  readdir(path: string): Promise<Array<{ filename: string; attrs: { permissions?: number } }>>;
  lexists(path: string): Promise<boolean>;
}

export async function globRemote(client: RemoteLike, patterns: string | string[]): Promise<string[]> {
  const fs: GlobFs = {
    list: async (dir) => (await client.readdir(dir)).map((n) => ({ name: n.filename, isDir: isDirAttrs(n.attrs) })),
    exists: (p) => client.lexists(p),
  };
  const out: string[] = [];
  for (const pattern of Array.isArray(patterns) ? patterns : [patterns]) {
    const found = await globWalk(fs, client.compose(pattern));
    if (found.length === 0) throw new SFTPError(FxStatus.NO_SUCH_FILE, `no matches found for ${pattern}`);
    out.push(...found);
  }
  return out;
}

export async function globLocal(patterns: string | string[]): Promise<string[]> {
  const fs: GlobFs = {
    list: async (dir) => (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, isDir: d.isDirectory() })),
    exists: (p) => lstat(p).then(() => true, () => false),
  };
  const out: string[] = [];
  for (const pattern of Array.isArray(patterns) ? patterns : [patterns]) {
    const found = await globWalk(fs, pattern);
    if (found.length === 0) throw new SFTPError(FxStatus.NO_SUCH_FILE, `no matches found for ${pattern}`);
    out.push(...found);
  }
  return out;
}
