/**
 * The server-side line editor as a state machine: keys in, echo out, lines
 * to the application; editing keys, escape sequences split across chunks,
 * history, Ctrl-C/Ctrl-D, echo off, line mode off, the length cap, and
 * application output with "\r\n" line ends and the typed line redrawn.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { LineEditor } from '../../src/actors/line-editor.js';

function rig(options = {}, encoding: BufferEncoding = 'utf8') {
  const raw = new PassThrough({ encoding });
  let screen = '';
  const signals: string[] = [];
  const term = new Writable({ write: (c, _e, cb) => ((screen += String(c)), cb()) });
  const ed = new LineEditor(raw, (t) => (screen += t), (n) => signals.push(n), term, term, options, encoding);
  const lines: string[] = [];
  ed.input.on('data', (l: string) => lines.push(l));
  const type = async (s: string): Promise<void> => {
    raw.write(Buffer.from(s, encoding));
    await new Promise((r) => setImmediate(r));
  };
  return { raw, ed, lines, signals, type, screen: () => screen, clear: () => (screen = '') };
}

describe('LineEditor', () => {
  test('typing, backspace and Enter: echoed, and the line goes to the application', async () => {
    const r = rig();
    await r.type('helo\x7flo world\r\n');
    assert.deepEqual(r.lines, ['hello world\n']);
    assert.equal(r.screen(), 'helo\b \blo world\r\n');
  });

  test('cursor moves, insert in the middle, Delete, Home/End, escapes split across chunks', async () => {
    const r = rig();
    await r.type('abc\x1b[');
    await r.type('D\x1b');
    await r.type('[DX\x01\x1b[3~\x05!\r');
    assert.deepEqual(r.lines, ['Xbc!\n']);
  });

  test('Ctrl-K, Ctrl-U, Ctrl-W erase; Ctrl-B/Ctrl-F move', async () => {
    const r = rig();
    await r.type('one two three\x17\x17four\r');
    await r.type('abcdef\x02\x02\x0b\r');
    await r.type('junk\x15kept\r');
    await r.type('ab\x02\x02\x06X\r');
    assert.deepEqual(r.lines, ['one four\n', 'abcd\n', 'kept\n', 'aXb\n']);
  });

  test('history: Up and Down walk the entered lines; the bell at either end', async () => {
    const r = rig();
    await r.type('first\rsecond\r');
    r.clear();
    await r.type('\x1b[A\x1b[A\x1b[A');
    assert.ok(r.screen().endsWith('first\x07'), JSON.stringify(r.screen()));
    await r.type('\x1b[B\r');
    await r.type('\x10\x0e\x0e\r');
    assert.deepEqual(r.lines, ['first\n', 'second\n', 'second\n', '\n']);
  });

  test('Ctrl-C drops the line and reports INT; Ctrl-D ends input on an empty line only', async () => {
    const r = rig();
    let ended = false;
    r.ed.input.on('end', () => (ended = true));
    await r.type('oops\x03');
    assert.deepEqual(r.signals, ['INT']);
    await r.type('ab\x02\x04\r');
    assert.deepEqual(r.lines, ['a\n']);
    await r.type('\x04');
    await new Promise((res) => setImmediate(res));
    assert.equal(ended, true);
  });

  test('echo off types blind (passwords); line mode off passes keys through', async () => {
    const r = rig();
    r.ed.setEcho(false);
    await r.type('secret\r');
    assert.equal(r.screen(), '\r\n');
    r.ed.setEcho(true);
    r.ed.setLineMode(false);
    await r.type('\x1b[Aq');
    assert.deepEqual(r.lines, ['secret\n', '\x1b[Aq']);
  });

  test('lines come out as strings in the session encoding (utf8 and latin1)', async () => {
    for (const enc of ['utf8', 'latin1'] as const) {
      const r = rig({}, enc);
      await r.type('caf\u00e9 \u00fc\r');
      assert.deepEqual(r.lines, ['caf\u00e9 \u00fc\n'], enc);
      assert.equal(typeof r.lines[0], 'string');
    }
  });

  test('the length cap rings the bell; application output gets CRLF and the typed line back', async () => {
    const r = rig({ maxLineLength: 3 });
    await new Promise<void>((res) => r.ed.stdout.write('> ', () => res()));
    await r.type('abcd');
    assert.equal(r.screen(), '> abc\x07');
    r.clear();
    // A prompt with a partly typed line; then a notification arrives above them.
    await new Promise<void>((res) => r.ed.stdout.write('note\n', () => res()));
    assert.equal(r.screen(), '\r\x1b[Knote\r\n> abc');
    await r.type('\r');
    assert.deepEqual(r.lines, ['abc\n']);
  });

  test('registerKey: a handler replaces the line and cursor, raises a signal, defers with true, rings with false; unregisterKey', async () => {
    const r = rig();
    // Tab completes a word; the cursor lands where the handler says.
    r.ed.registerKey('\t', (line, pos) => (line === 'he' && pos === 2 ? ['hello world', 5] : false));
    // Up arrow (an escape sequence) as a hot key: a signal, the line untouched.
    r.ed.registerKey('\x1b[A', () => ['WINCH', -1]);
    // A printable key that acts only at the start of the line.
    r.ed.registerKey('?', (line) => (line === '' ? ['help', 4] : true));
    await r.type('he\t');
    assert.equal(r.screen(), 'he\b\b\x1b[Khello world\b\b\b\b\b\b');
    await r.type('X\r');
    assert.deepEqual(r.lines, ['helloX world\n']);
    r.clear();
    await r.type('zz\t');
    assert.equal(r.screen(), 'zz\x07', 'false rings the bell');
    await r.type('\x1b[A');
    assert.deepEqual(r.signals, ['WINCH']);
    await r.type('\x15?\r');
    await r.type('a?\r');
    assert.deepEqual(r.lines.slice(1), ['help\n', 'a?\n']);
    r.ed.registerKey('\x01', () => {
      throw new Error('handler bug');
    });
    r.clear();
    await r.type('\x01');
    assert.equal(r.screen(), '\x07', 'a throwing handler rings the bell and the editor goes on');
    r.ed.unregisterKey('\t');
    await r.type('\x15b\tc\r');
    assert.deepEqual(r.lines.slice(3), ['bc\n'], 'without a handler Tab is an ignored control key');
    assert.throws(() => r.ed.registerKey('ab', () => true), /one character or an escape sequence/);
  });
});
