/**
 * A line editor for server sessions with a pseudo-terminal (AsyncSSH's
 * SSHLineEditor): the client's terminal sends keystrokes, so without one the
 * application would see every key and have to echo it. Here keys are echoed
 * and edited on the server, and the application reads whole lines.
 *
 * Keys: printable text, Backspace, Delete, Left/Right, Home/End, Up/Down
 * (history), Ctrl-A/B/E/F (moves), Ctrl-K/U/W (erase to end, line, word),
 * Ctrl-L (redraw), Ctrl-D (EOF on an empty line, else delete), Ctrl-C
 * (drops the line; reported as signal INT). Output from the application has
 * "\n" turned into "\r\n", and a line being typed is redrawn below output that
 * arrives meanwhile.
 *
 * The editor is a plain state machine over strings; the session gives it the
 * client's input and a function to write to the client's terminal.
 */
import { Readable, Writable } from 'node:stream';

/**
 * A key handler (AsyncSSH's register_key): called with the line being typed
 * and the cursor position. Returns [line, cursor] to replace them; [signal
 * name, a negative number] to deliver that signal and leave the line as it
 * is; true to let the key do what it does without a handler; false to ring
 * the bell and change nothing.
 */
export type KeyHandler = (line: string, cursor: number) => readonly [string, number] | boolean;

export interface LineEditorOptions {
  /** Lines kept for Up/Down (default 1000; 0 = none). */
  historySize?: number;
  /** Longest line accepted; further keys ring the bell (default 1024). */
  maxLineLength?: number;
}

const BELL = '\x07';
const ERASE_TO_END = '\x1b[K';

/** Escape sequences of the keys the editor knows (CSI and SS3 forms). */
const ESCAPES: Record<string, string> = {
  '\x1b[A': 'up',
  '\x1b[B': 'down',
  '\x1b[C': 'right',
  '\x1b[D': 'left',
  '\x1b[H': 'home',
  '\x1b[F': 'end',
  '\x1bOA': 'up',
  '\x1bOB': 'down',
  '\x1bOC': 'right',
  '\x1bOD': 'left',
  '\x1bOH': 'home',
  '\x1bOF': 'end',
  '\x1b[1~': 'home',
  '\x1b[4~': 'end',
  '\x1b[3~': 'delete',
};

export class LineEditor {
  /** Lines (with "\n") for the application; ends at Ctrl-D on an empty line or when the client's input ends. */
  readonly input: Readable;
  /** The application's output to the terminal (stdout, stderr), with "\n" made "\r\n". */
  readonly stdout: Writable;
  readonly stderr: Writable;
  private line: string[] = [];
  private cursor = 0;
  private pendingEscape = '';
  private skipLf = false;
  private echo = true;
  private lineMode = true;
  private readonly history: string[] = [];
  private historyAt = 0;
  /** What the application printed since its last newline (a prompt), redrawn before the line. */
  private outputTail = '';
  private ended = false;
  private readonly historySize: number;
  private readonly maxLineLength: number;

  constructor(
    raw: Readable,
    private readonly write: (text: string) => void,
    private readonly onSignal: (name: string) => void,
    termOut: Writable,
    termErr: Writable,
    options: LineEditorOptions = {},
    /** The session's text encoding: lines come out as strings in it, Buffers written by the application are read in it. */
    private readonly encoding: BufferEncoding = 'utf8',
  ) {
    this.historySize = options.historySize ?? 1000;
    this.maxLineLength = options.maxLineLength ?? 1024;
    // Strings pushed in and read out with the same encoding come back unchanged, as the session's stdin would give them.
    this.input = new Readable({ encoding, read: () => raw.resume() });
    raw.on('data', (chunk: string | Buffer) => this.feed(String(chunk)));
    raw.on('end', () => this.finish());
    raw.on('close', () => this.finish());
    this.stdout = this.outputTo(termOut);
    this.stderr = this.outputTo(termErr);
    // Backpressure: when the application stops reading lines, stop reading keys.
    this.pushBack = (text) => {
      if (!this.input.push(text, this.encoding)) raw.pause();
    };
  }

  private readonly pushBack: (text: string) => void;
  private readonly keyHandlers = new Map<string, KeyHandler>();

  /** Calls `handler` for `key`: one character (printable or control) or an escape sequence such as "\x1b[A". */
  registerKey(key: string, handler: KeyHandler): void {
    if (typeof key !== 'string' || key === '' || (!key.startsWith('\x1b') && [...key].length !== 1)) {
      throw new TypeError('key: expected one character or an escape sequence');
    }
    if (typeof handler !== 'function') throw new TypeError('handler: expected a function');
    this.keyHandlers.set(key, handler);
  }

  unregisterKey(key: string): void {
    this.keyHandlers.delete(key);
  }

  /** A registered key's outcome as terminal output, or null when the key has no handler (or asked for its usual action). */
  private handled(key: string): string | null {
    const handler = this.keyHandlers.get(key);
    if (!handler) return null;
    let r: ReturnType<KeyHandler>;
    try {
      r = handler(this.line.join(''), this.cursor);
    } catch {
      return BELL;
    }
    if (r === true) return null;
    if (Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'number') {
      const [text, pos] = r;
      if (pos < 0) {
        this.onSignal(text);
        return '';
      }
      return this.replaceLine([...text], Math.min(Math.floor(pos), [...text].length));
    }
    return BELL;
  }

  /** Echo of typed keys on or off (off for passwords); Enter still moves to a new line. */
  setEcho(on: boolean): void {
    this.echo = on;
  }

  /** Line mode off passes the keys through unchanged (for full-screen programs); on again edits lines. */
  setLineMode(on: boolean): void {
    this.lineMode = on;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.input.push(null);
  }

  private feed(text: string): void {
    if (this.ended) return;
    if (!this.lineMode) return this.pushBack(text);
    let out = '';
    for (const ch of text) {
      if (this.ended) break;
      if (this.pendingEscape !== '' || ch === '\x1b') {
        out += this.escape(ch);
        continue;
      }
      if (this.skipLf && ch === '\n') {
        this.skipLf = false;
        continue;
      }
      this.skipLf = false;
      out += (this.keyHandlers.size > 0 ? this.handled(ch) : null) ?? this.key(ch);
    }
    if (out !== '') this.write(out);
  }

  /** Collects an escape sequence; a known one runs its key, an unknown complete one is dropped. */
  private escape(ch: string): string {
    this.pendingEscape += ch;
    const seq = this.pendingEscape;
    const done = seq.length >= 3 && (/[A-Za-z~]/.test(ch) || seq.length > 8);
    if (seq.length === 2 && ch !== '[' && ch !== 'O') {
      this.pendingEscape = '';
      return '';
    }
    if (!done) return '';
    this.pendingEscape = '';
    const custom = this.handled(seq);
    if (custom !== null) return custom;
    const name = ESCAPES[seq];
    return name ? this.action(name) : '';
  }

  private key(ch: string): string {
    switch (ch) {
      case '\r':
        this.skipLf = true;
        return this.enter();
      case '\n':
        return this.enter();
      case '\x7f':
      case '\b':
        return this.action('backspace');
      case '\x01':
        return this.action('home');
      case '\x02':
        return this.action('left');
      case '\x05':
        return this.action('end');
      case '\x06':
        return this.action('right');
      case '\x0b':
        return this.action('eraseToEnd');
      case '\x15':
        return this.action('eraseLine');
      case '\x17':
        return this.action('eraseWord');
      case '\x0c':
        return '\r' + ERASE_TO_END + this.redraw();
      case '\x0e':
        return this.action('down');
      case '\x10':
        return this.action('up');
      case '\x03': {
        this.line = [];
        this.cursor = 0;
        this.outputTail = '';
        this.onSignal('INT');
        return '^C\r\n';
      }
      case '\x04':
        if (this.line.length === 0) {
          this.finish();
          return '';
        }
        return this.action('delete');
      default:
        if (ch < ' ' || ch === '\x7f') return ''; // other control keys: ignored
        return this.insert(ch);
    }
  }

  private insert(ch: string): string {
    if (this.line.length >= this.maxLineLength) return BELL;
    this.line.splice(this.cursor, 0, ch);
    this.cursor++;
    if (!this.echo) return '';
    const rest = this.line.slice(this.cursor);
    return ch + rest.join('') + '\b'.repeat(rest.length);
  }

  private enter(): string {
    const text = this.line.join('');
    if (text !== '' && this.echo && this.historySize > 0 && this.history[this.history.length - 1] !== text) {
      this.history.push(text);
      if (this.history.length > this.historySize) this.history.shift();
    }
    this.historyAt = this.history.length;
    this.line = [];
    this.cursor = 0;
    this.outputTail = '';
    this.pushBack(text + '\n');
    return '\r\n';
  }

  /** The prompt and the line, with the cursor put back where it was. */
  private redraw(): string {
    if (!this.echo) return this.outputTail;
    const back = this.line.length - this.cursor;
    return this.outputTail + this.line.join('') + '\b'.repeat(back);
  }

  /** Replaces the whole line (history, a key handler) and redraws it, the cursor at `cursor` (default: the end). */
  private replaceLine(chars: string[], cursor = chars.length): string {
    const wipe = this.echo ? '\b'.repeat(this.cursor) + ERASE_TO_END : '';
    this.line = chars.slice(0, this.maxLineLength);
    this.cursor = Math.min(cursor, this.line.length);
    return wipe + (this.echo ? this.line.join('') + '\b'.repeat(this.line.length - this.cursor) : '');
  }

  private action(name: string): string {
    const e = this.echo;
    switch (name) {
      case 'left':
        if (this.cursor === 0) return '';
        this.cursor--;
        return e ? '\b' : '';
      case 'right':
        if (this.cursor === this.line.length) return '';
        this.cursor++;
        return e ? this.line[this.cursor - 1]! : '';
      case 'home': {
        const n = this.cursor;
        this.cursor = 0;
        return e ? '\b'.repeat(n) : '';
      }
      case 'end': {
        const moved = this.line.slice(this.cursor).join('');
        this.cursor = this.line.length;
        return e ? moved : '';
      }
      case 'backspace':
        if (this.cursor === 0) return '';
        this.cursor--;
        return this.deleteAt(e ? '\b' : '');
      case 'delete':
        if (this.cursor === this.line.length) return '';
        return this.deleteAt('');
      case 'eraseToEnd':
        this.line.length = this.cursor;
        return e ? ERASE_TO_END : '';
      case 'eraseLine':
        return this.replaceLine([]);
      case 'eraseWord': {
        let start = this.cursor;
        while (start > 0 && this.line[start - 1] === ' ') start--;
        while (start > 0 && this.line[start - 1] !== ' ') start--;
        const removed = this.cursor - start;
        if (removed === 0) return '';
        this.line.splice(start, removed);
        this.cursor = start;
        if (!e) return '';
        const rest = this.line.slice(start).join('');
        return '\b'.repeat(removed) + rest + ERASE_TO_END + '\b'.repeat(rest.length);
      }
      case 'up':
        if (this.historyAt === 0) return BELL;
        this.historyAt--;
        return this.replaceLine([...this.history[this.historyAt]!]);
      case 'down':
        if (this.historyAt >= this.history.length) return BELL;
        this.historyAt++;
        return this.replaceLine(this.historyAt === this.history.length ? [] : [...this.history[this.historyAt]!]);
      default:
        return '';
    }
  }

  /** Removes the character at the cursor; `lead` moves the terminal cursor onto it first. */
  private deleteAt(lead: string): string {
    this.line.splice(this.cursor, 1);
    if (!this.echo) return '';
    const rest = this.line.slice(this.cursor).join('');
    return lead + rest + ' ' + '\b'.repeat(rest.length + 1);
  }

  /**
   * The application's output: the line being typed is taken off the screen,
   * the output written with "\r\n" line ends, and the line drawn again.
   */
  private outputTo(term: Writable): Writable {
    return new Writable({
      decodeStrings: false,
      write: (chunk: string | Buffer, _enc, cb) => {
        const text = typeof chunk === 'string' ? chunk : chunk.toString(this.encoding);
        let out: string;
        if (!this.lineMode) out = text;
        else {
          out = text.replace(/\r?\n/g, '\r\n');
          const nl = text.lastIndexOf('\n');
          if (this.line.length === 0) this.outputTail = nl < 0 ? this.outputTail + text : text.slice(nl + 1);
          else {
            // A line is being typed after the prompt: both go, the output is written, and they come back below it.
            out = '\r' + ERASE_TO_END + out;
            if (nl !== text.length - 1) this.outputTail = nl < 0 ? text : text.slice(nl + 1);
            else out += this.outputTail;
            out += this.redrawAfterOutput();
          }
        }
        if (term.write(out)) cb();
        else term.once('drain', () => cb());
      },
      final: (cb) => {
        term.end();
        const done = (): void => cb();
        if (term.writableFinished) return cb();
        term.once('finish', done);
        term.once('close', done);
      },
    });
  }

  private redrawAfterOutput(): string {
    if (!this.echo) return '';
    const back = this.line.length - this.cursor;
    return this.line.join('') + '\b'.repeat(back);
  }
}
