/**
 * Lexical pieces of ssh_config(5): splitting a line into keyword and
 * arguments the way OpenSSH does (quotes, backslash escapes, `key=value`,
 * `#` comments), `%` token and `~` expansion, and the time and size formats.
 */

export interface SplitLine {
  /** Lowercased keyword. */
  readonly keyword: string;
  /** The raw text after the keyword and its separator (ProxyCommand uses it whole). */
  readonly rest: string;
  readonly args: string[];
}

/** Splits one config line. Returns null for blank/comment lines, an error string for bad quoting. */
export function splitConfigLine(line: string): SplitLine | null | { error: string } {
  const s = line.replace(/[ \t\r\f]+$/, '');
  const m = /^[ \t]*([^ \t=]*)[ \t]*=?[ \t]*/.exec(s)!;
  const keyword = m[1]!;
  if (keyword === '' || keyword.startsWith('#')) return null;
  const rest = s.slice(m[0].length);
  if (rest === '') return { error: `no argument after keyword "${keyword.toLowerCase()}"` };
  const args = splitArgs(rest);
  if (typeof args === 'string') return { error: args };
  return { keyword: keyword.toLowerCase(), rest, args };
}

/** OpenSSH argv_split with comment termination: quotes ' and ", escapes \' \" \\ and (unquoted) "\ ". */
export function splitArgs(s: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const ch = s[i]!;
      const next = s[i + 1];
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          arg += next;
          i++;
        } else {
          arg += ch;
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return 'unterminated quote';
    out.push(arg);
  }
  return out;
}

/** Values for `%` tokens, keyed by the letter. */
export type TokenMap = Readonly<Record<string, string>>;

/**
 * Expands `%x` tokens from `tokens`. Only letters listed in `allowed` are
 * accepted (`%%` always is); an unknown or disallowed token is an error, as
 * in OpenSSH.
 */
export function expandTokens(value: string, tokens: TokenMap, allowed?: string): string | { error: string } {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = value[++i];
    if (t === undefined) return { error: `"${value}": trailing %` };
    if (t === '%') {
      out += '%';
      continue;
    }
    const v = tokens[t];
    if ((allowed !== undefined && !allowed.includes(t)) || v === undefined) return { error: `"${value}": unknown token %${t}` };
    out += v;
  }
  return out;
}

/** `~` and `~/...` become the home directory (other users' `~name` are left alone). */
export function expandTilde(value: string, homeDir: string): string {
  if (value === '~') return homeDir;
  if (value.startsWith('~/')) return homeDir.replace(/\/+$/, '') + value.slice(1);
  return value;
}

const TIME_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** OpenSSH convtime: `90`, `1m30s`, `1h`, `2W` ... in seconds; null if invalid. */
export function parseTime(text: string): number | null {
  if (!/^(?:[0-9]+[smhdwSMHDW]?)+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)([a-zA-Z]?)/g)) {
    total += Number(m[1]) * TIME_UNITS[m[2]!.toLowerCase()]!;
  }
  return total > 0x7fffffff ? null : total;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** RekeyLimit sizes: `500K`, `1G`, `4096` (bytes); null if invalid. */
export function parseSize(text: string): number | null {
  const m = /^([0-9]+)([KMGkmg]?)$/.exec(text);
  if (!m) return null;
  const v = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(v) ? v : null;
}

/**
 * Applies an algorithm list option to `defaults` (OpenSSH
 * kex_assemble_names): `+a,b` appends, `-pat,...` removes entries matching
 * the wildcard patterns, `^a,b` prepends, anything else replaces.
 */
export function applyAlgorithmList(spec: string, defaults: readonly string[], wildcard: (t: string, p: string) => boolean): string[] {
  const first = spec[0];
  const names = (first === '+' || first === '-' || first === '^' ? spec.slice(1) : spec).split(',').filter((n) => n !== '');
  if (first === '+') return [...defaults, ...names.filter((n) => !defaults.includes(n))];
  if (first === '^') return [...names, ...defaults.filter((d) => !names.includes(d))];
  if (first === '-') return defaults.filter((d) => !names.some((p) => wildcard(d, p)));
  return names;
}
