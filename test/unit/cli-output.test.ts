// What the CLI prints: escape neutralisation, grouped/JSON/inline views, progress line, exit codes, and `fleetssh run` end to end with a fake client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { neutralize, safeFileName } from '../../src/cli/sanitize.js';
import { renderProgress } from '../../src/cli/progress.js';
import { GroupedReporter, JsonReporter } from '../../src/cli/reporters.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { main, type FullIO } from '../../src/cli/cli.js';
import type { Connector, HostResult } from '../../src/orchestrator/types.js';

test('neutralize: control sequences become visible, text and newlines stay', () => {
  const table: [string, string][] = [
    ['plain text\n', 'plain text\n'],
    ['tab\there', 'tab\there'],
    ['\x1b[2J\x1b[H', '^[[2J^[[H'],
    ['\x1b]0;owned\x07', '^[]0;owned^G'],
    ['\x9b31m', '<U+009B>31m'],
    ['over\rwrite', 'over^Mwrite'],
    ['crlf\r\nline', 'crlf\nline'],
    ['back\bspace\x7f', 'back^Hspace^?'],
    ['\u202eevil', '<U+202E>evil'],
    ['nul\0', 'nul^@'],
    ['héllo ✓', 'héllo ✓'],
  ];
  for (const [input, want] of table) assert.equal(neutralize(input), want, JSON.stringify(input));
  assert.equal(safeFileName('../etc/passwd'), '__etc_passwd');
  assert.equal(safeFileName('web1:2222'), 'web1:2222');
});

const result = (over: Partial<HostResult>): HostResult => ({
  host: 'h', outcome: 'succeeded', exitStatus: 0, exitSignal: null, stdout: '', stderr: '', error: null, commandStarted: true, attempts: 1, durationMs: 5, ...over,
});

test('grouped view: remote output and error text cannot inject escapes', () => {
  let out = '';
  const r = new GroupedReporter({ write: (t: string) => (out += t) }, { colour: false, showOutput: true, now: () => new Date(2020, 0, 1, 12, 0, 0) });
  r.onEvent({ type: 'done', host: 'web\x1b[31m1', result: result({ host: 'web\x1b[31m1', stdout: 'ok\x1b[2Jdone\n', stderr: 'warn\x07' }) });
  r.onEvent({
    type: 'done', host: 'db1',
    result: result({ host: 'db1', outcome: 'unreachable', exitStatus: null, commandStarted: false, error: { kind: 'auth-failed', message: 'denied \x1b]0;title\x07' } }),
  });
  assert.equal(
    out,
    '[1] 12:00:00 [SUCCESS] web^[[31m1\nok^[[2Jdone\nStderr: warn^G\n' + '[2] 12:00:00 [FAILURE] db1 auth-failed: denied ^[]0;title^G\n',
  );
  assert.ok(!out.includes('\x1b') && !out.includes('\x07'));
});

test('JSON view: one line per host, then a summary line', () => {
  let out = '';
  const r = new JsonReporter({ write: (t: string) => (out += t) }, 'hosts');
  r.onEvent({ type: 'stdout', host: 'h', data: 'x' });
  r.onEvent({ type: 'done', host: 'h', result: result({ stdout: '\x1b[0m' }) });
  r.onSummary({ total: 1, succeeded: 1, failed: 0, unreachable: 0, aborted: 0, errors: {}, durationMs: 3 });
  const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!['stdout'], '\x1b[0m');
  assert.ok(!out.includes('\x1b'), 'JSON escapes control characters');
  assert.equal(lines[1]!['type'], 'summary');
});

test('progress line: counts, rate and ETA', () => {
  const line = renderProgress({ total: 100, succeeded: 40, failed: 5, unreachable: 5, running: 10 }, 5000, 120);
  assert.match(line, /^\[#{20}-{20}\] 50\/100 ok 40 failed 5 unreachable 5 running 10 10\.0\/s ETA 5s$/);
  assert.match(renderProgress({ total: 10, succeeded: 0, failed: 0, unreachable: 0, running: 3 }, 0), /ETA \?/);
  assert.match(renderProgress({ total: 10, succeeded: 10, failed: 0, unreachable: 0, running: 0 }, 2000), /ETA 0s/);
  assert.ok(renderProgress({ total: 10, succeeded: 1, failed: 0, unreachable: 0, running: 0 }, 1000, 40).length < 40);
});

test('exit codes: precedence internal > unreachable > cut short > non-zero', () => {
  const code = (...rs: Partial<HostResult>[]) => exitCodeFor({ results: rs.map(result) });
  const nonzero = { outcome: 'failed' as const, exitStatus: 2 };
  const cut = { outcome: 'failed' as const, exitStatus: null, error: { kind: 'timeout' as const, message: 't' } };
  const killed = { outcome: 'failed' as const, exitStatus: null, exitSignal: 'KILL' };
  const unreach = { outcome: 'unreachable' as const, error: { kind: 'unreachable' as const, message: 'r' } };
  const internal = { outcome: 'unreachable' as const, error: { kind: 'internal' as const, message: 'bug' } };
  assert.equal(code({}, {}), 0);
  assert.equal(code({}, nonzero), 5);
  assert.equal(code(nonzero, killed), 3);
  assert.equal(code(nonzero, cut), 3);
  assert.equal(code(cut, unreach), 4);
  assert.equal(code(unreach, internal), 1);
});

function fakeConnector(table: Record<string, { out?: string; status?: number; refuse?: boolean }>): Connector {
  return async (host) => {
    const b = table[host] ?? {};
    if (b.refuse) throw Object.assign(new Error(`connect ECONNREFUSED ${host}:22`), { code: 'ECONNREFUSED' });
    return {
      createProcess: () => {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        setImmediate(() => {
          stdout.end(b.out ?? `${host}\n`);
          stderr.end();
        });
        return { stdout, stderr, wait: async () => ({ exitStatus: b.status ?? 0, exitSignal: null }), close: () => undefined };
      },
      close: () => undefined,
    };
  };
}

function captureIO(): FullIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    rawStdout: { write: (t: string | Buffer) => (out += t.toString()) },
    rawStderr: { write: (t: string | Buffer) => (err += t.toString()) },
    env: {},
    out: () => out,
    err: () => err,
  };
}

test('fleetssh run: inventory file, grouped output, -o files, exit code 4 with an unreachable host', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-cli-'));
  try {
    writeFileSync(join(dir, 'hosts'), 'web[1-2]\ndb1 # refuses\n');
    const io = captureIO();
    const connector = fakeConnector({ web2: { out: 'evil\x1b[2J\n' }, db1: { refuse: true } });
    const code = await main(['run', '-i', join(dir, 'hosts'), '-o', join(dir, 'out'), '--retries', '0', 'hostname'], io, { connector });
    assert.equal(code, 4);
    assert.match(io.out(), /\[SUCCESS\] web1\nweb1\n/);
    assert.match(io.out(), /\[SUCCESS\] web2\nevil\^\[\[2J\n/);
    assert.match(io.out(), /\[FAILURE\] db1 unreachable: connect ECONNREFUSED/);
    assert.match(io.out(), /3 hosts: 2 succeeded, 0 failed, 1 unreachable/);
    assert.equal(readFileSync(join(dir, 'out', 'web2.out'), 'utf8'), 'evil\x1b[2J\n', 'files keep the raw output');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fleetssh run: --json lines, non-zero exit gives 5; --inline prefixes lines', async () => {
  const io = captureIO();
  const code = await main(['run', '-H', 'a,b', '--json', 'x'], io, { connector: fakeConnector({ b: { status: 3 } }) });
  assert.equal(code, 5);
  const lines = io.out().trimEnd().split('\n').map((l) => JSON.parse(l) as { host?: string; exitStatus?: number; type?: string });
  assert.deepEqual(lines.map((l) => l.host ?? l.type).sort(), ['a', 'b', 'summary']);
  const io2 = captureIO();
  assert.equal(await main(['run', '-H', 'a', '--inline', 'x'], io2, { connector: fakeConnector({ a: { out: 'one\ntwo\x1b\n' } }) }), 0);
  assert.equal(io2.out(), 'a: one\na: two^[\n');
});

test('fleetssh run: malformed inventory is a usage error naming file and line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-cli-'));
  try {
    writeFileSync(join(dir, 'inv.ini'), '[web]\nh1 ansible_port=abc\n');
    const io = captureIO();
    assert.equal(await main(['run', '-i', join(dir, 'inv.ini'), 'x'], io), 2);
    assert.match(io.err(), /inv\.ini:2: ansible_port/);
    const io2 = captureIO();
    assert.equal(await main(['run', '-i', join(dir, 'missing'), 'x'], io2), 2);
    assert.match(io2.err(), /missing: cannot read/);
    const io3 = captureIO();
    assert.equal(await main(['run', '-p'], io3), 2);
    assert.match(io3.err(), /Try 'fleetssh --help'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fleetssh exec: remote status passes through; connection errors give 255', async () => {
  const io = captureIO();
  assert.equal(await main(['exec', 'h', 'x'], io, { connector: fakeConnector({ h: { status: 7, out: 'raw\x1b' } }) }), 7);
  assert.equal(io.out(), 'raw\x1b');
  const io2 = captureIO();
  assert.equal(await main(['exec', 'h', 'x'], io2, { connector: fakeConnector({ h: { refuse: true } }) }), 255);
  assert.match(io2.err(), /h: unreachable: connect ECONNREFUSED/);
});

test('fleetssh --help documents every exit code', async () => {
  const io = captureIO();
  assert.equal(await main(['--help'], io), 0);
  for (const c of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '130']) assert.match(io.out(), new RegExp(`^  ${c}`, 'm'));
});

test('fleetssh run -J: hosts without a jump in the inventory share one bastion connection; inventory jumps win', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-cli-'));
  try {
    writeFileSync(join(dir, 'hosts'), 'web[1-3]\ndb1 jump=other\n');
    const bastions: string[] = [];
    const through = new Map<string, boolean>();
    const targets = fakeConnector({});
    const connector: Connector = async (host, options) => {
      if (host === 'gw' || host === 'other') {
        bastions.push(`${String(options.username)}@${host}:${String(options.port)}`);
        return { createProcess: () => Promise.reject(new Error('not used')), openConnection: () => new PassThrough(), close: () => undefined };
      }
      through.set(host, options.tunnel !== undefined);
      return targets(host, options);
    };
    const io = captureIO();
    const code = await main(['run', '-i', join(dir, 'hosts'), '-J', 'ops@gw:2200', '--json', 'hostname'], io, { connector });
    assert.equal(code, 0, io.err());
    assert.deepEqual(bastions.sort(), ['ops@gw:2200', 'undefined@other:undefined']);
    assert.deepEqual([...through.values()], [true, true, true, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
