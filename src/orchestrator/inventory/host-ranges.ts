/**
 * Host name ranges: pdsh style `web[01-20].dc1`, `10.0.0.[1-9]`,
 * `n[1,3,5-7]`, and Ansible style `web[01:20]`, `db-[a:f]`, `x[0:10:2]`.
 * Several bracket groups expand as a product; a leading zero pads to the
 * width of the range start.
 */

export const MAX_EXPANSION = 1_000_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function numericRange(lo: string, hi: string, step: number): string[] {
  if (!/^\d+$/.test(lo) || !/^\d+$/.test(hi)) throw new RangeError(`bad range bounds ${lo}..${hi}`);
  const a = Number(lo);
  const b = Number(hi);
  if (b < a) throw new RangeError(`range ${lo}..${hi} runs backwards`);
  if ((b - a) / step + 1 > MAX_EXPANSION) throw new RangeError(`range ${lo}..${hi} is too large`);
  const width = lo.length > 1 && lo.startsWith('0') ? lo.length : lo.length === hi.length ? lo.length : 0;
  const out: string[] = [];
  for (let n = a; n <= b; n += step) out.push(pad(n, width));
  return out;
}

function expandGroup(body: string): string[] {
  if (body === '') throw new RangeError('empty [] in host pattern');
  if (body.includes(':')) {
    // Ansible: [lo:hi] or [lo:hi:step], numeric or single letters.
    const parts = body.split(':');
    if (parts.length > 3) throw new RangeError(`bad range [${body}]`);
    const [lo = '', hi = '', st] = parts;
    const step = st === undefined ? 1 : Number(st);
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`bad range step in [${body}]`);
    if (/^[a-z]$/i.test(lo) && /^[a-z]$/i.test(hi)) {
      const a = lo.charCodeAt(0);
      const b = hi.charCodeAt(0);
      if (b < a) throw new RangeError(`range [${body}] runs backwards`);
      const out: string[] = [];
      for (let c = a; c <= b; c += step) out.push(String.fromCharCode(c));
      return out;
    }
    return numericRange(lo, hi, step);
  }
  const out: string[] = [];
  for (const item of body.split(',')) {
    const m = /^(\d+)-(\d+)$/.exec(item);
    if (m) out.push(...numericRange(m[1]!, m[2]!, 1));
    else if (/^\d+$/.test(item)) out.push(item);
    else throw new RangeError(`bad range item ${JSON.stringify(item)} in [${body}]`);
  }
  return out;
}

/** Expands a host pattern; a name without brackets expands to itself. */
export function expandHostPattern(pattern: string): string[] {
  const open = pattern.indexOf('[');
  if (open < 0) {
    if (pattern.includes(']')) throw new RangeError(`unmatched ] in ${JSON.stringify(pattern)}`);
    return [pattern];
  }
  // `[::1]:22` and `user@[::1]` are IPv6 literals, not ranges.
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new RangeError(`unmatched [ in ${JSON.stringify(pattern)}`);
  const body = pattern.slice(open + 1, close);
  const head = pattern.slice(0, open);
  if (body.includes('::') || (/^[0-9a-f:]+$/i.test(body) && body.split(':').length > 3)) {
    return expandHostPattern(pattern.slice(close + 1)).map((t) => head + '[' + body + ']' + t);
  }
  const values = expandGroup(body);
  const tails = expandHostPattern(pattern.slice(close + 1));
  if (values.length * tails.length > MAX_EXPANSION) throw new RangeError(`host pattern ${JSON.stringify(pattern)} expands to too many hosts`);
  const out: string[] = [];
  for (const v of values) for (const t of tails) out.push(head + v + t);
  return out;
}
