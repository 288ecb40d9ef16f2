/**
 * ssh_config Host and Match conditions: parsing the criteria of a Match
 * line and deciding whether a Host or Match block applies, with OpenSSH's
 * rules (Host patterns are case-sensitive single patterns, `!` rejects;
 * Match host/originalhost compare case-insensitively; `all` stands alone;
 * `canonical` and `final` hold only in the final pass).
 */
import { matchHostList, matchPattern, matchPatternList } from './host-pattern.js';

export type MatchAttribute = 'all' | 'canonical' | 'final' | 'exec' | 'host' | 'originalhost' | 'user' | 'localuser';

export interface MatchCriterion {
  readonly negated: boolean;
  readonly attr: MatchAttribute;
  /** The pattern list or command; absent for all/canonical/final. */
  readonly arg?: string;
}

const NO_ARG = new Set<string>(['all', 'canonical', 'final']);
const WITH_ARG = new Set<string>(['exec', 'host', 'originalhost', 'user', 'localuser']);

/** Parses the arguments of a Match line. */
export function parseMatchCriteria(args: readonly string[]): MatchCriterion[] | { error: string } {
  const out: MatchCriterion[] = [];
  for (let i = 0; i < args.length; i++) {
    let word = args[i]!;
    const negated = word.startsWith('!');
    if (negated) word = word.slice(1);
    const attr = word.toLowerCase();
    if (NO_ARG.has(attr)) {
      out.push({ negated, attr: attr as MatchAttribute });
    } else if (WITH_ARG.has(attr)) {
      const arg = args[++i];
      if (arg === undefined || arg === '') return { error: `Match ${attr} needs an argument` };
      out.push({ negated, attr: attr as MatchAttribute, arg });
    } else {
      return { error: `unsupported Match attribute "${word}"` };
    }
  }
  if (out.length === 0) return { error: 'Match needs at least one criterion' };
  const all = out.filter((c) => c.attr === 'all');
  if (all.length > 0 && out.some((c) => c.attr !== 'all' && c.attr !== 'canonical' && c.attr !== 'final')) {
    return { error: '"Match all" cannot be combined with other criteria' };
  }
  if (all.length > 1) return { error: '"all" given more than once' };
  return out;
}

/** A Host line applies when some pattern matches `host` and no `!pattern` does. */
export function hostBlockMatches(patterns: readonly string[], host: string): boolean {
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchPattern(host, p.slice(1))) return false;
    } else if (matchPattern(host, p)) {
      hit = true;
    }
  }
  return hit;
}

export interface MatchContext {
  /** Target host for `host`: the HostName if set, else the argument. */
  readonly host: string;
  readonly originalHost: string;
  /** Remote user as known so far (User, or the local user). */
  readonly user: string;
  readonly localUser: string;
  readonly finalPass: boolean;
  /** Runs a `Match exec` command (tokens already expanded); absent = exec disabled. */
  readonly exec?: (command: string) => boolean;
  /** Expands tokens in an exec command; returns null when it cannot. */
  readonly expandExec?: (command: string) => string | null;
  /** Collects notes such as "exec disabled". */
  readonly warn: (message: string) => void;
}

/** Evaluates a Match line. Criteria are ANDed; exec runs only while the rest still holds. */
export function matchCriteriaHold(criteria: readonly MatchCriterion[], ctx: MatchContext): boolean {
  let result = true;
  for (const c of criteria) {
    let hit: boolean;
    switch (c.attr) {
      case 'all':
        hit = true;
        break;
      case 'canonical':
      case 'final':
        hit = ctx.finalPass;
        break;
      case 'host':
        hit = matchHostList(ctx.host, c.arg!) === 1;
        break;
      case 'originalhost':
        hit = matchHostList(ctx.originalHost, c.arg!) === 1;
        break;
      case 'user':
        hit = matchPatternList(ctx.user, c.arg!) === 1;
        break;
      case 'localuser':
        hit = matchPatternList(ctx.localUser, c.arg!) === 1;
        break;
      case 'exec': {
        if (!result) continue;
        if (!ctx.exec) {
          // Disabled exec fails the whole line, negated or not.
          ctx.warn(`Match exec "${c.arg}" not run: exec is disabled (the Match line does not apply)`);
          result = false;
          continue;
        }
        const cmd = ctx.expandExec ? ctx.expandExec(c.arg!) : c.arg!;
        hit = cmd !== null && ctx.exec(cmd);
        break;
      }
    }
    if (hit === c.negated) result = false;
  }
  return result;
}
