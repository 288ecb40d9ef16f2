/** `[user@]host[:port]` targets (IPv6 literals in brackets: `[::1]:22`). */

export interface Target {
  host: string;
  port?: number;
  username?: string;
}

export function parsePort(text: string, what = 'port'): number {
  if (!/^\d{1,5}$/.test(text)) throw new RangeError(`${what} must be a number 1-65535, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new RangeError(`${what} must be 1-65535, got ${n}`);
  return n;
}

export function parseTarget(text: string): Target {
  let rest = text.trim();
  if (rest === '') throw new RangeError('empty host');
  const out: Target = { host: '' };
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const user = rest.slice(0, at);
    if (user === '') throw new RangeError(`empty user name in ${JSON.stringify(text)}`);
    out.username = user;
    rest = rest.slice(at + 1);
  }
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new RangeError(`unclosed [ in ${JSON.stringify(text)}`);
    out.host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new RangeError(`unexpected ${JSON.stringify(after)} in ${JSON.stringify(text)}`);
      out.port = parsePort(after.slice(1));
    }
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) < 0) {
      out.port = parsePort(rest.slice(colon + 1));
      rest = rest.slice(0, colon);
    }
    out.host = rest;
  }
  if (out.host === '' || /[\s/\\]/.test(out.host)) throw new RangeError(`bad host name in ${JSON.stringify(text)}`);
  return out;
}
