/**
 * The AsyncSSH-parity additions where they touch the wire, against OpenSSH:
 * clientVersion as sshd logs it, getExtraInfo of an sshd connection,
 * redirection through a real `cat` and `sh`, setKeepalive answered by sshd's
 * refusals, disconnect with a reason sshd logs; and lock/unlock of a real
 * ssh-agent as ssh-add sees it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { SSHAgentClient } from '../../src/actors/agent-client.js';
import { writePrivateKey } from '../../src/actors/key-files.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { HostKeyNotVerifiable, PermissionDenied } from '../../src/protocol/errors.js';
import { DisconnectReason } from '../../src/protocol/messages.js';
import { DEVNULL, STDOUT } from '../../src/actors/process-redirect.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';
import { connectSshd, logSince, within } from '../helpers/interop-matrix.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findBinary, keygen, runProcess, runSsh } from '../helpers/ssh-client.js';
import { createInterface } from 'node:readline';
import { listen } from '../../src/actors/server.js';

/** A private `ssh-agent -D` on a socket in `dir`, waited for until the socket exists. */
async function startAgent(dir: string): Promise<{ socket: string; proc: ChildProcess }> {
  const socket = join(dir, 'agent.sock');
  const proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(socket) && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(socket)) {
    proc.kill('SIGKILL');
    throw new Error('ssh-agent did not create its socket');
  }
  return { socket, proc };
}

const skip = sshdSkipReason();

describe('AsyncSSH parity against sshd', { skip, timeout: 120_000 }, () => {
  let sshd: SshdServer;
  let conn: SSHClientConnection;
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-parity-'));

  before(async () => {
    sshd = await startSshd();
    conn = await connectSshd(sshd, { clientVersion: 'ParityClient_1.2' });
  });
  after(async () => {
    if (conn && !conn.closed) await within(10_000, conn.close(), 'close');
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sshd sees our clientVersion; getExtraInfo reports its version and the algorithms', () => {
    assert.match(sshd.logs(), /remote software version ParityClient_1\.2/);
    assert.match(String(conn.getExtraInfo('serverVersion')), /^SSH-2\.0-OpenSSH_/);
    assert.equal(conn.getExtraInfo('clientVersion'), 'SSH-2.0-ParityClient_1.2');
    assert.deepEqual(conn.getExtraInfo('peername'), ['127.0.0.1', sshd.port]);
    assert.equal(conn.getExtraInfo('sendCipher'), conn.algorithms!.cipherCS);
    assert.equal(conn.getExtraInfo('kex'), conn.algorithms!.kex);
  });

  test('redirect: a file through cat into a file, stderr merged, stdout discarded', async () => {
    const input = join(dir, 'in.bin');
    const output = join(dir, 'out.bin');
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff;
    writeFileSync(input, data);
    const r = await within(60_000, conn.run('cat', { stdin: input, stdout: output, encoding: null }), 'cat');
    assert.equal(r.exitStatus, 0);
    const back = readFileSync(output);
    assert.equal(back.length, data.length);
    assert.ok(back.equals(data), 'the file came back byte for byte');
    const merged = await within(15_000, conn.run('echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2', { stderr: STDOUT }), 'merge');
    assert.equal(merged.stdout, 'out\nerr\nout2\n');
    assert.equal(merged.stderr, '');
    const quiet = await within(15_000, conn.run('echo out; echo err >&2', { stdout: DEVNULL }), 'devnull');
    assert.equal(quiet.stdout, '');
    assert.equal(quiet.stderr, 'err\n');
    const first = await conn.createProcess('printf "a\\nb\\nc\\n"');
    const r2 = await within(15_000, conn.run('wc -l', { stdin: first }), 'process pipe');
    assert.equal(String(r2.stdout).trim(), '3');
  });

  test('setKeepalive: sshd refuses keepalive@openssh.com, which counts as an answer', async () => {
    conn.setKeepalive(50, 2);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(conn.closed, false);
    conn.setKeepalive(0);
    assert.equal((await within(15_000, conn.run('echo alive'), 'after keepalive')).stdout, 'alive\n');
  });

  test('knownHosts key lists check sshd host key; publicKeyAuth false never offers the key', async () => {
    const ed = importPublicKey(sshd.hostKeys.ed25519.publicLine);
    const c = await connectSshd(sshd, { knownHosts: { hostKeys: [ed] }, serverHostKeyAlgs: ['ssh-ed25519'] });
    assert.equal(c.getServerHostKey()!.fingerprint, ed.fingerprintSHA256());
    await within(10_000, c.close(), 'close');
    await assert.rejects(connectSshd(sshd, { knownHosts: { hostKeys: [ed], revokedKeys: [ed] }, serverHostKeyAlgs: ['ssh-ed25519'] }), HostKeyNotVerifiable);
    const mark = sshd.logs().length;
    await assert.rejects(connectSshd(sshd, { publicKeyAuth: false, agentPath: null }), PermissionDenied);
    assert.doesNotMatch(logSince(sshd, mark), /method publickey/);
  });

  test('disconnect: sshd logs our reason text', async () => {
    const mark = sshd.logs().length;
    const c = await connectSshd(sshd);
    // After a command: sshd's post-auth messages are answered, so it is reading when DISCONNECT comes.
    await within(15_000, c.run('true'), 'true');
    await within(10_000, c.disconnect(DisconnectReason.BY_APPLICATION, 'parity test says bye'), 'disconnect');
    assert.equal(c.error, null);
    for (let i = 0; i < 100 && !/parity test says bye/.test(logSince(sshd, mark)); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(logSince(sshd, mark), /parity test says bye/);
  });
});

describe('writePrivateKey read by ssh-keygen', { skip: findBinary('ssh-keygen') ? undefined : 'ssh-keygen not installed' }, () => {
  test('ssh-keygen -y accepts the written file (mode 0600) and derives the same public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-writekey-'));
    try {
      for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp384', 'ssh-rsa'] as const) {
        const key = generatePrivateKey(type, type === 'ssh-rsa' ? { bits: 2048 } : {});
        const path = join(dir, `id_${type}`);
        await writePrivateKey(path, key, 'openssh', 'secret words');
        const r = await runProcess('ssh-keygen', ['-y', '-P', 'secret words', '-f', path], { timeoutMs: 20_000 });
        assert.equal(r.code, 0, String(r.stderr));
        assert.equal(String(r.stdout).trim().split(' ').slice(0, 2).join(' '), key.exportPublicKey().split(' ').slice(0, 2).join(' '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('line editor under OpenSSH ssh -tt', { skip: findBinary('ssh') ? undefined : 'ssh not installed' }, () => {
  test('keys typed into ssh are edited on the server by default; the application reads whole lines; a registered Tab completes', async () => {
    const hostKey = generatePrivateKey('ssh-ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-lineedit-'));
    const clientKey = await keygen('ed25519');
    const server = await listen({
      serverHostKeys: [hostKey],
      authorizedClientKeys: [importPublicKey(clientKey.publicLine)],
      // No lineEditor option: on by default for pty sessions, as in AsyncSSH.
      processFactory: async (p) => {
        p.registerKey('\t', (line, pos) => (line === 'qu' && pos === 2 ? ['quit', 4] : false));
        p.stdout.write('> ');
        const lines = createInterface({ input: p.stdin, crlfDelay: Infinity });
        for await (const line of lines) {
          if (line === 'quit') break;
          p.stdout.write(`got [${line}]\n> `);
        }
        p.exit(0);
      },
    });
    try {
      const knownHostsFile = join(dir, 'known_hosts');
      writeFileSync(knownHostsFile, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
      const r = await runSsh(['-tt', 'shell'], {
        target: { port: server.port, identityFile: clientKey.privatePath, knownHostsFile },
        input: 'helo\x7flo world\rabc\x1b[D\x1b[DX\r\x1b[A!\rqu\t\r',
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.toString();
      assert.match(out, /got \[hello world\]\r\n/);
      assert.match(out, /got \[aXbc\]\r\n/);
      assert.match(out, /got \[aXbc!\]\r\n/);
      assert.ok(out.includes('helo\x08 \x08lo world\r\n'), 'the keys were echoed by the server');
      assert.ok(out.includes('qu\x08\x08\x1b[Kquit'), 'Tab completed the line on the terminal');
      assert.doesNotMatch(out, /got \[qu/, 'the completed line was read as quit');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const agentSkip = findBinary('ssh-agent') && findBinary('ssh-add') ? undefined : 'ssh-agent/ssh-add not installed (openssh-client)';

describe('SSHAgentClient lock/unlock against OpenSSH ssh-agent', { skip: agentSkip, timeout: 60_000 }, () => {
  let agent: { socket: string; proc: ChildProcess };
  let client: SSHAgentClient;
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-agent-lock-'));

  before(async () => {
    agent = await startAgent(dir);
    client = new SSHAgentClient(agent.socket);
  });
  after(async () => {
    client?.close();
    if (agent && agent.proc.exitCode === null) {
      const gone = new Promise((r) => agent.proc.once('exit', r));
      agent.proc.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a locked agent lists and signs nothing; a wrong passphrase does not unlock it', async () => {
    const key = generatePrivateKey('ssh-ed25519', { comment: 'lock-test' });
    await client.addKeys([key]);
    assert.equal((await client.getKeys()).length, 1);
    await client.lock('sesame');
    assert.equal((await client.getKeys()).length, 0);
    const listed = await runProcess('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, timeoutMs: 20_000 });
    assert.notEqual(listed.code, 0, 'ssh-add -l lists nothing while locked');
    await assert.rejects(client.lock('again'), /lock/);
    await assert.rejects(client.unlock('wrong'), /unlock/);
    assert.equal((await client.getKeys()).length, 0);
    await client.unlock('sesame');
    const keys = await client.getKeys();
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.comment, 'lock-test');
    assert.ok((await client.sign(key.publicBlob, new Uint8Array([1, 2, 3]))).length > 0);
  });
});
