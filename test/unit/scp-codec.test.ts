/**
 * SCP control lines as OpenSSH's scp.c writes them (`C0644 <size> <name>`,
 * `D0755 0 <name>`, `E`, `T<mtime> 0 <atime> 0`), the name checks its sink
 * applies, and the "only what was asked for" check on top-level names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeScpCommand, encodeScpCommand, ScpSinkState, scpNameMatches, type ScpCommand } from '../../src/protocol/scp-codec.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const vectors: Array<[ScpCommand, string]> = [
  [{ kind: 'file', mode: 0o644, size: 12345, name: 'a file ü' }, 'C0644 12345 a file ü\n'],
  [{ kind: 'dir', mode: 0o755, name: 'dir' }, 'D0755 0 dir\n'],
  [{ kind: 'end' }, 'E\n'],
  [{ kind: 'times', mtime: 1700000000, atime: 1700000001 }, 'T1700000000 0 1700000001 0\n'],
];

test('scp control lines encode as OpenSSH writes them and decode back', () => {
  for (const [cmd, line] of vectors) {
    assert.equal(encodeScpCommand(cmd), line);
    assert.deepEqual(decodeScpCommand(line.slice(0, -1)), cmd);
  }
});

test('malformed and unsafe lines are refused', () => {
  const bad = [
    'C0644 10 ../x', 'C0644 10 a/b', 'C0644 10 ..', 'C0644 10 .', 'C0644 10 ', 'C644 10 x', 'C0844 10 x', 'C0644 -1 x',
    'C0644 99999999999999999999 x', 'D0755 0 /abs', 'Ex', 'T1 0 2', 'T1 1000000 2 0', 'X', '', 'C0644 1 a\0b', 'x'.repeat(9000),
  ];
  for (const line of bad) assert.throws(() => decodeScpCommand(line), ProtocolError, JSON.stringify(line.slice(0, 30)));
});

test('sink state: only what was asked for at the top, E balanced, T attaches to the next entry', () => {
  const s = new ScpSinkState(['*.txt', 'dir']);
  assert.deepEqual(s.accept({ kind: 'times', mtime: 5, atime: 6 }), { kind: 'times', mtime: 5, atime: 6 });
  assert.deepEqual(s.accept({ kind: 'file', mode: 0o600, size: 1, name: 'a.txt' }), { kind: 'file', mode: 0o600, size: 1, name: 'a.txt', times: { mtime: 5, atime: 6 } });
  assert.throws(() => s.accept({ kind: 'file', mode: 0o600, size: 1, name: 'evil.sh' }), /not asked for/);
  s.accept({ kind: 'dir', mode: 0o755, name: 'dir' });
  s.accept({ kind: 'file', mode: 0o600, size: 1, name: 'anything' });
  assert.equal(s.done, false);
  s.accept({ kind: 'end' });
  assert.equal(s.done, true);
  assert.throws(() => s.accept({ kind: 'end' }), /unexpected E/);
  assert.ok(scpNameMatches('f[0-9]?', 'f1x') && !scpNameMatches('f[!0-9]', 'f1'));
});

test("a directory named '.' only at the top and only when '.' was asked for (scp -r host:dir/. here)", () => {
  const dot = { kind: 'dir', mode: 0o755, name: '.' } as const;
  assert.deepEqual(decodeScpCommand('D0755 0 .'), dot);
  const asked = new ScpSinkState(['.']);
  assert.deepEqual(asked.accept(dot), dot);
  assert.throws(() => asked.accept(dot), /unsafe name/); // not inside it
  assert.throws(() => new ScpSinkState(null).accept(dot), /unsafe name/); // a server's scp -t, as sshd
  assert.throws(() => new ScpSinkState(['*']).accept(dot), /unsafe name/); // a pattern is not a request for '.'
});
