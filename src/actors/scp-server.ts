/**
 * Server side of SCP: `withScp(options, next)` is a processFactory that
 * serves exec requests `scp -t ...` (sink: the client uploads) and
 * `scp -f ...` (source: the client downloads) through the SFTP server's
 * file layer (the same `fs` overrides, `home` and `chroot` confinement) and
 * hands every other request to `next`. The command line is split as a
 * POSIX shell would (quotes, backslashes), and unquoted wildcards in source
 * paths are expanded, as the shell in front of OpenSSH's scp does.
 *
 * Wiring for `allowScp: true` in listen() (server.ts):
 *   processFactory = withScp(true, processFactory), and the session config's
 *   `binary: (p) => isScpCommand(p.command)` so the streams stay Buffers.
 */
import { posix } from 'node:path';
import { isDirAttrs } from '../protocol/sftp-attrs.js';
import type { SSHServerProcess } from './server-process.js';
import { runSink, runSource, type ScpFiles } from './scp-engine.js';
import { ScpError } from './scp-errors.js';
import { ScpReader } from './scp-stream.js';
import { globWalk, hasMagic, type GlobFs } from './sftp-glob.js';
import { mergeFs, type SFTPServerOptions } from './sftp-server.js';
import { PathMapper } from './sftp-server-fs.js';

/** `true`: the local file system; options: as SFTPServer's (chroot, home, fs); a function: per session. */
export type ScpFactory = true | SFTPServerOptions | ((process: SSHServerProcess) => SFTPServerOptions | Promise<SFTPServerOptions>);

type ProcessFactory = (process: SSHServerProcess) => unknown;

export interface ShellWord {
  /** The word with quoting removed. */
  literal: string;
  /** The word as a glob pattern: quoted wildcard characters backslash-escaped. */
  pattern: string;
  /** True when the word holds an unquoted `*`, `?` or `[`. */
  magic: boolean;
}

/** Splits a command line as sh does (no expansions other than quote removal). Throws on an unterminated quote. */
export function splitShellWords(line: string): ShellWord[] {
  const words: ShellWord[] = [];
  let cur: ShellWord | null = null;
  const add = (ch: string, quoted: boolean): void => {
    cur ??= { literal: '', pattern: '', magic: false };
    cur.literal += ch;
    const special = /[*?[\]\\]/.test(ch);
    cur.pattern += quoted && special ? '\\' + ch : ch;
    if (!quoted && /[*?[]/.test(ch)) cur.magic = true;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (cur) words.push(cur);
      cur = null;
    } else if (ch === '\\') {
      if (i + 1 < line.length) add(line[++i]!, true);
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ScpError('scp: unterminated quote in command');
      cur ??= { literal: '', pattern: '', magic: false };
      for (const c of line.slice(i + 1, end)) add(c, true);
      i = end;
    } else if (ch === '"') {
      cur ??= { literal: '', pattern: '', magic: false };
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '$`"\\\n'.includes(line[j + 1]!)) j++;
        add(line[j]!, true);
      }
      if (j >= line.length) throw new ScpError('scp: unterminated quote in command');
      i = j;
    } else add(ch, false);
  }
  if (cur) words.push(cur);
  return words;
}

export interface ScpRequest {
  mode: 'source' | 'sink';
  recurse: boolean;
  preserve: boolean;
  targetIsDir: boolean;
  paths: ShellWord[];
}

/** Parses `scp [-v] [-r] [-p] [-d] [-q] -t|-f [--] path...`; null when the command is not scp in server mode. */
export function parseScpCommand(command: string | null): ScpRequest | null {
  if (command === null) return null;
  let words: ShellWord[];
  try {
    words = splitShellWords(command);
  } catch {
    return null;
  }
  if (words.length === 0 || posix.basename(words[0]!.literal) !== 'scp') return null;
  const req: ScpRequest = { mode: 'sink', recurse: false, preserve: false, targetIsDir: false, paths: [] };
  let mode: ScpRequest['mode'] | null = null;
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!.literal;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const flag of w.slice(1)) {
      if (flag === 't') mode = 'sink';
      else if (flag === 'f') mode = 'source';
      else if (flag === 'r') req.recurse = true;
      else if (flag === 'p') req.preserve = true;
      else if (flag === 'd') req.targetIsDir = true;
      else if (flag !== 'v' && flag !== 'q' && flag !== 'E') return null;
    }
  }
  if (mode === null) return null;
  req.mode = mode;
  req.paths = words.slice(i);
  if (req.paths.length === 0 || (mode === 'sink' && req.paths.length !== 1)) return null;
  return req;
}

/** True for exec commands withScp serves (their session streams must stay binary). */
export function isScpCommand(command: string | null): boolean {
  return parseScpCommand(command) !== null;
}

async function expandSources(files: ScpFiles, words: readonly ShellWord[]): Promise<string[]> {
  const globFs: GlobFs = {
    list: async (dir) =>
      (await files.fs.listdir(await files.paths.local(dir === '' ? '.' : dir, true)))
        .filter((n) => n.filename !== '.' && n.filename !== '..')
        .map((n) => ({ name: n.filename, isDir: isDirAttrs(n.attrs) })),
    exists: (p) => files.paths.local(p, false).then((l) => files.fs.lstat(l)).then(() => true, () => false),
  };
  const out: string[] = [];
  for (const w of words) {
    const found = w.magic && hasMagic(w.pattern) ? await globWalk(globFs, w.pattern).catch(() => []) : [];
    // No match: the shell leaves the word as it was, and the source reports it missing.
    out.push(...(found.length ? found : [w.literal]));
  }
  return out;
}

/** A processFactory serving `scp -t` / `scp -f` and passing everything else to `next`. */
export function withScp(factory: ScpFactory, next?: ProcessFactory): ProcessFactory {
  return async (proc: SSHServerProcess) => {
    const req = proc.subsystem === null ? parseScpCommand(proc.command) : null;
    if (!req) {
      if (next) return next(proc);
      proc.stderr.write('only scp is available\n');
      proc.exit(1);
      return;
    }
    const options = factory === true ? {} : typeof factory === 'function' ? await factory(proc) : factory;
    const files: ScpFiles = { fs: mergeFs(options.fs), paths: new PathMapper(options) };
    let errors = 0;
    const warn = (e: ScpError): void => {
      errors++;
      proc.stderr.write(e.message + '\n');
    };
    try {
      const peer = { reader: new ScpReader(proc.stdin), writer: proc.stdout };
      const o = { recurse: req.recurse, preserve: req.preserve, blockSize: 256 * 1024, warn };
      if (req.mode === 'source') await runSource(peer, files, await expandSources(files, req.paths), o);
      else await runSink(peer, files, req.paths[0]!.literal, { ...o, requested: null, targetIsDir: req.targetIsDir });
    } catch (e) {
      errors++;
      if (!proc.stderr.writableEnded) proc.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    }
    proc.exit(errors === 0 ? 0 : 1);
  };
}
