/**
 * SSHAgentClient.queryExtensions (AsyncSSH's query_extensions, the "query"
 * extension of draft-miller-ssh-agent): against OpenSSH's ssh-agent
 * (started here on a temp socket), and against a scripted agent that
 * answers with a list, with EXTENSION_FAILURE, or with nonsense.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { SSHAgentClient, AgentError } from '../../src/actors/agent-client.js';
import { encodeQueryExtensions, decodeQueryExtensionsReply } from '../../src/protocol/agent-query.js';
import { Writer } from '../../src/protocol/wire.js';
import { findBinary, makeTempDir, removeTempDir, runProcess } from '../helpers/ssh-client.js';

const agentSkip = findBinary('ssh-agent') && findBinary('ssh-add') ? undefined : 'ssh-agent/ssh-add not installed (openssh-client)';

describe('queryExtensions codec', () => {
  test('request: byte 27, string "query"; replies: SUCCESS + names, FAILURE / EXTENSION_FAILURE = none, others refused', () => {
    assert.equal(Buffer.from(encodeQueryExtensions()).toString('hex'), '1b' + '00000005' + Buffer.from('query').toString('hex'));
    const names = new Writer(64).byte(6).string('query').string('session-bind@openssh.com').toBytes();
    assert.deepEqual(decodeQueryExtensionsReply(names), ['query', 'session-bind@openssh.com']);
    assert.deepEqual(decodeQueryExtensionsReply(Uint8Array.of(6)), []);
    assert.deepEqual(decodeQueryExtensionsReply(Uint8Array.of(5)), []);
    assert.deepEqual(decodeQueryExtensionsReply(Uint8Array.of(28)), []);
    assert.throws(() => decodeQueryExtensionsReply(Uint8Array.of(12)), AgentError);
    assert.throws(() => decodeQueryExtensionsReply(Uint8Array.of(6, 0, 0, 0, 9, 0x61)), AgentError);
    assert.throws(() => decodeQueryExtensionsReply(new Uint8Array(0)), AgentError);
    const many = new Writer(4096).byte(6);
    for (let i = 0; i < 300; i++) many.string('x');
    assert.throws(() => decodeQueryExtensionsReply(many.toBytes()), AgentError);
  });
});

describe('queryExtensions against OpenSSH ssh-agent', { skip: agentSkip, timeout: 30_000 }, () => {
  let dir = '';
  let proc: ChildProcess;
  let socket = '';
  before(async () => {
    dir = makeTempDir('fleetssh-agentq-');
    socket = join(dir, 'agent.sock');
    proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(socket) && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(socket), 'ssh-agent made its socket');
  });
  after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
    if (dir) removeTempDir(dir);
  });

  test('OpenSSH 9.2 ssh-agent does not implement "query": an empty list, and the connection stays usable', async () => {
    const agent = new SSHAgentClient(socket);
    try {
      const names = await agent.queryExtensions();
      // ssh-agent answers an extension it does not know with SSH_AGENT_FAILURE (its only one is session-bind@openssh.com).
      assert.deepEqual(names, []);
      assert.deepEqual(await agent.getKeys(), []);
      const r = await runProcess('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socket }, timeoutMs: 10_000 });
      assert.match(r.stdout.toString(), /no identities/);
    } finally {
      agent.close();
    }
  });
});

describe('queryExtensions against a scripted agent', { timeout: 30_000 }, () => {
  let dir = '';
  let server: Server;
  let reply: Uint8Array = new Uint8Array(0);
  const seen: string[] = [];
  before(async () => {
    dir = makeTempDir('fleetssh-agentq2-');
    server = createServer((s) =>
      s.on('data', (d: Buffer) => {
        seen.push(d.toString('hex'));
        const frame = Buffer.alloc(4 + reply.length);
        frame.writeUInt32BE(reply.length, 0);
        frame.set(reply, 4);
        s.write(frame);
      }),
    );
    await new Promise<void>((r) => server.listen(join(dir, 'agent.sock'), r));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    removeTempDir(dir);
  });

  test('a list of names comes back in order; EXTENSION_FAILURE is an empty list; nonsense is an AgentError', async () => {
    const agent = new SSHAgentClient(join(dir, 'agent.sock'));
    try {
      reply = new Writer(64).byte(6).string('query').string('session-bind@openssh.com').string('add-smartcard-key-constrained@openssh.com').toBytes();
      assert.deepEqual(await agent.queryExtensions(), ['query', 'session-bind@openssh.com', 'add-smartcard-key-constrained@openssh.com']);
      assert.equal(seen[0], '0000000a' + '1b' + '00000005' + Buffer.from('query').toString('hex'));
      reply = Uint8Array.of(28);
      assert.deepEqual(await agent.queryExtensions(), []);
      reply = Uint8Array.of(14, 1, 2);
      await assert.rejects(agent.queryExtensions(), AgentError);
    } finally {
      agent.close();
    }
  });
});
