/**
 * Proves the OpenSSH test harness against OpenSSH itself: the sshd started by
 * startSshd() serves every host key type and authorizes every client key type,
 * its known_hosts file verifies under StrictHostKeyChecking=yes, exit statuses
 * and binary stdin/stdout pass through, config overrides take effect, a bad
 * config fails with sshd's log, and stop() leaves no process behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import {
  CLIENT_KEY_NAMES,
  HOST_KEY_ALGORITHMS,
  HOST_KEY_NAMES,
  descendantPids,
  isAlive,
  pathExists,
  sshdSkipReason,
  startSshd,
  testUser,
  testUserSkipReason,
  type SshdServer,
} from '../helpers/openssh.js';
import { HOSTILE_SCENARIOS, kexinitPayload, plainPacket, probeServer, startHostileServer, type HostileReport } from '../helpers/hostile-peer.js';
import { keygen, makeTempDir, randomFile, requireBinary, runProcess, runSsh, sha256File, sshArgs, type SshTarget } from '../helpers/ssh-client.js';

const skip = sshdSkipReason() ?? requireBinary('ssh', 'openssh-client');

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('OpenSSH harness', { skip }, () => {
  let server: SshdServer;
  const target = (over: Partial<SshTarget> = {}): SshTarget => ({
    port: server.port,
    identityFile: server.clientKeys.ed25519.privatePath,
    knownHostsFile: server.knownHostsFile,
    strictHostKeyChecking: 'yes',
    ...over,
  });

  before(async () => {
    server = await startSshd();
  });
  after(async () => {
    await server?.stop();
  });

  for (const name of HOST_KEY_NAMES) {
    for (const alg of HOST_KEY_ALGORITHMS[name]) {
      test(`host key ${name} verifies from known_hosts with HostKeyAlgorithms=${alg}`, async () => {
        const r = await runSsh(['echo', 'ok'], { target: target({ logLevel: 'DEBUG1', options: { HostKeyAlgorithms: alg } }) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.toString(), 'ok\n');
        // At DEBUG1 ssh names the negotiated algorithm and the key it was shown.
        assert.match(r.stderr, new RegExp(`kex: host key algorithm: ${alg}\\b`));
        const m = /Server host key: (\S+) (SHA256:\S+)/.exec(r.stderr);
        assert.ok(m, 'ssh printed the server host key');
        assert.equal(m[1], server.hostKeys[name].keyType);
        const fp = await runProcess('ssh-keygen', ['-l', '-E', 'sha256', '-f', server.hostKeys[name].publicPath]);
        assert.equal(fp.code, 0, fp.stderr);
        assert.ok(fp.stdout.toString().includes(m[2]!), `fingerprint ${m[2]} is ${name}'s: ${fp.stdout}`);
      });
    }
  }

  test('an unknown host key is refused under StrictHostKeyChecking=yes', async () => {
    const empty = join(makeTempDir(), 'known_hosts');
    writeFileSync(empty, '');
    const r = await runSsh(['true'], { target: target({ knownHostsFile: empty }) });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Host key verification failed/);
  });

  for (const name of CLIENT_KEY_NAMES) {
    test(`client key ${name} logs in as root`, async () => {
      const r = await runSsh(['id', '-un'], { target: target({ identityFile: server.clientKeys[name].privatePath }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'root\n');
    });
  }

  test('client keys also log in as the test user', { skip: testUserSkipReason() }, async () => {
    const user = testUser()!;
    for (const name of CLIENT_KEY_NAMES) {
      const r = await runSsh(['id', '-un'], { target: target({ user: user.name, identityFile: server.clientKeys[name].privatePath }) });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout.toString(), `${user.name}\n`);
    }
  });

  test('a key that is not authorized is refused, and authorizeKey() admits it', async () => {
    const stranger = await keygen('ed25519');
    const denied = await runSsh(['true'], { target: target({ identityFile: stranger.privatePath }) });
    assert.equal(denied.code, 255);
    assert.match(denied.stderr, /Permission denied/);
    server.authorizeKey(stranger.publicLine);
    const ok = await runSsh(['echo', 'in'], { target: target({ identityFile: stranger.privatePath }) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.toString(), 'in\n');
  });

  test('exit statuses propagate', async () => {
    for (const status of [0, 1, 42, 255]) {
      const r = await runSsh([`exit ${status}`], { target: target() });
      assert.equal(r.code, status, r.stderr);
    }
  });

  test('binary stdin reaches the remote command and comes back unchanged', async () => {
    const input = new Uint8Array(300_000);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919 + (i >> 8)) & 0xff;
    const r = await runSsh(['cat'], { target: target(), input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(input).digest('hex'));
  });

  test('AcceptEnv passes FLEETSSH_* variables only', async () => {
    const r = await runSsh(['echo "${FLEETSSH_X:-unset} ${OTHER_X:-unset}"'], {
      target: target({ options: { SetEnv: 'FLEETSSH_X=yes OTHER_X=no' } }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'yes unset\n');
  });

  test('the sftp subsystem moves a file intact', { skip: requireBinary('sftp', 'openssh-client') }, async () => {
    const dir = makeTempDir();
    const src = join(dir, 'up.bin');
    const digest = await randomFile(src, 1_000_000);
    const back = join(dir, 'down.bin');
    const remote = join(server.dir, 'remote.bin');
    const t = target();
    const sftpArgs = sshArgs(t).slice(0, -1).map((a) => (a === '-p' ? '-P' : a));
    sftpArgs.push('-b', '-', `root@127.0.0.1`);
    const r = await runProcess('sftp', sftpArgs, { input: `put ${src} ${remote}\nget ${remote} ${back}\n`, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(remote), digest);
    assert.equal(await sha256File(back), digest);
  });

  test('sshd logs at DEBUG1 to logs()', () => {
    assert.match(server.logs(), /debug1: /);
    assert.match(server.logs(), /Accepted publickey for root/);
  });
});

describe('OpenSSH harness: configuration and lifecycle', { skip }, () => {
  test('config overrides replace the defaults (Ciphers, HostKeys subset)', async () => {
    const server = await startSshd({ config: { Ciphers: 'aes128-ctr' }, hostKeys: ['ecdsa384'] });
    try {
      const base: SshTarget = {
        port: server.port,
        identityFile: server.clientKeys.ecdsa.privatePath,
        knownHostsFile: server.knownHostsFile,
        strictHostKeyChecking: 'yes',
      };
      const ok = await runSsh(['-c', 'aes128-ctr', 'true'], { target: base });
      assert.equal(ok.code, 0, ok.stderr);
      const bad = await runSsh(['-c', 'aes256-gcm@openssh.com', 'true'], { target: base });
      assert.equal(bad.code, 255);
      assert.match(bad.stderr, /no matching cipher found/);
      const ed = await runSsh(['true'], { target: { ...base, options: { HostKeyAlgorithms: 'ssh-ed25519' } } });
      assert.equal(ed.code, 255, 'only the ecdsa384 host key was loaded');
      assert.match(ed.stderr, /no matching host key type found/);
    } finally {
      await server.stop();
    }
  });

  test('a config sshd rejects fails startSshd with the sshd log', async () => {
    await assert.rejects(startSshd({ config: { NoSuchKeyword: 'yes' } }), (e: Error) => {
      assert.match(e.message, /exited/);
      assert.match(e.message, /NoSuchKeyword|Bad configuration option/i);
      return true;
    });
  });

  test('stop() ends sshd and its connection processes and removes its dir', async () => {
    const server = await startSshd();
    // A live session: ssh runs a remote sleep that outlasts the test.
    const client = spawn('ssh', [...sshArgs({ port: server.port, identityFile: server.clientKeys.rsa.privatePath, knownHostsFile: server.knownHostsFile }), 'sleep', '60'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const clientExit = new Promise<number | null>((resolve) => client.once('exit', (code) => resolve(code)));
    try {
      let children: number[] = [];
      for (let i = 0; i < 200 && !children.some((p) => isSleep(p)); i++) {
        await new Promise((r) => setTimeout(r, 25));
        children = descendantPids(server.pid);
      }
      assert.ok(children.some((p) => isSleep(p)), `the remote sleep runs under sshd: ${children}`);
      await server.stop();
      assert.equal(isAlive(server.pid), false, 'listener gone');
      for (const p of children) assert.equal(isAlive(p), false, `process ${p} gone`);
      assert.equal(await portRefuses(server.port), true, 'port closed');
      assert.equal(pathExists(server.dir), false, 'dir removed');
      assert.match(server.logs(), /Server listening on 127\.0\.0\.1/, 'logs() still readable after stop');
      await server.stop(); // idempotent
      assert.notEqual(await clientExit, 0, 'the client saw its session end');
    } finally {
      client.kill('SIGKILL');
    }
  });
});

/**
 * How OpenSSH 9.2 reacts to each stock misbehaviour (observed on Debian 12,
 * openssh 1:9.2p1-2+deb12u10), as a server and as a client. 'timeout' means it
 * kept the connection open: it tolerates a 300-byte version line (its own limit
 * is 8 KiB) and answers an early NEWKEYS with UNIMPLEMENTED, then waits.
 */
const OPENSSH_REACTIONS: Record<string, { outcome: HostileReport['outcome']; sawMsg?: number; clientError?: RegExp }> = {
  'overlong-version': { outcome: 'timeout', sawMsg: 20 },
  'endless-version': { outcome: 'closed', clientError: /banner line too long/ },
  'many-pre-banner-lines': { outcome: 'closed', clientError: /No SSH version received in first 1024 lines/ },
  'wrong-protocol-version': { outcome: 'closed', clientError: /Protocol major versions differ/ },
  'huge-packet-length': { outcome: 'closed' },
  'zero-packet-length': { outcome: 'closed' },
  'padding-longer-than-packet': { outcome: 'closed' },
  'garbage-kexinit': { outcome: 'closed', clientError: /invalid format/ },
  'truncated-kexinit': { outcome: 'closed', clientError: /incomplete message/ },
  'newkeys-before-kexinit': { outcome: 'timeout', sawMsg: 3 },
  'userauth-before-kex': { outcome: 'closed' },
};

describe('hostile peer helper', () => {
  test('plainPacket frames payloads per RFC 4253 §6 (block of 8, padding 4..255)', () => {
    for (let n = 1; n < 40; n++) {
      const p = plainPacket(new Uint8Array(n).fill(7));
      const len = (p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!;
      assert.equal(len + 4, p.length);
      assert.equal(p.length % 8, 0);
      assert.ok(p[4]! >= 4 && p[4]! === len - 1 - n, `padding for n=${n}`);
    }
  });

  test('kexinitPayload lays out cookie, ten name-lists, flag and reserved word', () => {
    const k = kexinitPayload(['a', 'bc']);
    assert.equal(k[0], 20);
    assert.equal(k.length, 1 + 16 + 4 + 1 + 4 + 2 + 8 * 4 + 1 + 4);
  });
});

describe('hostile peer against OpenSSH', { skip }, () => {
  let server: SshdServer;
  before(async () => {
    server = await startSshd();
  });
  after(async () => {
    await server?.stop();
  });

  for (const sc of HOSTILE_SCENARIOS) {
    const expected = OPENSSH_REACTIONS[sc.name];
    test(`sshd vs ${sc.name}: ${expected?.outcome}`, async () => {
      assert.ok(expected, `an expectation for ${sc.name}`);
      const r = await probeServer(server.port, sc.steps, { timeoutMs: expected.outcome === 'timeout' ? 1500 : 8000 });
      assert.equal(r.outcome, expected.outcome, JSON.stringify(r));
      assert.match(r.peerVersion ?? '', /^SSH-2\.0-OpenSSH_/);
      if (expected.sawMsg !== undefined) assert.ok(r.messages.includes(expected.sawMsg), JSON.stringify(r.messages));
    });
  }

  for (const sc of HOSTILE_SCENARIOS) {
    const expected = OPENSSH_REACTIONS[sc.name];
    test(`ssh client vs ${sc.name}: ${expected?.outcome}`, async () => {
      assert.ok(expected, `an expectation for ${sc.name}`);
      const hostile = await startHostileServer(sc.steps, { timeoutMs: expected.outcome === 'timeout' ? 1500 : 8000 });
      try {
        const [client, r] = await Promise.all([runSsh(['true'], { target: { port: hostile.port }, timeoutMs: 10_000 }), hostile.nextReport()]);
        assert.equal(client.code, 255, client.stderr);
        assert.equal(r.outcome, expected.outcome, JSON.stringify(r));
        assert.match(r.peerVersion ?? '', /^SSH-2\.0-OpenSSH_/);
        if (expected.sawMsg !== undefined) assert.ok(r.messages.includes(expected.sawMsg), JSON.stringify(r.messages));
        if (expected.clientError) assert.match(client.stderr, expected.clientError);
      } finally {
        await hostile.close();
      }
    });
  }
});

function isSleep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0');
  } catch {
    return false;
  }
}
