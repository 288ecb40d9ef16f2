/**
 * getCertificateOption / checkCertificatePermission (AsyncSSH's
 * get_certificate_option / check_certificate_permission) on our server,
 * with OpenSSH `ssh` logging in with certificates made by `ssh-keygen -s`
 * (default extensions, -O clear with one permit-*, force-command, no-pty,
 * source-address), and with a password (no certificate).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { connect } from '../../src/actors/client.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelRequestError } from '../../src/protocol/errors.js';
import { keygen, makeTempDir, removeTempDir, requireBinary, runProcess, runSsh, sshArgs, type KeyFiles } from '../helpers/ssh-client.js';
import { createServer } from 'node:net';

const skip = requireBinary('ssh', 'openssh-client') ?? requireBinary('ssh-keygen', 'openssh-client');

const PERMISSIONS = ['pty', 'X11-forwarding', 'x11-forwarding', 'port-forwarding', 'agent-forwarding', 'user-rc'];

function report(p: SSHServerProcess): void {
  const c = p.connection!;
  p.stdout.write(
    JSON.stringify({
      command: p.command,
      termType: p.termType,
      forceCommand: c.getCertificateOption('force-command', null),
      sourceAddress: c.getCertificateOption('source-address', null),
      permitPty: c.getCertificateOption('permit-pty', false),
      absent: c.getCertificateOption('no-such-option', 'fallback'),
      permissions: Object.fromEntries(PERMISSIONS.map((n) => [n, c.checkCertificatePermission(n)])),
      keyPty: c.checkKeyPermission('pty'),
    }) + '\n',
  );
  p.exit(0);
}

describe('certificate options on our server, OpenSSH ssh with ssh-keygen certificates', { skip, timeout: 90_000 }, () => {
  let dir = '';
  let server: SSHServer;
  let caPath = '';

  before(async () => {
    dir = makeTempDir('fleetssh-certopt-');
    const ca = await keygen('ed25519', undefined, { dir, name: 'ca' });
    caPath = ca.privatePath;
    const ak = join(dir, 'authorized_keys');
    writeFileSync(ak, `cert-authority,principals="deploy" ${ca.publicLine}\n`);
    server = await listen({ serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: ak, passwords: { pw: 'secret' }, processFactory: report });
  });
  after(async () => {
    await server?.close();
    if (dir) removeTempDir(dir);
  });

  async function signedKey(options: string[]): Promise<KeyFiles> {
    const key = await keygen('ed25519', undefined, { dir });
    const r = await runProcess('ssh-keygen', ['-q', '-s', caPath, '-I', 'cert-options', '-n', 'deploy', '-V', '-5m:+1h', ...options.flatMap((o) => ['-O', o]), key.publicPath], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    return key;
  }

  async function sshReport(key: KeyFiles, extra: string[] = []): Promise<Record<string, unknown> & { stderr: string }> {
    const r = await runSsh([...extra, 'report'], { target: { port: server.port, user: 'deploy', identityFile: key.privatePath }, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    return { ...JSON.parse(r.stdout.toString('utf8').trim()), stderr: r.stderr };
  }

  test('a default ssh-keygen certificate: every permit-* granted, no critical options', async () => {
    const r = await sshReport(await signedKey([]));
    assert.equal(r.forceCommand, null);
    assert.equal(r.sourceAddress, null);
    assert.equal(r.permitPty, true);
    assert.equal(r.absent, 'fallback');
    assert.deepEqual(r.permissions, Object.fromEntries(PERMISSIONS.map((n) => [n, true])));
  });

  test('-O clear -O permit-X11-forwarding: only X11 is granted', async () => {
    const r = await sshReport(await signedKey(['clear', 'permit-X11-forwarding']));
    assert.equal(r.permitPty, false);
    assert.deepEqual(r.permissions, { pty: false, 'X11-forwarding': true, 'x11-forwarding': true, 'port-forwarding': false, 'agent-forwarding': false, 'user-rc': false });
  });

  test('force-command, no-pty and source-address are readable; the forced command runs', async () => {
    const key = await signedKey(['force-command=report', 'no-pty', 'source-address=127.0.0.1/32,::1/128']);
    const cert = readFileSync(key.privatePath + '-cert.pub', 'utf8');
    assert.match(cert, /^ssh-ed25519-cert-v01@openssh\.com /);
    const r = await sshReport(key);
    assert.equal(r.forceCommand, 'report');
    assert.equal(r.command, 'report');
    assert.deepEqual(r.sourceAddress, ['127.0.0.1/32', '::1/128']);
    assert.equal(r.permitPty, false);
    assert.equal((r.permissions as Record<string, boolean>).pty, false);
    assert.equal((r.permissions as Record<string, boolean>)['port-forwarding'], true);
  });

  test('a certificate without permit-pty gets no pty: ssh -tt gives up, our client gets a refusal', async () => {
    const key = await signedKey(['no-pty']);
    const r = await runSsh(['-tt', 'report'], { target: { port: server.port, user: 'deploy', identityFile: key.privatePath }, timeoutMs: 30_000 });
    assert.match(r.stderr, /PTY allocation request failed/);
    const conn = await connect('127.0.0.1', { port: server.port, username: 'deploy', clientKeys: [key.privatePath], clientCerts: [key.privatePath + '-cert.pub'], knownHosts: null, agentPath: null });
    try {
      await assert.rejects(conn.run('report', { termType: 'xterm' }), ChannelRequestError);
      assert.equal(JSON.parse(String((await conn.run('report')).stdout)).permissions.pty, false);
    } finally {
      await conn.close();
    }
    const granted = await sshReport(await signedKey([]), ['-tt']);
    assert.equal(typeof granted.termType, 'string');
  });

  test('without a certificate (password): options fall back, permissions are granted', async () => {
    const conn = await connect('127.0.0.1', { port: server.port, username: 'pw', password: 'secret', knownHosts: null, clientKeys: null, agentPath: null });
    try {
      const r = JSON.parse(String((await conn.run('report')).stdout));
      assert.equal(r.forceCommand, null);
      assert.equal(r.absent, 'fallback');
      assert.deepEqual(r.permissions, Object.fromEntries(PERMISSIONS.map((n) => [n, true])));
    } finally {
      await conn.close();
    }
  });

  test('a certificate without permit-port-forwarding: ssh -W is refused; with a default certificate the same -W reaches the target', async () => {
    const target = createServer((sock) => sock.end('reached\n'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const port = (target.address() as { port: number }).port;
    // -W goes before the destination (sshArgs ends with it).
    const stdioForward = async (key: KeyFiles) => {
      const args = sshArgs({ port: server.port, user: 'deploy', identityFile: key.privatePath });
      args.splice(args.length - 1, 0, '-W', `127.0.0.1:${port}`);
      return runProcess('ssh', args, { timeoutMs: 30_000 });
    };
    try {
      const ok = await stdioForward(await signedKey([]));
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.toString(), 'reached\n');
      const refused = await stdioForward(await signedKey(['clear', 'permit-pty']));
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /stdio forwarding failed|administratively prohibited/);
      assert.equal(refused.stdout.toString(), '');
    } finally {
      target.close();
    }
  });
});
