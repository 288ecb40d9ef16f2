/**
 * Per-user authentication decisions from beginAuth(username, conn), as
 * AsyncSSH's begin_auth does them: conn.setAuthorizedKeys (a file whose
 * options are enforced, or a key list) replaces the server-wide
 * authorizedClientKeys for that connection, and conn.sendAuthBanner sends a
 * banner. Checked with OpenSSH `ssh` and with our own client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServer, type SSHServerConnection } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { PermissionDenied } from '../../src/protocol/errors.js';
import { findBinary, keygen, makeTempDir, removeTempDir, runSsh, type KeyFiles } from '../helpers/ssh-client.js';

const skip = findBinary('ssh') && findBinary('ssh-keygen') ? false : 'needs OpenSSH ssh and ssh-keygen';

describe('beginAuth(username, conn): per-user authorized keys and banner', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let key: KeyFiles;
  let server: SSHServer;

  before(async () => {
    dir = makeTempDir('fleetssh-per-user-');
    key = await keygen('ed25519');
    writeFileSync(join(dir, 'alice'), key.publicLine + '\n');
    // Options of a per-connection file are enforced as for the server-wide one.
    writeFileSync(join(dir, 'carol'), `from="10.9.9.9" ${key.publicLine}\n`);
    server = await listen({
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      // Server-wide the key is accepted for anyone; beginAuth narrows it per user.
      authorizedClientKeys: [importPrivateKey(new Uint8Array(readFileSync(key.privatePath)))],
      handler: {
        async beginAuth(username: string, conn: SSHServerConnection) {
          conn.sendAuthBanner(`welcome ${username}\n`);
          if (username === 'alice' || username === 'carol') await conn.setAuthorizedKeys(join(dir, username));
          else if (username !== 'dave') await conn.setAuthorizedKeys([]);
          return true;
        },
      },
      processFactory: (p: SSHServerProcess) => {
        p.stdout.write(`${p.username}\n`);
        p.exit(0);
      },
    });
  });

  after(async () => {
    await server?.close();
    if (dir) removeTempDir(dir);
  });

  const ssh = (user: string) =>
    runSsh(['whoami'], { target: { port: server.port, user, identityFile: key.privatePath, logLevel: 'INFO' }, timeoutMs: 20_000 });

  test('ssh: alice gets in with her file and sees the banner; bob (empty list) and carol (from= elsewhere) are refused', async () => {
    const alice = await ssh('alice');
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(alice.stdout.toString(), 'alice\n');
    assert.match(alice.stderr, /welcome alice/);
    for (const user of ['bob', 'carol']) {
      const r = await ssh(user);
      assert.equal(r.code, 255, `${user}: ${r.stderr}`);
      assert.match(r.stderr, /Permission denied/);
      assert.match(r.stderr, new RegExp(`welcome ${user}`));
    }
    // Without a per-connection set, the server-wide keys still apply.
    const dave = await ssh('dave');
    assert.equal(dave.code, 0, dave.stderr);
  });

  test('our client: the banner reaches onBanner; a refused user gets PermissionDenied', async () => {
    const banners: string[] = [];
    const base = { port: server.port, knownHosts: null, clientKeys: [key.privatePath], agentPath: null };
    const conn = await connect('127.0.0.1', { ...base, username: 'alice', onBanner: (m: string) => banners.push(m) });
    assert.equal((await conn.run('x')).stdout, 'alice\n');
    await conn.close();
    assert.deepEqual(banners, ['welcome alice\n']);
    await assert.rejects(connect('127.0.0.1', { ...base, username: 'bob' }), PermissionDenied);
  });

  test('setAuthorizedKeys rejects a wrong argument', async () => {
    let seen: unknown = null;
    const s = await listen({
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      handler: {
        async beginAuth(_u: string, c: SSHServerConnection) {
          seen = await c.setAuthorizedKeys([42] as unknown as []).then(() => null, (e: unknown) => e);
          return true;
        },
      },
    });
    try {
      await assert.rejects(connect('127.0.0.1', { port: s.port, username: 'u', knownHosts: null, clientKeys: [key.privatePath], agentPath: null }));
      assert.ok(seen instanceof TypeError, String(seen));
    } finally {
      await s.close();
    }
  });
});
