// fleetssh scp() against fleetssh's withScp server (chroot), every path
// form: local -> remote, remote -> local, remote -> remote (third party),
// several sources, local wildcards, recurse + preserve (modes and mtimes),
// per-file errors through errorHandler; then a hostile scp server table:
// names with '/', '..', names not asked for, unbalanced E, directories
// without recurse, short data — each refused with nothing written outside.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { scp, parseScpPath } from '../../src/actors/scp-client.js';
import { parseScpCommand, splitShellWords, withScp } from '../../src/actors/scp-server.js';
import { makeTempDir, removeTempDir } from '../helpers/ssh-client.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hostKey = generatePrivateKey('ssh-ed25519');
let dir: string;
let root: string;
let server: SSHServer;
let conn: SSHClientConnection;
const serveScp = withScp((): { chroot: string } => ({ chroot: root }));
const opts = (): { port: number; username: string; password: string; knownHosts: null } => ({ port: server.port, username: 'u', password: 'pw', knownHosts: null });

before(async () => {
  dir = makeTempDir('scp-cs-');
  root = join(dir, 'root');
  mkdirSync(join(root, 'tree/sub'), { recursive: true });
  writeFileSync(join(root, 'tree/a.bin'), randomBytes(700_001));
  writeFileSync(join(root, 'tree/sub/empty'), '');
  writeFileSync(join(root, 'tree/sub/x.txt'), 'x\n');
  chmodSync(join(root, 'tree/sub/x.txt'), 0o640);
  utimesSync(join(root, 'tree/sub/x.txt'), 1_600_000_000, 1_500_000_000);
  utimesSync(join(root, 'tree/sub'), 1_600_000_100, 1_500_000_100);
  server = await listen({
    host: '127.0.0.1', port: 0, serverHostKeys: [hostKey], passwords: { u: 'pw' }, encoding: null,
    processFactory: (p) => (/hostile/.test(p.command ?? '') ? hostileScp(p) : serveScp(p)),
  });
  conn = await connect('127.0.0.1', opts());
});

after(async () => {
  conn?.close();
  await server?.close();
  removeTempDir(dir);
});

test('command and path parsing: OpenSSH command lines, shell quoting, host:path forms', () => {
  assert.deepEqual(parseScpCommand("scp -r -p -d -t -- 'a b'"), { mode: 'sink', recurse: true, preserve: true, targetIsDir: true, paths: [{ literal: 'a b', pattern: 'a b', magic: false }] });
  const src = parseScpCommand('scp -f dir/*.txt "q*" x\\?')!;
  assert.deepEqual(src.paths.map((w) => [w.literal, w.pattern, w.magic]), [['dir/*.txt', 'dir/*.txt', true], ['q*', 'q\\*', false], ['x?', 'x\\?', false]]);
  for (const bad of ['ls -l', 'scp a b', 'scp -t', 'scp -t a b', 'scp -x -t a', "scp -t 'open", null]) assert.equal(parseScpCommand(bad), null, String(bad));
  assert.deepEqual(splitShellWords(`a'b c'"d\\"e" f\\ g`).map((w) => w.literal), ['ab cd"e', 'f g']);
  assert.deepEqual(parseScpPath('user@host:dir/f'), { user: 'user', host: 'host', path: 'dir/f' });
  assert.deepEqual(parseScpPath('[::1]:f'), { user: null, host: '::1', path: 'f' });
  assert.deepEqual(parseScpPath('h:'), { user: null, host: 'h', path: '' });
  for (const local of ['/abs:x', './a:b', ':x', 'plain', 'dir/a:b']) assert.equal(parseScpPath(local), null, local);
});

test('remote -> local: a file by host:path string, a tree with recurse + preserve', async () => {
  const out = join(dir, 'down');
  mkdirSync(out);
  await scp('127.0.0.1:/tree/a.bin', out, opts());
  assert.equal(sha(readFileSync(join(out, 'a.bin'))), sha(readFileSync(join(root, 'tree/a.bin'))));
  const seen: number[] = [];
  await scp([conn, 'tree'], join(out, 'copy'), { recurse: true, preserve: true, progressHandler: (_s, _d, n, total) => n === total && seen.push(total) });
  assert.deepEqual(readdirSync(join(out, 'copy'), { recursive: true }).sort(), ['a.bin', 'sub', 'sub/empty', 'sub/x.txt']);
  const st = statSync(join(out, 'copy/sub/x.txt'));
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1_500_000_000);
  assert.equal(Math.floor(st.atimeMs / 1000), 1_600_000_000);
  assert.equal(Math.floor(statSync(join(out, 'copy/sub')).mtimeMs / 1000), 1_500_000_100);
  assert.ok(seen.includes(700_001) && seen.includes(0));
});

test('local -> remote: several sources and a wildcard into a directory; a tree with preserve', async () => {
  const src = join(dir, 'up');
  mkdirSync(join(src, 'd'), { recursive: true });
  for (const n of ['1.log', '2.log', 'keep.txt']) writeFileSync(join(src, n), n);
  writeFileSync(join(src, 'd/deep'), randomBytes(300_000));
  chmodSync(join(src, 'd/deep'), 0o600);
  utimesSync(join(src, 'd/deep'), 1_400_000_000, 1_300_000_000);
  mkdirSync(join(root, 'in'));
  await scp([join(src, '*.log'), join(src, 'keep.txt')], { conn, path: '/in' });
  assert.deepEqual(readdirSync(join(root, 'in')).sort(), ['1.log', '2.log', 'keep.txt']);
  await scp(join(src, 'd'), `127.0.0.1:/in/tree`, { ...opts(), recurse: true, preserve: true });
  const st = statSync(join(root, 'in/tree/deep'));
  assert.equal(sha(readFileSync(join(root, 'in/tree/deep'))), sha(readFileSync(join(src, 'd/deep'))));
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1_300_000_000);
});

test('remote -> remote (third party, two connections) and per-file errors through errorHandler', async () => {
  const conn2 = await connect('127.0.0.1', opts());
  try {
    await scp([conn, '/tree'], [conn2, '/third'], { recurse: true });
    assert.equal(sha(readFileSync(join(root, 'third/a.bin'))), sha(readFileSync(join(root, 'tree/a.bin'))));
    assert.deepEqual(readdirSync(join(root, 'third/sub')).sort(), ['empty', 'x.txt']);
  } finally {
    conn2.close();
  }
  const errors: Error[] = [];
  await scp([conn, '/missing'], join(dir, 'nowhere'), { errorHandler: (e) => errors.push(e) });
  assert.ok(errors.length >= 1 && /missing: No such file/.test(errors[0]!.message), errors.map((e) => e.message).join('|'));
  await assert.rejects(scp([conn, '/tree'], join(dir, 'nodir')), /not a regular file/);
  // The chroot holds: '..' stops at the root, so /../../etc/passwd is the root's own (missing) etc/passwd.
  await assert.rejects(scp([conn, '/../../etc/passwd'], join(dir, 'pw')), /No such file/);
  assert.equal(existsSync(join(dir, 'pw')), false);
});

// ---- a hostile scp source: what it sends after the sink's first 0 ----
const HOSTILE: Array<[string, string, RegExp]> = [
  ['slash in name', 'C0644 3 ../x\nabc\0', /unsafe name/],
  ['absolute name', 'C0644 3 /tmp/x\nabc\0', /unsafe name/],
  ['dot-dot dir', 'D0755 0 ..\nE\n', /unsafe name/],
  ['name not asked for', 'C0644 3 evil.sh\nabc\0', /not asked for/],
  ['directory without -r', 'D0755 0 want\nE\n', /without -r/],
  ['E at top level', 'E\n', /unexpected E/],
  ['garbage line', 'Z what\n', /unknown control line/],
  ['short data then EOF', 'C0644 100 want\nabc', /bytes of file data missing/],
  ['fatal message', '\x02scp: boom\n', /boom/],
  ['nested slash', 'D0755 0 want\nC0644 1 a/b\nx\0E\n', /unsafe name "a\/b"/],
];

function hostileScp(proc: SSHServerProcess): void {
  const m = /^scp(?: -r)? -f -- hostile(\d+)\/want$/.exec(proc.command ?? '');
  if (!m) {
    proc.exit(127);
    return;
  }
  const [, body] = HOSTILE[Number(m[1])]!;
  proc.stdin.once('data', () => {
    proc.stdout.write(Buffer.from(body, 'utf8'));
    // Keep answering acks so only the client's own checks stop it.
    proc.stdin.on('data', () => undefined);
    setTimeout(() => proc.exit(0), 50);
  });
}

test('hostile scp server: every bad line is refused and nothing lands outside the destination', async () => {
  for (const [i, [name, , why]] of HOSTILE.entries()) {
    const out = join(dir, `hostile-${i}`);
    mkdirSync(out);
    const recurse = name === 'nested slash' || name === 'dot-dot dir';
    await assert.rejects(scp([conn, `hostile${i}/want`], out, { recurse }), (e: Error & { code?: string }) => e.code === 'ERR_SCP' && why.test(e.message), name);
    const left = readdirSync(out, { recursive: true });
    assert.ok(left.every((f) => f === 'want'), `${name}: ${left.join(',')}`);
    assert.equal(existsSync(join(dir, 'x')), false, name);
  }
});
