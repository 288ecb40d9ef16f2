/**
 * sendDebug against real peers: sshd logs a client's SSH_MSG_DEBUG
 * ("Remote: <text>", at DEBUG1 and above), `ssh -v` prints the server's the
 * same way, and AsyncSSH hands it to debug_msg_received (and its send_debug
 * reaches our server's 'debug' event).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { listen, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';
import { connectSshd, logSince, within } from '../helpers/interop-matrix.js';
import { requireBinary, runSsh } from '../helpers/ssh-client.js';
import { asyncsshSkipReason, PYTHON } from '../helpers/asyncssh.js';

const hostKey = generatePrivateKey('ssh-ed25519');

describe('sendDebug -> sshd', { skip: sshdSkipReason(), timeout: 60_000 }, () => {
  let sshd: SshdServer;
  let conn: SSHClientConnection;
  before(async () => {
    sshd = await startSshd({ config: { LogLevel: 'DEBUG3' } });
    conn = await connectSshd(sshd);
  });
  after(async () => {
    if (conn && !conn.closed) await within(10_000, conn.close(), 'close');
    await sshd?.stop();
  });

  test('sshd logs the message as "Remote: <text>"', async () => {
    const mark = sshd.logs().length;
    conn.sendDebug('fleetssh says hello to sshd', 'en', true);
    // The exec after it is handled after it: by its reply the message has been logged.
    await within(15_000, conn.run('true'), 'run');
    let log = '';
    for (let i = 0; i < 40 && !/Remote: fleetssh says hello to sshd/.test(log); i++) {
      log = logSince(sshd, mark);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(log, /Remote: fleetssh says hello to sshd/);
  });
});

function serverProcess(p: SSHServerProcess): void {
  p.connection!.sendDebug('fleetssh server says hello', 'en', true);
  p.stdout.write('ok\n');
  p.exit(0);
}

describe('server sendDebug -> ssh -v', { skip: requireBinary('ssh', 'openssh-client'), timeout: 60_000 }, () => {
  test('ssh -v prints "Remote: <text>"', async () => {
    await using server = await listen({ serverHostKeys: [hostKey], handler: { beginAuth: () => false }, processFactory: serverProcess });
    const r = await runSsh(['-v', 'x'], { target: { port: server.port, user: 'anyone' }, timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(String(r.stdout), 'ok\n');
    assert.match(r.stderr, /debug1: Remote: fleetssh server says hello/);
  });
});

const ASYNCSSH_SCRIPT = `
import asyncio, json, sys, warnings
warnings.simplefilter('ignore')
import asyncssh
got = []
class Client(asyncssh.SSHClient):
    def debug_msg_received(self, msg, lang, always_display):
        got.append([msg, lang, always_display])
async def main():
    conn, _ = await asyncssh.create_connection(Client, '127.0.0.1', int(sys.argv[1]), username='u', password='p',
        known_hosts=None, client_keys=None, agent_path=None, config=None)
    async with conn:
        conn.send_debug('asyncssh says hello', lang='fr', always_display=True)
        r = await conn.run('x')
    print(json.dumps({'got': got, 'stdout': r.stdout}))
asyncio.run(asyncio.wait_for(main(), 30))
`;

describe('sendDebug <-> AsyncSSH', { skip: asyncsshSkipReason(), timeout: 60_000 }, () => {
  test('AsyncSSH gets ours in debug_msg_received; its send_debug reaches our debug event', async () => {
    const saw: string[] = [];
    await using server = await listen({ serverHostKeys: [hostKey], passwords: { u: 'p' }, processFactory: serverProcess });
    server.on('connection', (c: SSHServerConnection) => c.on('debug', (m: string) => saw.push(m)));
    const child = spawn(PYTHON, ['-c', ASYNCSSH_SCRIPT, String(server.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await within(40_000, new Promise<number | null>((r) => child.on('close', r)), 'asyncssh client');
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as { got: [string, string, boolean][]; stdout: string };
    assert.deepEqual(result.got, [['fleetssh server says hello', 'en', true]]);
    assert.equal(result.stdout, 'ok\n');
    assert.deepEqual(saw, ['peer debug: asyncssh says hello']);
  });
});
