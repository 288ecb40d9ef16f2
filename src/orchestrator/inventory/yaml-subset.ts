/**
 * A small YAML subset, enough for inventories: block mappings and sequences,
 * plain/single/double-quoted scalars, empty flow `{}`/`[]` and simple flow
 * sequences `[a, b]`, comments, `---`. Scalars stay strings (`~`, `null` and
 * empty values are null). Anything else (anchors, tags, block scalars, tabs
 * in indentation) is an error naming the line.
 */

export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const keyLines = new WeakMap<object, Map<string, number>>();

/** The line a mapping key was read from (0 if unknown, e.g. for JSON). */
export function lineOf(mapping: object, key: string): number {
  return keyLines.get(mapping)?.get(key) ?? 0;
}

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripYamlComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      if (i === 0 || /[\s:[{,-]/.test(s[i - 1]!)) quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function scalar(text: string, no: number): YamlValue {
  const t = text.trim();
  if (t === '' || t === '~' || t === 'null' || t === 'Null' || t === 'NULL') return null;
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) throw new YamlError(no, 'unclosed double quote');
    return JSON.parse(t.replace(/\\'/g, "'")) as string;
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) throw new YamlError(no, 'unclosed single quote');
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t === '{}') return {};
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlError(no, 'unclosed [');
    const body = t.slice(1, -1).trim();
    return body === '' ? [] : body.split(',').map((x) => scalar(x, no));
  }
  if (/^[&*!|>{%@`]/.test(t)) throw new YamlError(no, `unsupported YAML syntax ${JSON.stringify(t.slice(0, 20))}`);
  return t;
}

/** Index of the `:` that ends a mapping key, or -1. */
function keyColon(text: string): number {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (i === 0 && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return i;
  }
  return -1;
}

class Parser {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0]!;
    const v = this.block(first.indent);
    if (this.i < this.lines.length) throw new YamlError(this.lines[this.i]!.no, 'bad indentation');
    return v;
  }

  private isSeq(l: Line): boolean {
    return l.text === '-' || l.text.startsWith('- ');
  }

  private block(indent: number): YamlValue {
    const l = this.lines[this.i]!;
    if (this.isSeq(l)) return this.sequence(indent);
    if (keyColon(l.text) < 0) {
      this.i += 1;
      if (this.i < this.lines.length && this.lines[this.i]!.indent > indent)
        throw new YamlError(this.lines[this.i]!.no, 'multi-line scalars are not supported');
      return scalar(l.text, l.no);
    }
    return this.mapping(indent);
  }

  /** The value after `key:` or `-` when it is on the following lines. */
  private nested(parentIndent: number, allowSameIndentSeq: boolean): YamlValue {
    const next = this.lines[this.i];
    if (!next) return null;
    if (next.indent > parentIndent) return this.block(next.indent);
    if (allowSameIndentSeq && next.indent === parentIndent && this.isSeq(next)) return this.sequence(parentIndent);
    return null;
  }

  private mapping(indent: number): YamlValue {
    const out: { [key: string]: YamlValue } = {};
    const lines = new Map<string, number>();
    keyLines.set(out, lines);
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlError(l.no, 'bad indentation');
      if (this.isSeq(l)) throw new YamlError(l.no, 'a sequence item where a mapping key was expected');
      const c = keyColon(l.text);
      if (c < 0) throw new YamlError(l.no, `expected "key: value", got ${JSON.stringify(l.text)}`);
      const rawKey = l.text.slice(0, c).trim();
      const key = scalar(rawKey, l.no);
      if (typeof key !== 'string' || key === '') throw new YamlError(l.no, 'empty mapping key');
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new YamlError(l.no, `duplicate key ${JSON.stringify(key)}`);
      const rest = l.text.slice(c + 1).trim();
      lines.set(key, l.no);
      this.i += 1;
      out[key] = rest === '' ? this.nested(indent, true) : scalar(rest, l.no);
    }
    return out;
  }

  private sequence(indent: number): YamlValue {
    const out: YamlValue[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlError(l.no, 'bad indentation');
      if (!this.isSeq(l)) break;
      const rest = l.text.slice(1).replace(/^ +/, '');
      if (rest === '') {
        this.i += 1;
        out.push(this.nested(indent, false));
      } else if (keyColon(rest) >= 0 || rest.startsWith('- ')) {
        // `- key: value` starts a mapping (or sequence) indented at the item's text.
        const shift = l.text.length - rest.length;
        this.lines[this.i] = { indent: indent + shift, text: rest, no: l.no };
        out.push(this.block(indent + shift));
      } else {
        this.i += 1;
        out.push(scalar(rest, l.no));
      }
    }
    return out;
  }
}

export function parseYaml(text: string): YamlValue {
  const lines: Line[] = [];
  let docs = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    const lead = /^[ \t]*/.exec(raw)![0];
    if (lead.includes('\t') && raw.trim() !== '') throw new YamlError(no, 'tabs are not allowed in YAML indentation');
    const body = stripYamlComment(raw).replace(/\s+$/, '');
    if (body.trim() === '') return;
    if (body === '---' || body.startsWith('--- ')) {
      docs += 1;
      if (docs > 1 || lines.length > 0) throw new YamlError(no, 'only one YAML document is supported');
      return;
    }
    if (body === '...') return;
    if (body.trim().startsWith('%')) throw new YamlError(no, 'YAML directives are not supported');
    lines.push({ indent: lead.length, text: body.slice(lead.length), no });
  });
  return new Parser(lines).parseDocument();
}
