/**
 * OpenSSH `ssh -X` / `ssh -Y` against the fleetssh server with X11
 * forwarding on. The client side runs a fake X server (DISPLAY=127.0.0.1:M);
 * the remote command (our processFactory) connects to the session's $DISPLAY,
 * sends an X setup with the session's cookie and 8 MiB, and checks the echo
 * byte-exact. ssh must swap the fake cookie for its real one (-Y with an
 * xauth entry) or for its own fake data (-X with no xauth data), and reject
 * an X connection that shows the wrong cookie.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { findBinary, makeTempDir, removeTempDir, requireBinary, runSsh, type SshTarget } from '../helpers/ssh-client.js';
import { parseEcho, startFakeXServer, x11EchoProcess, type FakeXServer } from '../integration/x11-helpers.js';

const skip = requireBinary('ssh', 'openssh-client');
const xauth = findBinary('xauth');
const SIZE = 8 * 1024 * 1024;

function commands(proc: SSHServerProcess): void {
  // x11-wrong N: as x11-echo, but shows a cookie the client never handed out.
  if (proc.command?.startsWith('x11-wrong ') && proc.x11) {
    proc.x11 = { ...proc.x11, authCookie: randomBytes(16).toString('hex') };
    proc.command = proc.command.replace('x11-wrong', 'x11-echo');
  }
  x11EchoProcess(proc);
}

describe('X11 forwarding: OpenSSH ssh -X/-Y -> fleetssh server', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let server: SSHServer;
  let fake: FakeXServer;
  let target: SshTarget;
  let realCookie: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = makeTempDir('fleetssh-x11-ossh-');
    const key = generatePrivateKey('ssh-ed25519');
    const keyPath = join(dir, 'id_ed25519');
    writeFileSync(keyPath, key.exportPrivateKey('openssh'), { mode: 0o600 });
    server = await listen({
      host: '127.0.0.1',
      port: 0,
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      authorizedClientKeys: [key.publicOnly()],
      processFactory: commands,
      x11Forwarding: true,
      xauthLocation: xauth,
      x11AuthFile: join(dir, 'server.xauth'),
    });
    fake = await startFakeXServer();
    target = { port: server.port, user: 'u', identityFile: keyPath, options: { Ciphers: 'aes128-gcm@openssh.com', KexAlgorithms: 'curve25519-sha256' } };
    realCookie = randomBytes(16).toString('hex');
    const clientAuth = join(dir, 'client.xauth');
    if (xauth) execFileSync(xauth, ['-q', '-f', clientAuth, 'add', `127.0.0.1:${fake.display}`, 'MIT-MAGIC-COOKIE-1', realCookie], { stdio: 'ignore' });
    env = { ...process.env, DISPLAY: `127.0.0.1:${fake.display}`, XAUTHORITY: clientAuth };
  });
  after(async () => {
    await server?.close();
    await fake?.close();
    if (dir) removeTempDir(dir);
  });

  test('ssh -Y: 8 MiB byte-exact both ways; the X server gets ssh\'s real cookie', async () => {
    const before = fake.setups.length;
    const r = await runSsh(['-Y', `x11-echo ${SIZE}`], { target, env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    const out = parseEcho(r.stdout.toString());
    assert.match(out.display!, /^localhost:\d+\.0$/);
    assert.equal(out.sent, out.echoed, `${r.stdout} ${r.stderr}`);
    assert.equal(Number(out.bytes), SIZE);
    assert.equal(fake.setups.length, before + 1);
    const setup = fake.setups.at(-1)!;
    assert.equal(setup.name, 'MIT-MAGIC-COOKIE-1');
    if (xauth) {
      assert.equal(setup.cookie, realCookie);
      assert.notEqual(out.xauth, 'none', 'our server ran xauth add with the cookie ssh sent');
      assert.notEqual(out.xauth, realCookie, 'ssh sent a fake cookie, not its real one');
    }
  });

  test('ssh -X with no xauth data: byte-exact, ssh substitutes its own fake data', async () => {
    const before = fake.setups.length;
    const r = await runSsh(['-X', `x11-echo ${SIZE}`], { target, env: { ...env, XAUTHORITY: join(dir, 'none.xauth') }, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    const out = parseEcho(r.stdout.toString());
    assert.equal(out.sent, out.echoed, `${r.stdout} ${r.stderr}`);
    assert.equal(Number(out.bytes), SIZE);
    assert.equal(fake.setups.length, before + 1);
    const setup = fake.setups.at(-1)!;
    assert.equal(setup.name, 'MIT-MAGIC-COOKIE-1');
    assert.match(setup.cookie, /^[0-9a-f]{32}$/);
    assert.notEqual(setup.cookie, realCookie);
    if (xauth) assert.notEqual(setup.cookie, out.xauth, 'the cookie the session saw never reaches the X server');
  });

  test('ssh rejects an X connection with the wrong cookie; nothing reaches the X server', async () => {
    const before = fake.setups.length;
    const r = await runSsh(['-Y', 'x11-wrong 1000'], { target: { ...target, logLevel: 'INFO' }, env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = parseEcho(r.stdout.toString());
    assert.equal(out.bytes, '0');
    assert.equal(fake.setups.length, before);
    assert.match(r.stderr, /wrong authentication/);
  });
});
