/**
 * The legacy SCP source/sink protocol (`scp -t` / `scp -f`, as OpenSSH's
 * scp.c speaks it): control lines C (file), D (directory), E (end of
 * directory), T (times), and the one-byte replies 0 (ok), 1 (warning +
 * message), 2 (fatal + message). Names a peer sends are checked as OpenSSH's
 * sink does: one path component, not '.', '..' or empty, no NUL, and, when
 * the request named what it wanted, only a match of that. One exception: a
 * top-level directory named '.' is accepted when '.' is what was asked for
 * (`scp -r host:dir/. here`, whose OpenSSH source names the directory '.'),
 * and it lands in the target itself — what OpenSSH's scp does in its
 * default SFTP mode.
 */
import { ProtocolError } from './errors.js';

export type ScpCommand =
  | { kind: 'file'; mode: number; size: number; name: string }
  | { kind: 'dir'; mode: number; name: string }
  | { kind: 'end' }
  | { kind: 'times'; mtime: number; atime: number };

export const SCP_OK = 0;
export const SCP_WARNING = 1;
export const SCP_FATAL = 2;
/** Control lines are short; a longer one is refused before it is buffered further. */
export const SCP_MAX_LINE = 8192;

export function encodeScpCommand(c: ScpCommand): string {
  const mode = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0');
  switch (c.kind) {
    case 'file': return `C${mode(c.mode)} ${c.size} ${c.name}\n`;
    case 'dir': return `D${mode(c.mode)} 0 ${c.name}\n`;
    case 'end': return 'E\n';
    case 'times': return `T${Math.floor(c.mtime)} 0 ${Math.floor(c.atime)} 0\n`;
  }
}

/** True when `name` is safe as one path component from a peer. */
export function isScpSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Decodes one control line (without its trailing newline). Throws ProtocolError when malformed or unsafe. */
export function decodeScpCommand(line: string): ScpCommand {
  if (line.length > SCP_MAX_LINE) throw new ProtocolError('scp: control line too long');
  const kind = line[0];
  if (kind === 'E') {
    if (line !== 'E') throw new ProtocolError('scp: junk after E');
    return { kind: 'end' };
  }
  if (kind === 'T') {
    const m = /^T(\d{1,12}) (\d{1,6}) (\d{1,12}) (\d{1,6})$/.exec(line);
    if (!m || Number(m[2]) > 999999 || Number(m[4]) > 999999) throw new ProtocolError('scp: bad T line');
    return { kind: 'times', mtime: Number(m[1]), atime: Number(m[3]) };
  }
  if (kind === 'C' || kind === 'D') {
    const m = /^[CD]([0-7]{4}) (\d{1,19}) (.*)$/s.exec(line);
    if (!m) throw new ProtocolError(`scp: bad ${kind} line`);
    const size = Number(m[2]);
    if (!Number.isSafeInteger(size)) throw new ProtocolError('scp: size too large');
    const name = m[3]!;
    // '.' may name a directory; ScpSinkState allows it only where it was asked for.
    if (!isScpSafeName(name) && !(kind === 'D' && name === '.')) throw new ProtocolError(`scp: unsafe name ${JSON.stringify(name)}`);
    const mode = parseInt(m[1]!, 8);
    return kind === 'C' ? { kind: 'file', mode, size, name } : { kind: 'dir', mode, name };
  }
  throw new ProtocolError(`scp: unknown control line ${JSON.stringify(line.slice(0, 16))}`);
}

/** Shell pattern (`*`, `?`, `[...]`) match, as the sink's check of top-level names against what was asked for. */
export function scpNameMatches(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        re += '[' + (neg ? '^' : '') + body.replace(/[\\\]^]/g, '\\$&') + ']';
        i = close;
      }
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$', 'su').test(name);
}

/**
 * The sink's state: which line may come next. Top-level names must match
 * `requested` (basenames of what the client asked for) when given; inside a
 * directory any safe name is accepted, as with OpenSSH.
 */
export class ScpSinkState {
  private depth = 0;
  private pendingTimes: { mtime: number; atime: number } | null = null;
  constructor(private readonly requested: readonly string[] | null = null) {}

  /** Validates the next command in sequence; returns it with any preceding T times attached. */
  accept(c: ScpCommand): ScpCommand & { times?: { mtime: number; atime: number } } {
    if (c.kind === 'times') {
      if (this.pendingTimes) throw new ProtocolError('scp: two T lines in a row');
      this.pendingTimes = { mtime: c.mtime, atime: c.atime };
      return c;
    }
    if (c.kind === 'end') {
      if (this.depth === 0 || this.pendingTimes) throw new ProtocolError('scp: unexpected E');
      this.depth--;
      return c;
    }
    if (c.name === '.' && (this.depth > 0 || !this.requested?.includes('.'))) throw new ProtocolError('scp: unsafe name "."');
    if (this.depth === 0 && this.requested && !this.requested.some((p) => scpNameMatches(p, c.name))) {
      throw new ProtocolError(`scp: the peer sent ${JSON.stringify(c.name)}, which was not asked for`);
    }
    const times = this.pendingTimes ?? undefined;
    this.pendingTimes = null;
    if (c.kind === 'dir') this.depth++;
    return times ? { ...c, times } : c;
  }

  get done(): boolean {
    return this.depth === 0;
  }
}
