/**
 * OpenSSH pattern matching as used by known_hosts, ssh_config Host/Match and
 * authorized_keys from=: `*` matches any run of characters, `?` exactly one,
 * a leading `!` negates an entry of a comma list, and a list matches when
 * some positive entry matches and no negated entry does. Address lists also
 * accept CIDR entries (`10.0.0.0/8`, `fe80::/10`).
 */

/** Matches `text` against one pattern with `*` and `?` (no escapes, as OpenSSH). */
export function matchPattern(text: string, pattern: string): boolean {
  // Iterative wildcard match with single-star backtracking: linear memory,
  // no recursion, so hostile patterns cannot blow the stack.
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** 1 = a positive entry matched, 0 = nothing matched, -1 = a negated entry matched. */
export type ListMatch = 1 | 0 | -1;

/**
 * Matches against a comma-separated pattern list. With `ignoreCase` both
 * sides are lowercased (host names); otherwise the comparison is exact
 * (user names).
 */
export function matchPatternList(text: string, list: string, ignoreCase = false): ListMatch {
  const subject = ignoreCase ? text.toLowerCase() : text;
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    let pat = negated ? raw.slice(1) : raw;
    if (ignoreCase) pat = pat.toLowerCase();
    if (matchPattern(subject, pat)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** Host-name list match: case-insensitive, as OpenSSH's match_hostname. */
export function matchHostList(host: string, list: string): ListMatch {
  return matchPatternList(host, list, true);
}

/** A parsed IP address: 4 or 16 bytes. */
export type IpBytes = Uint8Array;

/** Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and a trailing IPv4 part); null if invalid. */
export function parseIp(text: string): IpBytes | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): IpBytes | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const s = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(s)) return null;
    const v = Number(s);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(text: string): IpBytes | null {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** A network `addr/bits`; `bits` defaults to the full length. Error string when the text is invalid. */
export function parseCidr(text: string): { addr: IpBytes; bits: number } | { error: string } | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return null;
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(b) || Number(b) > max) return { error: `invalid mask length in "${text}"` };
    bits = Number(b);
  }
  // As OpenSSH: host bits set beyond the mask make the entry inconsistent.
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((addr[i]! & ~mask & 0xff) !== 0) return { error: `address has bits set beyond the mask in "${text}"` };
  }
  return { addr, bits };
}

function inNetwork(ip: IpBytes, net: IpBytes, bits: number): boolean {
  if (ip.length !== net.length) return false;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

/**
 * Address list match (OpenSSH addr_match_list): CIDR entries compare as
 * networks, other entries as wildcard patterns on the address text.
 * Returns 'invalid' with a reason for a malformed list.
 */
export function matchAddressList(addr: string, list: string): ListMatch | { invalid: string } {
  const ip = parseIp(addr);
  let result: ListMatch = 0;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const entry = negated ? raw.slice(1) : raw;
    if (entry === '') return { invalid: 'empty entry in address list' };
    const cidr = parseCidr(entry);
    let hit: boolean;
    if (cidr && 'error' in cidr) return { invalid: cidr.error };
    if (cidr) hit = ip !== null && inNetwork(ip, cidr.addr, cidr.bits);
    else hit = matchPattern(addr, entry);
    if (hit) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

/**
 * authorized_keys from= and Match address semantics (OpenSSH
 * match_host_and_ip): a negated address or host entry rejects, otherwise
 * any positive match on either accepts. `host` may be null when no name is
 * known (UseDNS no): the address is then matched as the name too.
 */
export function matchHostAndAddress(host: string | null, addr: string, list: string): boolean | { invalid: string } {
  const ipMatch = matchAddressList(addr, list);
  if (typeof ipMatch === 'object') return ipMatch;
  if (ipMatch === -1) return false;
  const hostMatch = matchHostList(host ?? addr, list);
  if (hostMatch === -1) return false;
  return ipMatch === 1 || hostMatch === 1;
}
