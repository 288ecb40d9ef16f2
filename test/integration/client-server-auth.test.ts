/**
 * Our client against our own server, in-process on 127.0.0.1 port 0:
 * every authentication method, refusals, and host key checking.
 */
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { HostKeyNotVerifiable, PermissionDenied } from '../../src/protocol/errors.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const userKey = generatePrivateKey('ecdsa-sha2-nistp256');
const otherKey = generatePrivateKey('ssh-ed25519');

const echoUser = (p: { username: string; exit(n: number): void; stdout: NodeJS.WritableStream }): void => {
  p.stdout.write(`user=${p.username}\n`);
  p.exit(0);
};

async function withServer(extra: Partial<ListenOptions>, fn: (server: SSHServer) => Promise<void>): Promise<void> {
  await using server = await listen({ serverHostKeys: [hostKey], processFactory: echoUser, ...extra });
  await fn(server);
}

const base = (port: number) => ({ port, knownHosts: null, clientKeys: null as SSHKey[] | null });

describe('authentication', () => {
  test('password: right password logs in, wrong one is PermissionDenied', async () => {
    await withServer({ passwords: { alice: 's3cret' } }, async (server) => {
      await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'alice', password: 's3cret' });
      assert.equal(conn.username, 'alice');
      assert.equal((await conn.run('whoami')).stdout, 'user=alice\n');
      await assert.rejects(connect('127.0.0.1', { ...base(server.port), username: 'alice', password: 'nope' }), PermissionDenied);
      await assert.rejects(connect('127.0.0.1', { ...base(server.port), username: 'bob', password: 's3cret' }), PermissionDenied);
    });
  });

  test('publickey: authorized key logs in, another key is refused', async () => {
    await withServer({ authorizedClientKeys: [userKey.publicOnly()] }, async (server) => {
      await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'carol', clientKeys: [userKey] });
      assert.equal((await conn.run('x')).stdout, 'user=carol\n');
      await assert.rejects(connect('127.0.0.1', { ...base(server.port), username: 'carol', clientKeys: [otherKey] }), PermissionDenied);
    });
  });

  test('publickey from an authorized_keys file and a private key file path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetssh-auth-'));
    try {
      const ak = join(dir, 'authorized_keys');
      writeFileSync(ak, `# comment\nno-pty,from="*" ${userKey.exportPublicKey()} me@host\ngarbage line\n`);
      const keyPath = join(dir, 'id_ecdsa');
      writeFileSync(keyPath, userKey.exportPrivateKey(), { mode: 0o600 });
      await withServer({ authorizedClientKeys: ak }, async (server) => {
        await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'dave', clientKeys: [keyPath] });
        assert.equal((await conn.run('x')).stdout, 'user=dave\n');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('handler.validatePublicKey sees the key; a throwing handler means no', async () => {
    const seen: string[] = [];
    await withServer(
      {
        handler: {
          validatePublicKey: async (user, key) => {
            seen.push(`${user}:${key.keyType}`);
            if (user === 'boom') throw new Error('handler bug');
            return Buffer.compare(key.publicBlob, userKey.publicBlob) === 0;
          },
        },
      },
      async (server) => {
        await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'erin', clientKeys: [userKey] });
        assert.ok(seen.includes('erin:ecdsa-sha2-nistp256'));
        await assert.rejects(connect('127.0.0.1', { ...base(server.port), username: 'boom', clientKeys: [userKey] }), PermissionDenied);
        assert.equal((await conn.run('x')).stdout, 'user=erin\n');
      },
    );
  });

  test('keyboard-interactive: two rounds of prompts through kbdintHandler', async () => {
    const rounds: string[][] = [];
    await withServer(
      {
        handler: {
          getKbdintChallenge: () => ({ name: 'otp', instruction: 'answer', prompts: [{ prompt: 'Code: ', echo: true }] }),
          validateKbdintResponse: (_user, responses) => {
            rounds.push(responses);
            if (responses[0] === '123') return { prompts: [{ prompt: 'PIN: ', echo: false }] };
            return responses[0] === '9';
          },
        },
      },
      async (server) => {
        const prompts: string[] = [];
        await using conn = await connect('127.0.0.1', {
          ...base(server.port),
          username: 'frank',
          kbdintHandler: (_name, _instr, ps) => {
            prompts.push(...ps.map((p) => `${p.prompt}|${p.echo}`));
            return ps[0]!.prompt === 'Code: ' ? ['123'] : ['9'];
          },
        });
        assert.deepEqual(prompts, ['Code: |true', 'PIN: |false']);
        assert.deepEqual(rounds, [['123'], ['9']]);
        assert.equal((await conn.run('x')).stdout, 'user=frank\n');
      },
    );
  });

  test('keyboard-interactive without a handler answers a single hidden prompt with the password', async () => {
    await withServer(
      {
        handler: {
          getKbdintChallenge: () => ({ prompts: [{ prompt: 'Password: ', echo: false }] }),
          validateKbdintResponse: (_u, r) => r[0] === 'pw',
        },
      },
      async (server) => {
        await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'gina', password: 'pw' });
        assert.equal(conn.username, 'gina');
      },
    );
  });

  test('none: beginAuth returning false lets the user in without credentials', async () => {
    const begun: string[] = [];
    await withServer({ handler: { beginAuth: (u) => (begun.push(u), u !== 'guest') } }, async (server) => {
      await using conn = await connect('127.0.0.1', { ...base(server.port), username: 'guest' });
      assert.equal((await conn.run('x')).stdout, 'user=guest\n');
      await assert.rejects(connect('127.0.0.1', { ...base(server.port), username: 'root' }), PermissionDenied);
      assert.deepEqual(begun, ['guest', 'root']);
    });
  });
});

describe('host key checking', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'fleetssh-kh-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a known_hosts file with the key for [127.0.0.1]:port is trusted', async () => {
    await withServer({ passwords: { u: 'p' } }, async (server) => {
      const kh = join(dir, 'known_hosts_ok');
      writeFileSync(kh, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
      await using conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', clientKeys: null, knownHosts: kh });
      assert.equal(conn.closed, false);
    });
  });

  test('unknown and changed keys are refused with HostKeyNotVerifiable naming host and fingerprint', async () => {
    await withServer({ passwords: { u: 'p' } }, async (server) => {
      const empty = join(dir, 'known_hosts_empty');
      writeFileSync(empty, '');
      const changed = join(dir, 'known_hosts_changed');
      writeFileSync(changed, `[127.0.0.1]:${server.port} ${otherKey.exportPublicKey()}\n`);
      for (const kh of [empty, changed]) {
        const err = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', clientKeys: null, knownHosts: kh }).then(
          () => assert.fail('connected'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof HostKeyNotVerifiable, String(err));
        assert.equal(err.host, '127.0.0.1');
        assert.equal(err.fingerprint, hostKey.fingerprintSHA256());
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
        assert.ok(err.message.includes(hostKey.fingerprintSHA256()));
      }
      // The server notices both refusals and forgets those connections.
      while (server.connectionCount > 0) await once(server, 'connectionClosed');
      assert.equal(server.connectionCount, 0);
    });
  });

  test('a knownHosts callback receives host, port and the key; false refuses', async () => {
    await withServer({ passwords: { u: 'p' } }, async (server) => {
      const calls: string[] = [];
      const cb = async (host: string, port: number, key: { keyType: string; fingerprint: string }) => {
        calls.push(`${host}:${port}:${key.keyType}:${key.fingerprint}`);
        return calls.length === 1;
      };
      await using conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', clientKeys: null, knownHosts: cb });
      await assert.rejects(connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', clientKeys: null, knownHosts: cb }), HostKeyNotVerifiable);
      const expected = `127.0.0.1:${server.port}:ssh-ed25519:${hostKey.fingerprintSHA256()}`;
      assert.deepEqual(calls, [expected, expected]);
      assert.equal(conn.closed, false);
    });
  });
});
