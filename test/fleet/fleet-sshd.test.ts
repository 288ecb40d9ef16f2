// The fleet run against a real OpenSSH 9.2 sshd listening on several 127.0.0.x addresses (started by the test),
// mixed with a refused address and one whose known_hosts entry is wrong: outcomes, exit statuses, host-key
// checking through known_hosts, and a command timeout that closes the session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet } from '../../src/orchestrator/fleet.js';
import type { HostResult } from '../../src/orchestrator/types.js';
import { main } from '../../src/cli/cli.js';
import { descendantPids, sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';

const skip = sshdSkipReason();
const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('fleet -> OpenSSH sshd on 127.0.0.x', { skip, timeout: 90_000 }, () => {
  let sshd: SshdServer;
  let dir: string;
  let knownHosts: string;
  let hosts: { name: string; host: string; port: number }[];

  before(async () => {
    sshd = await startSshd({ hostKeys: ['ed25519'], config: { ListenAddress: ADDRS, MaxStartups: '100' } });
    dir = mkdtempSync(join(tmpdir(), 'fleet-sshd-'));
    const [type, blob] = sshd.hostKeys.ed25519.publicLine.split(' ');
    const wrong = sshd.clientKeys.ed25519.publicLine.split(' ').slice(0, 2).join(' ');
    // 127.0.0.4 is pinned to a different key: its host key must be refused.
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      ADDRS.map((a) => (a === '127.0.0.4' ? `[${a}]:${sshd.port} ${wrong}\n` : `[${a}]:${sshd.port} ${type} ${blob}\n`)).join(''),
    );
    hosts = [...ADDRS, '127.0.0.9'].map((a) => ({ name: a, host: a, port: sshd.port }));
  });

  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fleet = (extra: { timeouts?: { command?: number } } = {}): Fleet =>
    new Fleet(hosts, {
      concurrency: 10,
      retries: 1,
      backoff: { baseMs: 20 },
      connect: { username: 'root', knownHosts, clientKeys: [sshd.clientKeys.ed25519.privatePath] },
      timeouts: { connect: 10_000, ...extra.timeouts },
    });

  test('put: a tree to every host over SFTP (per-host remote dirs), file events, and the same outcomes for the bad hosts', async () => {
    const src = join(dir, 'site');
    mkdirSync(join(src, 'sub'), { recursive: true });
    const big = randomBytes(700_000);
    writeFileSync(join(src, 'index.html'), '<h1>fleet</h1>');
    writeFileSync(join(src, 'sub', 'big.bin'), big);
    const remoteOf = (h: { name: string }): string => join(dir, `dest-${h.name}`);
    const files: Record<string, string[]> = {};
    const events: string[] = [];
    const r = await new Promise<HostResult[]>((resolve, reject) => {
      const results: HostResult[] = [];
      fleet().put(src, remoteOf, { recurse: true }).subscribe({
        next: (e) => {
          events.push(e.type);
          if (e.type === 'file') (files[e.host] ??= []).push(`${e.path.slice(remoteOf({ name: e.host }).length)}:${e.bytes}`);
          if (e.type === 'done') results.push(e.result);
        },
        error: reject,
        complete: () => resolve(results),
      });
    });
    const by = Object.fromEntries(r.map((x) => [x.host, x]));
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      assert.equal(by[a]!.outcome, 'succeeded', JSON.stringify(by[a]));
      assert.equal(readFileSync(join(remoteOf({ name: a }), 'index.html'), 'utf8'), '<h1>fleet</h1>');
      assert.ok(readFileSync(join(remoteOf({ name: a }), 'sub', 'big.bin')).equals(big), `${a}: big.bin byte-exact`);
      assert.deepEqual(files[a]!.sort(), ['/index.html:14', '/sub/big.bin:700000']);
    }
    assert.deepEqual([by['127.0.0.4']!.outcome, by['127.0.0.4']!.error?.kind], ['unreachable', 'host-key-refused']);
    assert.deepEqual([by['127.0.0.9']!.outcome, by['127.0.0.9']!.error?.kind], ['unreachable', 'unreachable']);
    assert.equal(existsSync(remoteOf({ name: '127.0.0.4' })), false);
    // A put that fails on the host (no such remote directory, no recurse to make it) is 'failed', with the SFTP error.
    const bad = await new Fleet([hosts[0]!], {
      connect: { username: 'root', knownHosts, clientKeys: [sshd.clientKeys.ed25519.privatePath] }, retries: 0,
    }).putAll(join(src, 'index.html'), join(dir, 'no-such-dir', 'x', 'index.html'));
    assert.equal(bad.results[0]!.outcome, 'failed', JSON.stringify(bad.results[0]));
    assert.match(bad.results[0]!.error?.message ?? '', /no such file|No such file/i);
    assert.ok(events.includes('started') && events.includes('file'));
  });

  test('get: a tree from every host into a directory per host; the bad hosts get none', async () => {
    const src = join(dir, 'remote-logs');
    mkdirSync(join(src, 'app'), { recursive: true });
    writeFileSync(join(src, 'app', 'app.log'), 'line 1\nline 2\n');
    const into = join(dir, 'gathered');
    const r = await fleet().getAll(src, into, { recurse: true });
    const by = Object.fromEntries(r.results.map((x) => [x.host, x]));
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      assert.equal(by[a]!.outcome, 'succeeded', JSON.stringify(by[a]));
      assert.equal(readFileSync(join(into, a, 'remote-logs', 'app', 'app.log'), 'utf8'), 'line 1\nline 2\n');
    }
    assert.equal(by['127.0.0.9']!.outcome, 'unreachable');
    assert.equal(existsSync(join(into, '127.0.0.9')), false);
    assert.equal(existsSync(join(into, '127.0.0.4')), false);
  });

  test('fleetssh put (CLI): -r a tree to sshd, a refused host gives exit code 4; --json-events lists the files', async () => {
    const src = join(dir, 'cli-src');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc', 'app.conf'), 'x=1\n');
    const dest = join(dir, 'cli-dest');
    let out = '';
    let err = '';
    const io = {
      stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) },
      rawStdout: { write: (t: string | Buffer) => (out += t.toString()) }, rawStderr: { write: (t: string | Buffer) => (err += t.toString()) }, env: {},
    };
    const code = await main(['put', '-H', `127.0.0.1:${sshd.port}`, '-H', `127.0.0.9:${sshd.port}`, '-l', 'root', '-k', sshd.clientKeys.ed25519.privatePath,
      '--insecure', '--retries', '0', '--json-events', '-r', src, dest], io);
    assert.equal(code, 4, err + out);
    assert.equal(readFileSync(join(dest, 'etc', 'app.conf'), 'utf8'), 'x=1\n');
    const files = out.split('\n').filter((l) => l.includes('"type":"file"')).map((l) => JSON.parse(l) as { host: string; path: string; bytes: number });
    assert.deepEqual(files.map((f) => [f.host, f.path, f.bytes]), [[`127.0.0.1:${sshd.port}`, join(dest, 'etc', 'app.conf'), 4]]);
    assert.match(out, new RegExp(`"type":"done","host":"127\\.0\\.0\\.9:${sshd.port}".*"outcome":"unreachable"`));
    // And back: fleetssh get -r into a directory per host ("127.0.0.1:PORT" -> "127.0.0.1_PORT").
    const back = join(dir, 'cli-back');
    out = '';
    const got = await main(['get', '-H', `127.0.0.1:${sshd.port}`, '-l', 'root', '-k', sshd.clientKeys.ed25519.privatePath, '--insecure', '--json', '-r', dest, back], io);
    assert.equal(got, 0, err + out);
    assert.equal(readFileSync(join(back, `127.0.0.1_${sshd.port}`, 'cli-dest', 'etc', 'app.conf'), 'utf8'), 'x=1\n');
  });

  test('outcomes per host: success, refused, host key refused', async () => {
    const r = await fleet().runAll('echo "fleet $SSH_CONNECTION"');
    const by = Object.fromEntries(r.results.map((x) => [x.host, x]));
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      assert.equal(by[a]!.outcome, 'succeeded', JSON.stringify(by[a]));
      // sshd saw the connection arrive on that very address.
      assert.match(by[a]!.stdout, new RegExp(`^fleet 127\\.0\\.0\\.1 \\d+ ${a.replace(/\./g, '\\.')} ${sshd.port}\\n$`));
    }
    assert.deepEqual([by['127.0.0.4']!.outcome, by['127.0.0.4']!.error?.kind, by['127.0.0.4']!.attempts], ['unreachable', 'host-key-refused', 1]);
    assert.deepEqual([by['127.0.0.9']!.outcome, by['127.0.0.9']!.error?.kind, by['127.0.0.9']!.attempts], ['unreachable', 'unreachable', 2]);
  });

  test('non-zero exits and signals are reported, not retried', async () => {
    const r = await fleet().runAll('echo out; echo err >&2; exit 3');
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const x = r.results.find((y) => y.host === a)!;
      assert.deepEqual([x.outcome, x.exitStatus, x.stdout, x.stderr, x.attempts], ['failed', 3, 'out\n', 'err\n', 1]);
    }
    const k = await fleet().runAll('kill -TERM $$');
    assert.equal(k.results.find((y) => y.host === '127.0.0.2')!.exitSignal, 'TERM');
  });

  test('a command timeout ends the host as failed/timeout and the session goes away', async () => {
    const r = await fleet({ timeouts: { command: 500 } }).runAll('sleep 30');
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const x = r.results.find((y) => y.host === a)!;
      assert.deepEqual([x.outcome, x.error?.kind, x.error?.phase], ['failed', 'timeout', 'command']);
    }
    // The fleet closed the connections: sshd's per-connection processes go away.
    let left = descendantPids(sshd.pid);
    for (let i = 0; i < 60 && left.length > 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      left = descendantPids(sshd.pid);
    }
    assert.deepEqual(left, [], 'no sshd session left');
  });
});
