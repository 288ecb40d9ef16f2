/**
 * Forwarding against OpenSSH in both directions:
 *  - OpenSSH `ssh` -L, -R (and -R 0), -D (curl --socks5-hostname), -W and -J
 *    through the fleetssh server;
 *  - the fleetssh client's local, remote, UNIX and SOCKS forwards through sshd;
 *  - a three-hop chain: fleetssh client -> sshd -> fleetssh server -> sshd.
 * Every stream is checked byte-exact (64 MiB up with half-close: the digest
 * comes back after our EOF) plus a download.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey, importPrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { freePort, makeTempDir, removeTempDir, requireBinary, runProcess, sshArgs, type SshTarget } from '../helpers/ssh-client.js';
import { dialPath, dialTcp, downloadThrough, randomChunks, startHashServer, uploadThrough, within, type HashServer } from '../integration/forward-helpers.js';
import { ChannelListenError } from '../../src/protocol/errors.js';

const MiB = 1024 * 1024;
const BIG = 64 * MiB;
const skip = sshdSkipReason() ?? requireBinary('ssh', 'openssh-client');
const FAST = { kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'] };

interface BackgroundSsh {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `ssh` in the background (for -L/-R/-D -N) and waits for `ready` on its stderr or a port. */
function spawnSsh(args: string[]): BackgroundSsh {
  const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => (err += t));
  return {
    child,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function portOpen(port: number): Promise<true | null> {
  try {
    (await dialTcp(port)).destroy();
    return true;
  } catch {
    return null;
  }
}

async function checkStreams(open: () => Promise<import('node:stream').Duplex>, hash: HashServer, label: string): Promise<void> {
  const up = await within(60_000, `${label} upload`, uploadThrough(await open(), BIG));
  assert.equal(up.echoed, up.sent, `${label}: 64 MiB upload byte-exact, digest received after our EOF`);
  const down = await within(30_000, `${label} download`, downloadThrough(await open(), 8 * MiB));
  assert.equal(down.bytes, 8 * MiB, label);
  assert.equal(down.sha256, hash.sent.at(-1), `${label}: download byte-exact`);
}

describe('OpenSSH ssh through the fleetssh server', { skip, timeout: 120_000 }, () => {
  let server: SSHServer;
  let hash: HashServer;
  let dir: string;
  let target: SshTarget;

  before(async () => {
    dir = makeTempDir('fleetssh-fwd-ossh-');
    const key = generatePrivateKey('ssh-ed25519');
    const keyPath = join(dir, 'id_ed25519');
    writeFileSync(keyPath, key.exportPrivateKey('openssh'), { mode: 0o600 });
    server = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: [key.publicOnly()] });
    hash = await startHashServer();
    target = { port: server.port, user: 'u', identityFile: keyPath, options: { ExitOnForwardFailure: 'yes', Ciphers: 'aes128-gcm@openssh.com', KexAlgorithms: 'curve25519-sha256' } };
  });
  after(async () => {
    await server?.close();
    await hash?.close();
    if (dir) removeTempDir(dir);
  });

  test('ssh -L: 64 MiB up (half-close) and down, byte-exact', async () => {
    const lport = await freePort();
    const ssh = spawnSsh(['-N', '-L', `127.0.0.1:${lport}:127.0.0.1:${hash.port}`, ...sshArgs(target)]);
    try {
      await waitFor('ssh -L listener', 10_000, () => portOpen(lport));
      await checkStreams(() => dialTcp(lport), hash, 'ssh -L');
    } finally {
      await ssh.stop();
    }
  });

  test('ssh -R 0: the allocated port is reported and forwards back byte-exact', async () => {
    const ssh = spawnSsh(['-N', '-R', `0:127.0.0.1:${hash.port}`, ...sshArgs({ ...target, logLevel: 'INFO' })]);
    try {
      const port = await waitFor('Allocated port', 10_000, () => {
        const m = /Allocated port (\d+)/.exec(ssh.stderr());
        return m ? Number(m[1]) : null;
      });
      await checkStreams(() => dialTcp(port), hash, 'ssh -R 0');
    } finally {
      await ssh.stop();
    }
  });

  test('ssh -R with a fixed port binds loopback on the server side', async () => {
    const rport = await freePort();
    const ssh = spawnSsh(['-N', '-R', `${rport}:127.0.0.1:${hash.port}`, ...sshArgs(target)]);
    try {
      await waitFor('ssh -R listener', 10_000, () => portOpen(rport));
      const up = await uploadThrough(await dialTcp(rport), 4 * MiB);
      assert.equal(up.echoed, up.sent);
    } finally {
      await ssh.stop();
    }
  });

  test('ssh -D with curl --socks5-hostname to a loopback HTTP server', { skip: requireBinary('curl', 'curl') }, async () => {
    const body = Buffer.concat([...randomChunks(BIG)]);
    const digest = createHash('sha256').update(body).digest('hex');
    const http: HttpServer = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const httpPort = (http.address() as { port: number }).port;
    const dport = await freePort();
    const ssh = spawnSsh(['-N', '-D', `127.0.0.1:${dport}`, ...sshArgs(target)]);
    try {
      await waitFor('ssh -D listener', 10_000, () => portOpen(dport));
      const r = await runProcess('curl', ['-sS', '--socks5-hostname', `127.0.0.1:${dport}`, `http://localhost:${httpPort}/blob`], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, BIG);
      assert.equal(createHash('sha256').update(r.stdout).digest('hex'), digest);
    } finally {
      await ssh.stop();
      http.close();
    }
  });

  test('ssh -W: stdio forwarding, 64 MiB up then the digest back after stdin EOF', async () => {
    const input = Buffer.concat([Buffer.from('U'), ...randomChunks(BIG)]);
    const r = await runProcess('ssh', ['-W', `127.0.0.1:${hash.port}`, ...sshArgs(target)], { input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), createHash('sha256').update(input.subarray(1)).digest('hex'));
  });

  test('ssh -J through the fleetssh server to sshd runs a command', async () => {
    const sshd = await startSshd();
    try {
      // -J hands -F to the jump's own ssh, so both hops are described in one config file.
      const cfg = join(dir, 'ssh_config');
      writeFileSync(
        cfg,
        [
          'Host fleetjump',
          `  HostName 127.0.0.1`,
          `  Port ${server.port}`,
          '  User u',
          `  IdentityFile ${target.identityFile}`,
          '  UserKnownHostsFile /dev/null',
          '  StrictHostKeyChecking no',
          'Host final',
          '  HostName 127.0.0.1',
          `  Port ${sshd.port}`,
          '  User root',
          `  IdentityFile ${sshd.clientKeys.ed25519.privatePath}`,
          `  UserKnownHostsFile ${sshd.knownHostsFile}`,
          'Host *',
          '  BatchMode yes',
          '  IdentitiesOnly yes',
          '  IdentityAgent none',
          '  GlobalKnownHostsFile /dev/null',
          '  LogLevel ERROR',
          '',
        ].join('\n'),
      );
      const r = await runProcess('ssh', ['-F', cfg, '-J', 'fleetjump', 'final', 'echo', 'through-the-jump'], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'through-the-jump\n');
    } finally {
      await sshd.stop();
    }
  });
});

describe('fleetssh client forwarding through OpenSSH sshd', { skip, timeout: 120_000 }, () => {
  let sshd: SshdServer;
  let conn: SSHClientConnection;
  let hash: HashServer;
  let key: SSHKey;
  let dir: string;

  before(async () => {
    sshd = await startSshd();
    key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    conn = await connect('127.0.0.1', { port: sshd.port, username: 'root', clientKeys: [key], knownHosts: sshd.knownHostsFile, ...FAST });
    hash = await startHashServer();
    dir = makeTempDir('fleetssh-fwd-unix-');
  });
  after(async () => {
    await conn?.close();
    await sshd?.stop();
    await hash?.close();
    if (dir) removeTempDir(dir);
  });

  test('local port forward (direct-tcpip): 64 MiB up with half-close, 8 MiB down', async () => {
    const l = await conn.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', hash.port);
    await checkStreams(() => dialTcp(l.port), hash, 'forwardLocalPort via sshd');
    await l.close();
  });

  test('remote port forward (tcpip-forward, port 0) and cancel', async () => {
    const l = await conn.forwardRemotePort('127.0.0.1', 0, '127.0.0.1', hash.port);
    assert.ok(l.port > 0);
    await checkStreams(() => dialTcp(l.port), hash, 'forwardRemotePort via sshd');
    await l.close();
    await waitFor('sshd closes the cancelled listener', 5000, async () => ((await portOpen(l.port)) ? null : true));
  });

  test('UNIX forwards (direct-streamlocal, streamlocal-forward)', async () => {
    const unixHash = await startHashServer({ path: join(dir, 'hash.sock') });
    try {
      const lp = await conn.forwardLocalPath(join(dir, 'l.sock'), join(dir, 'hash.sock'));
      await checkStreams(() => dialPath(join(dir, 'l.sock')), unixHash, 'forwardLocalPath via sshd');
      await lp.close();
      const rp = await conn.forwardRemotePathToPort(join(dir, 'r.sock'), '127.0.0.1', hash.port);
      await waitFor('remote socket', 5000, async () => {
        try {
          (await dialPath(join(dir, 'r.sock'))).destroy();
          return true;
        } catch {
          return null;
        }
      });
      const up = await uploadThrough(await dialPath(join(dir, 'r.sock')), 8 * MiB);
      assert.equal(up.echoed, up.sent);
      await rp.close();
    } finally {
      await unixHash.close();
    }
  });

  test('SOCKS5 forward: curl --socks5-hostname, host name resolved by sshd', { skip: requireBinary('curl', 'curl') }, async () => {
    const body = Buffer.concat([...randomChunks(BIG)]);
    const http = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const l = await conn.forwardSocks('127.0.0.1', 0);
    try {
      const port = (http.address() as { port: number }).port;
      const r = await runProcess('curl', ['-sS', '--socks5-hostname', `127.0.0.1:${l.port}`, `http://localhost:${port}/`], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(body).digest('hex'));
      const r4 = await runProcess('curl', ['-sS', '--socks4a', `127.0.0.1:${l.port}`, `http://localhost:${port}/`], { timeoutMs: 60_000 });
      assert.equal(r4.stdout.length, body.length);
    } finally {
      await l.close();
      http.close();
    }
  });

  test('sshd refuses a remote listener when AllowTcpForwarding is local: our call rejects, connection lives', async () => {
    const strict = await startSshd({ config: { AllowTcpForwarding: 'local' } });
    try {
      const c = await connect('127.0.0.1', { port: strict.port, username: 'root', clientKeys: [key], knownHosts: strict.knownHostsFile, ...FAST });
      await assert.rejects(c.forwardRemotePort('127.0.0.1', 0, '127.0.0.1', hash.port), (e: unknown) => e instanceof ChannelListenError && /refused/.test(e.message));
      assert.equal((await c.run('echo alive')).stdout, 'alive\n');
      await c.close();
    } finally {
      await strict.stop();
    }
  });
});

describe('three-hop jump chain: fleetssh client -> sshd -> fleetssh server -> sshd', { skip, timeout: 60_000 }, () => {
  test('runs a command at the end, tunnel given as a ProxyJump string', async () => {
    const [a, b] = await Promise.all([startSshd(), startSshd()]);
    const key = importPrivateKey(readFileSync(a.clientKeys.ed25519.privatePath, 'utf8'));
    const mid = await listen({ host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: [key.publicOnly()] });
    try {
      const conn = await connect('127.0.0.1', {
        port: b.port,
        username: 'root',
        clientKeys: [key],
        knownHosts: null,
        tunnel: `root@127.0.0.1:${a.port},u@127.0.0.1:${mid.port}`,
        ...FAST,
      });
      const r = await conn.run('echo end-of-chain');
      assert.equal(r.stdout, 'end-of-chain\n');
      const hash = await startHashServer();
      const c = await conn.openConnection('127.0.0.1', hash.port);
      const up = await within(30_000, 'upload through three hops', uploadThrough(c, 16 * MiB));
      assert.equal(up.echoed, up.sent);
      await hash.close();
      await conn.close();
      assert.ok(/Accepted publickey for root/.test(a.logs()) && /Accepted publickey for root/.test(b.logs()));
    } finally {
      await mid.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
