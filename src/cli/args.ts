/** Command-line parsing for `fleetssh` (node:util parseArgs). */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface RunArgs {
  cmd: 'run';
  inventories: string[];
  hosts: string[];
  groups: string[];
  user?: string;
  port?: number;
  parallel: number;
  /** Seconds per host (total), 0 = none. */
  timeout: number;
  connectTimeout: number;
  retries: number;
  /** Connects per second, 0 = unlimited. */
  rate: number;
  json: 'none' | 'hosts' | 'events';
  outdir?: string;
  inline: boolean;
  progress: boolean | 'auto';
  insecure: boolean;
  keys: string[];
  /** -J: ProxyJump for hosts that have none in the inventory. */
  jump?: string;
  command: string;
}

/**
 * `fleetssh put` (LOCAL... REMOTE) and `fleetssh get` (REMOTE... LOCALDIR):
 * run's host and connection options and the paths instead of a command
 * (`command` is '').
 */
export interface PutArgs extends Omit<RunArgs, 'cmd'> {
  cmd: 'put' | 'get';
  sources: string[];
  remote: string;
  recursive: boolean;
  preserve: boolean;
}

export interface ExecArgs {
  cmd: 'exec';
  target: string;
  user?: string;
  port?: number;
  timeout: number;
  insecure: boolean;
  keys: string[];
  jump?: string;
  command: string;
}

export interface DemoArgs {
  cmd: 'demo';
  count: number;
  parallel: number;
  command: string;
  json: boolean;
}

export type CliArgs = RunArgs | PutArgs | ExecArgs | DemoArgs | { cmd: 'help'; topic?: string } | { cmd: 'version' };

function num(name: string, v: string | undefined, dflt: number, opts: { min: number; max?: number; integer?: boolean }): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < opts.min || (opts.max !== undefined && n > opts.max) || (opts.integer && !Number.isInteger(n)))
    throw new UsageError(`${name}: expected ${opts.integer ? 'an integer' : 'a number'} >= ${opts.min}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}, got ${JSON.stringify(v)}`);
  return n;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Options end where the command begins: after `leading` positionals (exec's
 * HOST), the first non-option word and everything after it is the remote
 * command, as with ssh and pssh (`fleetssh run -H h uname -a`).
 */
function splitAtCommand(argv: string[], options: OptionSpec, leading: number): [string[], string[]] {
  const takesValue = (tok: string): boolean => {
    if (tok.startsWith('--')) return !tok.includes('=') && options[tok.slice(2)]?.type === 'string';
    const spec = Object.values(options).find((o) => o.short === tok[1]);
    return tok.length === 2 && spec?.type === 'string';
  };
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') return [argv.slice(0, i), argv.slice(i + 1)];
    if (tok.startsWith('-') && tok !== '-') {
      if (takesValue(tok)) i += 1;
      continue;
    }
    if (seen === leading) return [argv.slice(0, i), argv.slice(i)];
    seen += 1;
  }
  return [argv, []];
}

function parse(argv: string[], specific: OptionSpec, leading = 0): { values: Values; positionals: string[] } {
  const options: OptionSpec = { ...specific, help: { type: 'boolean', short: 'h' } };
  const [opts, command] = splitAtCommand(argv, options, leading);
  try {
    const r = parseArgs({ args: opts, options, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: [...r.positionals, ...command] };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `-J [user@]host[:port][,...]` as ssh takes it. */
function jumpArg(v: string): string {
  const hops = v.split(',').map((h) => h.trim());
  if (hops.some((h) => h === '' || /\s/.test(h))) throw new UsageError(`-J/--jump: expected "[user@]host[:port][,...]", got ${JSON.stringify(v)}`);
  return hops.join(',');
}

function joinCommand(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  return positionals.join(' ');
}

export function parseCliArgs(argv: string[]): CliArgs {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') return { cmd: 'help', ...(rest[0] ? { topic: rest[0] } : {}) };
  if (sub === '--version' || sub === '-V') return { cmd: 'version' };
  switch (sub) {
    case 'run':
    case 'put':
    case 'get': {
      const { values: v, positionals } = parse(rest, {
        ...(sub !== 'run' ? { recursive: { type: 'boolean' as const, short: 'r' }, preserve: { type: 'boolean' as const } } : {}),
        inventory: { type: 'string', short: 'i', multiple: true },
        host: { type: 'string', short: 'H', multiple: true },
        group: { type: 'string', short: 'g', multiple: true },
        user: { type: 'string', short: 'l' },
        port: { type: 'string', short: 'P' },
        parallel: { type: 'string', short: 'p' },
        timeout: { type: 'string', short: 't' },
        'connect-timeout': { type: 'string' },
        retries: { type: 'string' },
        rate: { type: 'string' },
        json: { type: 'boolean' },
        'json-events': { type: 'boolean' },
        outdir: { type: 'string', short: 'o' },
        inline: { type: 'boolean' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        insecure: { type: 'boolean' },
        key: { type: 'string', short: 'k', multiple: true },
        jump: { type: 'string', short: 'J' },
      });
      if (v.help) return { cmd: 'help', topic: sub };
      const inventories = (v.inventory as string[] | undefined) ?? [];
      const hosts = (v.host as string[] | undefined) ?? [];
      if (inventories.length === 0 && hosts.length === 0) throw new UsageError(`${sub}: give an inventory (-i FILE) or hosts (-H HOST)`);
      if (v.json && v['json-events']) throw new UsageError(`${sub}: --json and --json-events are exclusive`);
      const out: RunArgs = {
        cmd: 'run',
        inventories,
        hosts,
        groups: (v.group as string[] | undefined) ?? [],
        parallel: num('-p/--parallel', v.parallel as string | undefined, 32, { min: 1, max: 100_000, integer: true }),
        timeout: num('-t/--timeout', v.timeout as string | undefined, 0, { min: 0 }),
        connectTimeout: num('--connect-timeout', v['connect-timeout'] as string | undefined, 10, { min: 0 }),
        retries: num('--retries', v.retries as string | undefined, 2, { min: 0, max: 100, integer: true }),
        rate: num('--rate', v.rate as string | undefined, 0, { min: 0 }),
        json: v.json ? 'hosts' : v['json-events'] ? 'events' : 'none',
        inline: v.inline === true,
        progress: v['no-progress'] ? false : v.progress ? true : 'auto',
        insecure: v.insecure === true,
        keys: (v.key as string[] | undefined) ?? [],
        command: sub === 'run' ? joinCommand(positionals, 'COMMAND') : '',
      };
      if (v.user !== undefined) out.user = v.user as string;
      if (v.port !== undefined) out.port = num('-P/--port', v.port as string, 22, { min: 1, max: 65535, integer: true });
      if (v.outdir !== undefined) out.outdir = v.outdir as string;
      if (v.jump !== undefined) out.jump = jumpArg(v.jump as string);
      if (sub === 'run') return out;
      if (positionals.length < 2) throw new UsageError(sub === 'put' ? 'put: expected LOCAL... REMOTE' : 'get: expected REMOTE... LOCALDIR');
      const { cmd: _run, ...common } = out;
      return { ...common, cmd: sub, sources: positionals.slice(0, -1), remote: positionals[positionals.length - 1]!, recursive: v.recursive === true, preserve: v.preserve === true };
    }
    case 'exec': {
      const { values: v, positionals } = parse(rest, {
        user: { type: 'string', short: 'l' },
        port: { type: 'string', short: 'P' },
        timeout: { type: 'string', short: 't' },
        insecure: { type: 'boolean' },
        key: { type: 'string', short: 'k', multiple: true },
        jump: { type: 'string', short: 'J' },
      }, 1);
      if (v.help) return { cmd: 'help', topic: sub };
      const [target, ...cmd] = positionals;
      if (target === undefined) throw new UsageError('exec: missing HOST');
      const out: ExecArgs = {
        cmd: 'exec',
        target,
        timeout: num('-t/--timeout', v.timeout as string | undefined, 0, { min: 0 }),
        insecure: v.insecure === true,
        keys: (v.key as string[] | undefined) ?? [],
        command: joinCommand(cmd, 'COMMAND'),
      };
      if (v.user !== undefined) out.user = v.user as string;
      if (v.port !== undefined) out.port = num('-P/--port', v.port as string, 22, { min: 1, max: 65535, integer: true });
      if (v.jump !== undefined) out.jump = jumpArg(v.jump as string);
      return out;
    }
    case 'demo': {
      const { values: v, positionals } = parse(rest, {
        count: { type: 'string', short: 'n' },
        parallel: { type: 'string', short: 'p' },
        json: { type: 'boolean' },
      });
      if (v.help) return { cmd: 'help', topic: sub };
      return {
        cmd: 'demo',
        count: num('-n/--count', v.count as string | undefined, 200, { min: 1, max: 60_000, integer: true }),
        parallel: num('-p/--parallel', v.parallel as string | undefined, 64, { min: 1, max: 100_000, integer: true }),
        command: positionals.length ? positionals.join(' ') : 'uptime',
        json: v.json === true,
      };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(sub)} (expected run, put, get, exec, demo or --help)`);
  }
}
