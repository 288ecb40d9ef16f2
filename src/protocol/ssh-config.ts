/**
 * ssh_config(5) files: parsing into Host / Match / Include / option items,
 * and resolving the options for one destination as OpenSSH's `ssh -G` does
 * (first obtained value wins, except for the options that accumulate;
 * a second pass when some Match line says `final`). Pure: Include files are
 * read by src/actors/config-loader.ts and attached to their items.
 */
import { hostBlockMatches, matchCriteriaHold, parseMatchCriteria, type MatchCriterion } from './ssh-config-match.js';
import { expandTilde, expandTokens, parseSize, parseTime, splitConfigLine, type TokenMap } from './ssh-config-tokens.js';

export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export type OptionValue = string | number | boolean | readonly string[] | { bytes: number; seconds: number };

export type SshConfigItem =
  | { readonly kind: 'host'; readonly patterns: readonly string[]; readonly line: number }
  | { readonly kind: 'match'; readonly criteria: readonly MatchCriterion[]; readonly line: number }
  | { readonly kind: 'include'; readonly patterns: readonly string[]; readonly line: number; configs: SshConfig[] }
  | { readonly kind: 'option'; readonly key: string; readonly value: OptionValue; readonly line: number };

export interface SshConfig {
  readonly file: string;
  readonly items: SshConfigItem[];
  /** Malformed lines (skipped). OpenSSH would refuse the whole file; we report and go on. */
  readonly errors: ConfigIssue[];
}

type Kind = 'string' | 'flag' | 'port' | 'time' | 'count' | 'strict' | 'accumulate' | 'line' | 'setenv' | 'rekey' | 'raw' | 'agent';

/** The options this library acts on, by lowercase keyword. Others are kept as strings. */
const OPTION_KINDS: Readonly<Record<string, Kind>> = {
  hostname: 'string', user: 'string', proxyjump: 'string', identityagent: 'string',
  ciphers: 'string', kexalgorithms: 'string', macs: 'string', hostkeyalgorithms: 'string',
  identitiesonly: 'flag', compression: 'flag', batchmode: 'flag', forwardagent: 'agent',
  port: 'port', connecttimeout: 'time', serveraliveinterval: 'time', serveralivecountmax: 'count',
  stricthostkeychecking: 'strict', identityfile: 'accumulate', certificatefile: 'accumulate',
  sendenv: 'accumulate', userknownhostsfile: 'line', setenv: 'setenv', rekeylimit: 'rekey', proxycommand: 'raw',
  remotecommand: 'raw',
};

/** Options that collect every value rather than keeping the first. */
const ACCUMULATING = new Set(['identityfile', 'certificatefile', 'sendenv', 'localforward', 'remoteforward', 'dynamicforward']);

function parseValue(key: string, args: readonly string[], rest: string): OptionValue | { error: string } {
  const kind = OPTION_KINDS[key];
  const one = (): string | { error: string } =>
    args.length !== 1 ? { error: `keyword ${key} ${args.length ? 'extra arguments at end of line' : 'needs an argument'}` } : args[0]!;
  switch (kind) {
    case undefined:
      return ACCUMULATING.has(key) ? [rest] : [...args];
    case 'raw':
      return rest;
    case 'string':
      return one();
    case 'accumulate': {
      if (key === 'sendenv') return [...args];
      const v = one();
      return typeof v === 'string' ? [v] : v;
    }
    case 'flag':
    case 'agent': {
      const v = one();
      if (typeof v !== 'string') return v;
      const lower = v.toLowerCase();
      if (lower === 'yes') return true;
      if (lower === 'no') return false;
      if (kind === 'agent') return v;
      return { error: `${key}: expected yes or no, got "${v}"` };
    }
    case 'port': {
      const v = one();
      if (typeof v !== 'string') return v;
      if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) return { error: `bad port "${v}"` };
      return Number(v);
    }
    case 'time': {
      const v = one();
      if (typeof v !== 'string') return v;
      if (key === 'connecttimeout' && v.toLowerCase() === 'none') return -1;
      const t = parseTime(v);
      return t === null ? { error: `${key}: invalid time value "${v}"` } : t;
    }
    case 'count': {
      const v = one();
      if (typeof v !== 'string') return v;
      return /^[0-9]{1,9}$/.test(v) ? Number(v) : { error: `${key}: invalid number "${v}"` };
    }
    case 'strict': {
      const v = one();
      if (typeof v !== 'string') return v;
      const map: Record<string, string> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', ask: 'ask', 'accept-new': 'accept-new' };
      return map[v.toLowerCase()] ?? { error: `stricthostkeychecking: unsupported value "${v}"` };
    }
    case 'line':
      return [...args];
    case 'setenv': {
      const bad = args.find((a) => !/^[^=]+=/.test(a));
      return bad === undefined ? [...args] : { error: `setenv: "${bad}" is not NAME=VALUE` };
    }
    case 'rekey': {
      if (args.length > 2) return { error: 'rekeylimit: extra arguments at end of line' };
      const a = args[0]!.toLowerCase();
      const bytes = a === 'default' || a === 'none' ? 0 : parseSize(args[0]!);
      if (bytes === null || (bytes > 0 && bytes < 16)) return { error: `rekeylimit: bad size "${args[0]}"` };
      let seconds = 0;
      if (args[1] !== undefined) {
        const b = args[1].toLowerCase();
        const t = b === 'default' || b === 'none' ? 0 : parseTime(args[1]);
        if (t === null) return { error: `rekeylimit: bad time "${args[1]}"` };
        seconds = t;
      }
      return { bytes, seconds };
    }
  }
}

/** Parses ssh_config text. `file` names the source in issues. Never throws on content. */
export function parseSshConfig(text: string, file = '<config>'): SshConfig {
  if (typeof text !== 'string') throw new TypeError('parseSshConfig: text must be a string');
  const items: SshConfigItem[] = [];
  const errors: ConfigIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const fail = (message: string) => errors.push({ file, line, message });
    const split = splitConfigLine(lines[i]!);
    if (split === null) continue;
    if ('error' in split) {
      fail(split.error);
      continue;
    }
    const { keyword, args, rest } = split;
    if (keyword === 'host') {
      if (args.length === 0) fail('Host needs at least one pattern');
      else items.push({ kind: 'host', patterns: args, line });
    } else if (keyword === 'match') {
      const criteria = parseMatchCriteria(args);
      if ('error' in criteria) fail(criteria.error);
      else items.push({ kind: 'match', criteria, line });
    } else if (keyword === 'include') {
      if (args.length === 0) fail('Include needs a path');
      else items.push({ kind: 'include', patterns: args, line, configs: [] });
    } else {
      const value = parseValue(keyword, args, rest);
      if (typeof value === 'object' && value !== null && 'error' in value) fail(value.error as string);
      else items.push({ kind: 'option', key: keyword, value, line });
    }
  }
  return { file, items, errors };
}

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

export interface ResolvedSshConfig {
  hostName: string;
  port: number;
  user: string;
  /** As written (with `~` and `%` tokens), in order; expand with expandTokens(v, tokens) and expandTilde. */
  identityFile: string[];
  certificateFile: string[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  /** As written; tokens %h %n %p %r %% are for the caller to expand with `tokens`. */
  proxyCommand?: string;
  /** Expanded (`~` and tokens), as ssh -G prints them. */
  userKnownHostsFile?: string[];
  strictHostKeyChecking?: StrictHostKeyChecking;
  /** Seconds; absent when unset or "none". */
  connectTimeout?: number;
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  /** Algorithm options as written, including the +, -, ^ forms. */
  ciphers?: string;
  kexAlgorithms?: string;
  macs?: string;
  hostKeyAlgorithms?: string;
  compression?: boolean;
  /** true/false, or a socket path (expanded) or `$VAR`. */
  forwardAgent?: boolean | string;
  sendEnv: string[];
  setEnv: Record<string, string>;
  rekeyLimit?: { bytes: number; seconds: number };
  /** Expanded path, or `none`, `SSH_AUTH_SOCK`, `$VAR`. */
  identityAgent?: string;
  batchMode?: boolean;
  /** Other options, first value wins (accumulating ones collect every line). */
  other: Record<string, string[]>;
  /** Token values for this destination (%h %p %r %u %n %d %l %L %i %k, and %C when sha1Hex was given). */
  tokens: TokenMap;
  /** Problems met while resolving (bad tokens, Match exec disabled, Include depth). */
  warnings: string[];
}

export interface ResolveOptions {
  /** A user given by the caller (like `ssh -l`); wins over the config. */
  user?: string;
  /** A port given by the caller (like `ssh -p`); wins over the config. */
  port?: number;
  localUser: string;
  homeDir: string;
  localHostname?: string;
  uid?: number;
  /** Lowercase hex SHA-1, needed for %C. */
  sha1Hex?: (text: string) => string;
  /** Enables Match exec: runs the (token-expanded) command, true when it exits 0. */
  exec?: (command: string) => boolean;
}

const PATH_TOKENS = 'CdhikLlnpru';

interface Walk {
  finalPass: boolean;
  hostForHost: string;
  values: Map<string, OptionValue>;
  multi: Map<string, string[]>;
  ctx: ResolveOptions;
  originalHost: string;
  warnings: string[];
}

function matchHost(w: Walk): string {
  const hn = w.values.get('hostname');
  if (w.finalPass || typeof hn !== 'string') return w.hostForHost;
  const e = expandTokens(hn, { h: w.originalHost }, 'h');
  return typeof e === 'string' ? e : w.originalHost;
}

function apply(w: Walk, key: string, value: OptionValue): void {
  if (ACCUMULATING.has(key)) {
    const list = w.multi.get(key) ?? [];
    for (const v of value as readonly string[]) {
      // SendEnv -pattern removes earlier patterns that it matches (OpenSSH 8.7+).
      if (key === 'sendenv' && v.startsWith('-')) {
        const pat = v.slice(1);
        for (let i = list.length - 1; i >= 0; i--) if (list[i] === pat || hostBlockMatches([pat], list[i]!)) list.splice(i, 1);
      } else list.push(v);
    }
    w.multi.set(key, list);
    return;
  }
  if (w.values.has(key)) return;
  // ProxyJump and ProxyCommand compete: whichever comes first wins (ssh 9.2: a first `ProxyJump none` does not block).
  if (key === 'proxyjump' && w.values.has('proxycommand')) return;
  if (key === 'proxycommand' && w.values.has('proxyjump') && w.values.get('proxyjump') !== 'none') return;
  // A HostName first seen in the final pass does not change the target (as ssh 9.2).
  if (key === 'hostname' && w.finalPass) return;
  w.values.set(key, value);
}

function walkConfig(w: Walk, config: SshConfig, depth: number): void {
  let active = true;
  for (const item of config.items) {
    if (item.kind === 'host') active = hostBlockMatches(item.patterns, w.hostForHost);
    else if (item.kind === 'match') {
      active = matchCriteriaHold(item.criteria, {
        host: matchHost(w),
        originalHost: w.originalHost,
        user: (w.values.get('user') as string | undefined) ?? w.ctx.localUser,
        localUser: w.ctx.localUser,
        finalPass: w.finalPass,
        exec: w.ctx.exec,
        expandExec: (cmd) => {
          const e = expandTokens(cmd, baseTokens(w, matchHost(w)), PATH_TOKENS);
          return typeof e === 'string' ? e : (w.warnings.push(`Match exec: ${e.error}`), null);
        },
        warn: (m) => w.warnings.push(`${config.file}:${item.line}: ${m}`),
      });
    } else if (item.kind === 'include') {
      if (!active) continue;
      if (depth >= 16) {
        w.warnings.push(`${config.file}:${item.line}: Include nested too deeply`);
        continue;
      }
      for (const sub of item.configs) walkConfig(w, sub, depth + 1);
    } else if (active) apply(w, item.key, item.value);
  }
}

function baseTokens(w: Walk, host: string): Record<string, string> {
  const port = String((w.values.get('port') as number | undefined) ?? 22);
  const user = (w.values.get('user') as string | undefined) ?? w.ctx.localUser;
  const local = w.ctx.localHostname ?? 'localhost';
  const t: Record<string, string> = {
    h: host, p: port, r: user, u: w.ctx.localUser, n: w.originalHost, k: w.originalHost, d: w.ctx.homeDir,
    l: local, L: local.split('.')[0]!, i: String(w.ctx.uid ?? 0),
  };
  if (w.ctx.sha1Hex) t.C = w.ctx.sha1Hex(local + host + port + user);
  return t;
}

function hasFinal(config: SshConfig): boolean {
  return config.items.some((i) =>
    i.kind === 'match' ? i.criteria.some((c) => c.attr === 'final') : i.kind === 'include' && i.configs.some(hasFinal),
  );
}

/** Resolves the options for `host` as `ssh -G host` would. */
export function resolveSshConfig(config: SshConfig, host: string, options: ResolveOptions): ResolvedSshConfig {
  if (typeof host !== 'string' || host === '') throw new TypeError('resolveSshConfig: host must be a non-empty string');
  if (typeof options?.localUser !== 'string' || typeof options.homeDir !== 'string') {
    throw new TypeError('resolveSshConfig: options.localUser and options.homeDir are required strings');
  }
  const w: Walk = {
    finalPass: false, hostForHost: host, values: new Map(), multi: new Map(), ctx: options, originalHost: host, warnings: [],
  };
  if (options.user !== undefined) w.values.set('user', options.user);
  if (options.port !== undefined) w.values.set('port', options.port);
  walkConfig(w, config, 0);
  const hn = w.values.get('hostname');
  let hostName = host;
  if (typeof hn === 'string') {
    const e = expandTokens(hn, { h: host }, 'h');
    if (typeof e === 'string') hostName = e;
    else w.warnings.push(`HostName: ${e.error}`);
  }
  hostName = hostName.toLowerCase();
  if (hasFinal(config)) {
    w.finalPass = true;
    w.hostForHost = hostName;
    walkConfig(w, config, 0);
  }
  const tokens = baseTokens(w, hostName);
  const expandPath = (v: string): string => {
    const e = expandTokens(expandTilde(v, options.homeDir), tokens, PATH_TOKENS);
    if (typeof e === 'string') return e;
    w.warnings.push(e.error);
    return v;
  };
  const get = <T extends OptionValue>(k: string) => w.values.get(k) as T | undefined;
  const out: ResolvedSshConfig = {
    hostName,
    port: get<number>('port') ?? 22,
    user: get<string>('user') ?? options.localUser,
    identityFile: w.multi.get('identityfile') ?? [],
    certificateFile: w.multi.get('certificatefile') ?? [],
    sendEnv: w.multi.get('sendenv') ?? [],
    setEnv: {},
    other: {},
    tokens,
    warnings: w.warnings,
  };
  for (const [k, v] of w.values) {
    switch (k) {
      case 'hostname': case 'port': case 'user':
        break;
      case 'identitiesonly': out.identitiesOnly = v as boolean; break;
      case 'compression': out.compression = v as boolean; break;
      case 'batchmode': out.batchMode = v as boolean; break;
      case 'proxyjump': if (v !== 'none') out.proxyJump = v as string; break;
      case 'proxycommand': if (v !== 'none') out.proxyCommand = v as string; break;
      case 'userknownhostsfile': out.userKnownHostsFile = (v as string[]).map((p) => (p === 'none' ? p : expandPath(p))); break;
      case 'stricthostkeychecking': out.strictHostKeyChecking = v as StrictHostKeyChecking; break;
      case 'connecttimeout': if ((v as number) >= 0) out.connectTimeout = v as number; break;
      case 'serveraliveinterval': out.serverAliveInterval = v as number; break;
      case 'serveralivecountmax': out.serverAliveCountMax = v as number; break;
      case 'ciphers': out.ciphers = v as string; break;
      case 'kexalgorithms': out.kexAlgorithms = v as string; break;
      case 'macs': out.macs = v as string; break;
      case 'hostkeyalgorithms': out.hostKeyAlgorithms = v as string; break;
      case 'rekeylimit': out.rekeyLimit = v as { bytes: number; seconds: number }; break;
      case 'forwardagent':
        out.forwardAgent = typeof v === 'string' && !v.startsWith('$') ? expandPath(v) : (v as boolean | string);
        break;
      case 'identityagent': {
        const s = v as string;
        out.identityAgent = s === 'none' || s === 'SSH_AUTH_SOCK' || s.startsWith('$') ? s : expandPath(s);
        break;
      }
      case 'setenv':
        for (const kv of v as string[]) {
          const eq = kv.indexOf('=');
          const name = kv.slice(0, eq);
          if (!(name in out.setEnv)) out.setEnv[name] = kv.slice(eq + 1);
        }
        break;
      default:
        out.other[k] = typeof v === 'string' ? [v] : [...(v as string[])];
    }
  }
  for (const [k, list] of w.multi) if (!(k in OPTION_KINDS)) out.other[k] = list;
  // As ssh: BatchMode turns on keepalives (300 s) unless ServerAliveInterval was set.
  if (out.batchMode && out.serverAliveInterval === undefined) out.serverAliveInterval = 300;
  return out;
}
