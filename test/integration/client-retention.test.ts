/**
 * What an open client connection keeps alive: not the caller's options object
 * nor the private keys it authenticated with (at fan-out, each connection
 * holding them adds up), while the prompt handlers and host-key check it
 * still needs keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, type ConnectOptions } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Full collections across a few event-loop turns (a WeakRef target is kept until the current job ends). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
}

test('an open client connection does not keep the caller options or its client keys', async () => {
  const hostKey = generatePrivateKey('ssh-ed25519');
  const clientKey = generatePrivateKey('ssh-ed25519');
  const server = await listen({
    serverHostKeys: [hostKey],
    authorizedClientKeys: [clientKey.publicOnly()],
    processFactory: (p: { stdout: NodeJS.WritableStream; exit(n: number): void }) => {
      p.stdout.write('ok');
      p.exit(0);
    },
  });
  const banners: string[] = [];
  let hostKeyChecks = 0;
  const open = async (): Promise<{ conn: Awaited<ReturnType<typeof connect>>; options: WeakRef<object>; key: WeakRef<object> }> => {
    const options: ConnectOptions = {
      port: server.port,
      username: 'u',
      config: null,
      agentPath: null,
      // A key the server refuses, tried first: the connection's own copy of it must not outlive auth.
      clientKeys: [generatePrivateKey('ssh-ed25519'), clientKey],
      connectTimeout: 60_000,
      knownHosts: () => {
        hostKeyChecks++;
        return true;
      },
      onBanner: (m) => banners.push(m),
    };
    const conn = await connect('127.0.0.1', options);
    return { conn, options: new WeakRef(options), key: new WeakRef((options.clientKeys as object[])[0]!) };
  };
  const { conn, options, key } = await open();
  try {
    await collect();
    assert.equal(options.deref(), undefined, 'the options object is not held by the open connection');
    assert.equal(key.deref(), undefined, 'a client key the caller dropped is not held by the open connection');
    // What it does keep still works: a command runs, and a re-key asks the host-key check again.
    assert.equal((await conn.run('x')).stdout, 'ok');
    const checks = hostKeyChecks;
    conn.rekey();
    for (let i = 0; i < 500 && hostKeyChecks === checks; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(hostKeyChecks, checks + 1);
    assert.equal((await conn.run('y')).stdout, 'ok');
  } finally {
    await conn.close();
    await server.close();
  }
});
