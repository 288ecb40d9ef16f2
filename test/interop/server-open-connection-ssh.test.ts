/**
 * SSHServerConnection.openConnection against OpenSSH `ssh -R`: ssh accepts a
 * forwarded-tcpip channel only for a listen address and port it asked to
 * have forwarded, and then connects it to its -R destination (here an
 * upper-casing echo server); any other port is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { listen, type SSHServer, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHForwardChannel } from '../../src/actors/forward-channel.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { ChannelOpenError } from '../../src/protocol/errors.js';
import { freePort, keygen, makeTempDir, removeTempDir, requireBinary, sshArgs, type KeyFiles } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh', 'openssh-client');

async function readAll(s: SSHForwardChannel): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('server openConnection -> ssh -R', { skip, timeout: 60_000 }, () => {
  let dir = '';
  let key: KeyFiles;
  let server: SSHServer;
  let echo: Server;
  let ssh: ChildProcess | null = null;
  let sshErr = '';
  const origins: string[] = [];
  let sconn: SSHServerConnection | null = null;

  before(async () => {
    dir = makeTempDir('fleetssh-srvopen-');
    key = await keygen('ed25519', undefined, { dir });
    echo = createServer((s) => {
      origins.push(`${s.remoteAddress}`);
      s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    server = await listen({ serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: [importPublicKey(key.publicLine)] });
    server.on('connection', (c: SSHServerConnection) => (sconn = c));
  });
  after(async () => {
    if (ssh && ssh.exitCode === null && ssh.signalCode === null) {
      const gone = new Promise((r) => ssh!.once('exit', r));
      ssh.kill('SIGTERM');
      await gone;
    }
    await server?.close();
    await new Promise((r) => echo?.close(r));
    if (dir) removeTempDir(dir);
  });

  test('a channel for ssh\'s own -R listen address reaches its destination; another port is refused', async () => {
    const rport = await freePort();
    const echoPort = (echo.address() as { port: number }).port;
    ssh = spawn('ssh', ['-N', '-R', `127.0.0.1:${rport}:127.0.0.1:${echoPort}`, ...sshArgs({ port: server.port, user: 'anyone', identityFile: key.privatePath, logLevel: 'DEBUG1' })], { stdio: ['ignore', 'ignore', 'pipe'] });
    ssh.stderr!.on('data', (d: Buffer) => (sshErr += d));
    // ssh has its forward once our server listens on rport.
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = netConnect(rport, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(sconn, 'ssh connected');
    const chan = await sconn!.openConnection('127.0.0.1', rport, '198.51.100.4', 4321);
    chan.end('hello through ssh -R\n');
    assert.equal(await readAll(chan), 'HELLO THROUGH SSH -R\n');
    assert.ok(origins.length >= 1);
    // ssh logs the originator it was given.
    assert.match(sshErr, /198\.51\.100\.4/);
    await assert.rejects(sconn!.openConnection('127.0.0.1', rport === 65535 ? 65534 : rport + 1), ChannelOpenError);
  });
});
