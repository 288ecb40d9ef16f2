/**
 * Makes remote text safe to print on a terminal: control characters (ESC,
 * CSI, BEL, backspace, lone CR, ...) and bidi overrides become visible
 * notation, so a host cannot move the cursor, retitle the window, hide lines
 * or fake another host's output. Tabs and line feeds stay.
 */

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c < 0x20) return '^' + String.fromCharCode(c + 0x40);
  if (c === 0x7f) return '^?';
  return `<U+${c.toString(16).toUpperCase().padStart(4, '0')}>`;
}

export function neutralize(text: string): string {
  return text.replace(/\r+\n/g, '\n').replace(UNSAFE, visible);
}

/** A host name or label made safe for a file name (no separators, no dot-dot). */
export function safeFileName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._@:-]/g, '_').replace(/^\.+/, '_');
  return s === '' ? '_' : s;
}
