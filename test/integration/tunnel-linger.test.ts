/**
 * Shared jump hosts linger: connections made one after another through the
 * same `tunnel` string reuse one bastion connection while it lingers, the hop
 * closes once `tunnelLinger` ran out, `tunnelLinger: 0` closes it with its
 * last user, and a lingering hop never keeps the process alive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { tunnelPoolSize } from '../../src/actors/tunnel.js';
import { within } from './forward-helpers.js';

const hostKey = generatePrivateKey('ssh-ed25519');

function startServer(): Promise<SSHServer> {
  return listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [hostKey],
    passwords: { u: 'pw' },
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command}\n`);
      proc.exit(0);
    },
  });
}

const until = async (what: string, cond: () => boolean): Promise<void> =>
  within(10_000, what, (async () => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  })());

describe('tunnel linger', { timeout: 60_000 }, () => {
  let bastion: SSHServer;
  let target: SSHServer;
  let accepted = 0;

  before(async () => {
    [bastion, target] = await Promise.all([startServer(), startServer()]);
    bastion.on('connection', () => accepted++);
  });
  after(async () => {
    await bastion?.close();
    await target?.close();
  });

  const connectThrough = (linger: number | undefined) =>
    connect('127.0.0.1', {
      port: target.port,
      username: 'u',
      password: 'pw',
      knownHosts: null,
      clientKeys: null,
      tunnel: `u@127.0.0.1:${bastion.port}`,
      ...(linger === undefined ? {} : { tunnelLinger: linger }),
    });

  test('two sequential connections share one bastion connection, which closes after the linger', async () => {
    await until('no hop left from earlier tests', () => tunnelPoolSize() === 0 && bastion.connectionCount === 0);
    const before = accepted;
    const first = await connectThrough(1500);
    assert.equal((await first.run('one')).stdout, 'ran one\n');
    await first.close();
    const second = await connectThrough(1500);
    assert.equal((await second.run('two')).stdout, 'ran two\n');
    assert.equal(accepted - before, 1, 'the second connection reused the lingering bastion connection');
    await second.close();
    assert.equal(tunnelPoolSize(), 1, 'the hop is still open right after its last user closed');
    assert.equal(bastion.connectionCount, 1);
    await until('hop closed after its linger', () => tunnelPoolSize() === 0 && bastion.connectionCount === 0);
    assert.equal(accepted - before, 1);
  });

  test('tunnelLinger: 0 closes the hop with its last user; the next connection opens a new one', async () => {
    await until('no hop left from earlier tests', () => tunnelPoolSize() === 0 && bastion.connectionCount === 0);
    const before = accepted;
    const first = await connectThrough(0);
    await first.run('one');
    await first.close();
    await until('hop closed with its last user', () => tunnelPoolSize() === 0 && bastion.connectionCount === 0);
    const second = await connectThrough(0);
    await second.run('two');
    await second.close();
    assert.equal(accepted - before, 2);
    await until('hop closed', () => tunnelPoolSize() === 0);
  });

  test('a hop reacquired while lingering stays open for its new user past the old linger', async () => {
    await until('no hop left from earlier tests', () => tunnelPoolSize() === 0 && bastion.connectionCount === 0);
    const first = await connectThrough(300);
    await first.close();
    const second = await connectThrough(300);
    // Longer than the first linger: the timer was cancelled when the hop was taken again.
    await new Promise((r) => setTimeout(r, 900));
    assert.equal((await second.run('still')).stdout, 'ran still\n');
    assert.equal(second.closed, false);
    await second.close();
    await until('hop closed', () => tunnelPoolSize() === 0);
  });

  test('tunnelLinger is checked', async () => {
    await assert.rejects(connectThrough(-1), RangeError);
  });

  test('a lingering hop does not keep the process alive', async () => {
    // A child connects through the bastion with a 10-minute linger, closes,
    // and must then exit on its own: the hop's timer and socket are unref'd.
    const client = fileURLToPath(new URL('../../src/actors/client.ts', import.meta.url));
    const script = [
      `const { connect } = await import(${JSON.stringify(client)});`,
      `const c = await connect('127.0.0.1', { port: ${target.port}, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, tunnel: 'u@127.0.0.1:${bastion.port}', tunnelLinger: 600000 });`,
      `const r = await c.run('child');`,
      `await c.close();`,
      `process.stdout.write(r.stdout);`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c));
    try {
      const code = await within(60_000, 'child exit', new Promise<number | null>((r) => child.once('exit', (c) => r(c))));
      assert.equal(code, 0);
      assert.equal(out, 'ran child\n');
    } finally {
      child.kill('SIGKILL');
    }
    await until('child hop gone on the server', () => bastion.connectionCount === 0);
  });
});
