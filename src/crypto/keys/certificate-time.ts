/**
 * Certificate validity times, as ssh-keygen -V reads them: "always",
 * "forever", relative "+1h", "-5m", "+1w2d" (s, m, h, d, w; no unit =
 * seconds), absolute YYYYMMDD[HHMM[SS]] in local time or UTC with a "Z"
 * suffix; plus Date objects and seconds since the epoch.
 */
import { CERT_FOREVER } from '../../protocol/certificate.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

function relativeSeconds(text: string): number | null {
  if (!/^(?:\d+[smhdw]?)+$/i.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdw]?)/gi)) total += Number(m[1]) * UNIT_SECONDS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(total) ? total : null;
}

function absoluteMs(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(text);
  if (!m) return null;
  const parts = [Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)] as const;
  if (parts[1] > 11 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return null;
  const t = m[7] ? Date.UTC(...parts) : new Date(...parts).getTime();
  return Number.isFinite(t) ? t : null;
}

/** A validity time as uint64 seconds; RangeError naming `what` when unreadable. */
export function parseCertTime(value: Date | bigint | number | string, nowMs: number, what: string): bigint {
  const bad = (): never => {
    throw new RangeError(`${what}: cannot read ${JSON.stringify(String(value))} as a certificate time`);
  };
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms) || ms < 0) bad();
    return BigInt(Math.floor(ms / 1000));
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > CERT_FOREVER) bad();
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) bad();
    return BigInt(value);
  }
  if (typeof value !== 'string') return bad();
  const text = value.trim();
  if (text === 'always') return 0n;
  if (text === 'forever') return CERT_FOREVER;
  if (text.startsWith('+') || text.startsWith('-')) {
    const secs = relativeSeconds(text.slice(1));
    if (secs === null) return bad();
    const t = Math.floor(nowMs / 1000) + (text[0] === '+' ? secs : -secs);
    return t < 0 ? bad() : BigInt(t);
  }
  const ms = absoluteMs(text);
  if (ms === null || ms < 0) return bad();
  return BigInt(Math.floor(ms / 1000));
}
