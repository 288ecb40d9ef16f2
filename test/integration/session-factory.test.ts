// listen({sessionFactory}): AsyncSSH's session-object API — per-request
// callbacks, data and EOF callbacks, a channel facade for output and exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, listen, generatePrivateKey } from '../../src/index.js';
import type { SSHServerSession, SSHServerSessionChannel } from '../../src/actors/server-session-factory.js';

test('sessionFactory: exec handled by callbacks; input echoed on EOF; unhandled shell refused', async () => {
  const seen: string[] = [];
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    passwords: { u: 'pw' },
    sessionFactory: (): SSHServerSession => {
      let chan: SSHServerSessionChannel | null = null;
      let input = '';
      return {
        connectionMade: (c) => (chan = c),
        execRequested: (command) => {
          seen.push(`exec ${command}`);
          return command.startsWith('upper');
        },
        sessionStarted: () => seen.push('started'),
        dataReceived: (d) => (input += String(d)),
        eofReceived: () => {
          chan!.write(input.toUpperCase());
          chan!.writeStderr(`user=${chan!.username}`);
          chan!.exit(5);
        },
      };
    },
  });
  const conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'pw', knownHosts: null, config: null, agentPath: null, clientKeys: null });
  try {
    const r = await conn.run('upper', { input: 'hello session' });
    assert.deepEqual([r.stdout, r.stderr, r.exitStatus], ['HELLO SESSION', 'user=u', 5]);
    const refused = await conn.run('other');
    assert.equal(refused.exitStatus, 1);
    const shell = await conn.createProcess(null);
    assert.equal((await shell.wait()).exitStatus, 1);
    assert.deepEqual(seen.slice(0, 3), ['exec upper', 'started', 'exec other']);
    await assert.rejects(listen({ serverHostKeys: [generatePrivateKey('ssh-ed25519')], processFactory: () => undefined, sessionFactory: () => ({}) }), TypeError);
  } finally {
    conn.close();
    await server.close();
  }
});
