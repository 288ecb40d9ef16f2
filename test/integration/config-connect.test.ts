/**
 * connect() applies ssh_config (option `config`) against our own server: a
 * table of config files in temp dirs, each with a host alias for 127.0.0.1,
 * checked by what the server saw (user, key, env) and by what was negotiated.
 * Explicit options win over the config. Also the client's answer to a
 * server's password change request (passwordChangeHandler).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectOptions } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { ConnectionLost, HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import { classifyError } from '../../src/orchestrator/classify-error.js';
import { createServer, type AddressInfo } from 'node:net';
import { makeTempDir } from '../helpers/ssh-client.js';

interface Seen {
  user: string;
  key: string | null;
  env: Record<string, string>;
}

describe('connect() with ssh_config', () => {
  let server: SSHServer;
  let hostKey: SSHKey;
  let userKey: SSHKey;
  let dir: string;
  let keyPath: string;
  const seen: Seen[] = [];
  let lastKey: string | null = null;

  before(async () => {
    hostKey = generatePrivateKey('ssh-ed25519');
    userKey = generatePrivateKey('ecdsa-sha2-nistp256');
    dir = makeTempDir('fleetssh-config-');
    keyPath = join(dir, 'id_cfg');
    writeFileSync(keyPath, userKey.exportPrivateKey('openssh'), { mode: 0o600 });
    server = await listen({
      serverHostKeys: [hostKey],
      kexAlgs: '+diffie-hellman-group14-sha256',
      encryptionAlgs: ['aes256-ctr', 'aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr'],
      macAlgs: ['hmac-sha2-512', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-256'],
      compressionAlgs: ['none', 'zlib@openssh.com'],
      handler: {
        validatePublicKey: (u, k) => {
          lastKey = Buffer.from(k.publicBlob).toString('base64');
          return u === 'cfguser' && Buffer.compare(k.publicBlob, userKey.publicBlob) === 0;
        },
        validatePassword: (u, p) => (u === 'expired' ? (p === 'new-pw' ? true : { changePrompt: 'Password expired, change it' }) : false),
        changePassword: (u, oldPw, newPw) => u === 'expired' && oldPw === 'old-pw' && newPw === 'new-pw',
      },
      processFactory: (proc) => {
        seen.push({ user: proc.username, key: lastKey, env: { ...proc.env } });
        proc.stdout.write(`${proc.username}\n`);
        proc.exit(0);
      },
    });
  });

  after(async () => {
    await server?.close();
  });

  function writeConfig(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text.replace(/PORT/g, String(server.port)).replace(/KEY/g, keyPath).replace(/DIR/g, dir));
    return p;
  }

  function knownHostsFile(name: string, key: SSHKey | null): string {
    const p = join(dir, name);
    writeFileSync(p, key ? `[127.0.0.1]:${server.port} ${key.exportPublicKey('openssh')}\n` : '');
    return p;
  }

  async function runVia(alias: string, options: ConnectOptions): Promise<{ out: string; algs: Record<string, string> | null; seen: Seen }> {
    const conn = await connect(alias, { agentPath: null, ...options });
    try {
      const r = await conn.run('id');
      return { out: r.stdout as string, algs: conn.algorithms, seen: seen.at(-1)! };
    } finally {
      await conn.close();
    }
  }

  const base = `Host web\n  HostName 127.0.0.1\n  Port PORT\n  User cfguser\n  IdentityFile KEY\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n`;

  const cases: { name: string; config: string; check: (r: Awaited<ReturnType<typeof runVia>>) => void }[] = [
    {
      name: 'HostName, Port, User and IdentityFile',
      config: base,
      check: (r) => {
        assert.equal(r.out, 'cfguser\n');
        assert.equal(r.seen.key, Buffer.from(userKey.publicBlob).toString('base64'));
      },
    },
    {
      name: 'wildcard Host block; a missing IdentityFile (with %r/%p tokens) is skipped',
      config: `Host w*\n  HostName 127.0.0.1\n  Port PORT\n  User cfguser\n  IdentityFile DIR/%r-%p-missing\n  IdentityFile KEY\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n`,
      check: (r) => assert.equal(r.out, 'cfguser\n'),
    },
    {
      name: 'Ciphers, KexAlgorithms, MACs and HostKeyAlgorithms pick the negotiated algorithms',
      config: base + `  Ciphers aes256-ctr,aes128-ctr\n  KexAlgorithms sntrup761x25519-sha512@openssh.com,diffie-hellman-group14-sha256\n  MACs hmac-sha2-512\n  HostKeyAlgorithms ssh-ed25519\n`,
      check: (r) => {
        assert.equal(r.algs?.cipherCS, 'aes256-ctr');
        assert.equal(r.algs?.kex, 'diffie-hellman-group14-sha256');
        assert.equal(r.algs?.macCS, 'hmac-sha2-512');
        assert.equal(r.algs?.hostKey, 'ssh-ed25519');
      },
    },
    {
      name: 'the "^" form puts a cipher first; "-" removes one',
      config: base + `  Ciphers ^aes128-ctr\n  MACs -hmac-sha2-256-etm@openssh.com\n`,
      check: (r) => assert.equal(r.algs?.cipherCS, 'aes128-ctr'),
    },
    {
      name: 'Compression yes negotiates zlib@openssh.com',
      config: base + `  Compression yes\n`,
      check: (r) => assert.equal(r.algs?.compressionCS, 'zlib@openssh.com'),
    },
    {
      name: 'SetEnv and SendEnv reach the session',
      config: base + `  SetEnv FLEET_A=one FLEET_B="two words"\n  SendEnv FLEETSSH_CFG_*\n`,
      check: (r) => {
        assert.equal(r.seen.env.FLEET_A, 'one');
        assert.equal(r.seen.env.FLEET_B, 'two words');
        assert.equal(r.seen.env.FLEETSSH_CFG_X, 'from-process');
        assert.equal(r.seen.env.FLEETSSH_OTHER, undefined);
      },
    },
    {
      name: 'Include of another file with the Host block',
      config: `Include DIR/included-*\n`,
      check: (r) => assert.equal(r.out, 'cfguser\n'),
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      writeFileSync(join(dir, 'included-web'), base.replace(/PORT/g, String(server.port)).replace(/KEY/g, keyPath));
      process.env.FLEETSSH_CFG_X = 'from-process';
      process.env.FLEETSSH_OTHER = 'not-sent';
      try {
        c.check(await runVia('web', { config: writeConfig(`config-${cases.indexOf(c)}`, c.config) }));
      } finally {
        delete process.env.FLEETSSH_CFG_X;
        delete process.env.FLEETSSH_OTHER;
      }
    });
  }

  test('explicit options win over the config (port, username, knownHosts, algorithms)', async () => {
    const cfg = writeConfig('config-override', `Host web\n  HostName 127.0.0.1\n  Port 1\n  User nobody\n  Ciphers aes128-ctr\n  UserKnownHostsFile /nonexistent\n`);
    const r = await runVia('web', { config: cfg, port: server.port, username: 'cfguser', clientKeys: [userKey], knownHosts: null, encryptionAlgs: ['aes256-ctr'] });
    assert.equal(r.out, 'cfguser\n');
    assert.equal(r.algs?.cipherCS, 'aes256-ctr');
  });

  test('UserKnownHostsFile with the right key connects; with another key it is refused (strict)', async () => {
    const good = knownHostsFile('kh-good', hostKey);
    const bad = knownHostsFile('kh-bad', generatePrivateKey('ssh-ed25519'));
    const tmpl = (kh: string, strict: string): string => `Host web\n  HostName 127.0.0.1\n  Port PORT\n  User cfguser\n  IdentityFile KEY\n  UserKnownHostsFile ${kh}\n  StrictHostKeyChecking ${strict}\n`;
    assert.equal((await runVia('web', { config: writeConfig('config-kh1', tmpl(good, 'yes')) })).out, 'cfguser\n');
    await assert.rejects(runVia('web', { config: writeConfig('config-kh2', tmpl(bad, 'yes')) }), HostKeyNotVerifiable);
    // A changed key is refused even with StrictHostKeyChecking no.
    await assert.rejects(runVia('web', { config: writeConfig('config-kh3', tmpl(bad, 'no')) }), HostKeyNotVerifiable);
    // Unknown host: refused when strict, accepted and recorded with accept-new.
    const empty = knownHostsFile('kh-empty', null);
    await assert.rejects(runVia('web', { config: writeConfig('config-kh4', tmpl(empty, 'yes')) }), HostKeyNotVerifiable);
    assert.equal((await runVia('web', { config: writeConfig('config-kh5', tmpl(empty, 'accept-new')) })).out, 'cfguser\n');
    const recorded = readFileSync(empty, 'utf8');
    assert.match(recorded, /ssh-ed25519 /);
    // ...and the recorded line is then trusted under strict checking.
    assert.equal((await runVia('web', { config: writeConfig('config-kh6', tmpl(empty, 'yes')) })).out, 'cfguser\n');
  });

  test('ProxyJump: the jump host alias is resolved through the same config and carries the connection', async () => {
    const jumpUsers: string[] = [];
    const jump = await listen({
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      handler: { validatePublicKey: (u, k) => (jumpUsers.push(u), u === 'jumpuser' && Buffer.compare(k.publicBlob, userKey.publicBlob) === 0) },
    });
    try {
      const cfg = writeConfig('config-jump', base + `  ProxyJump jumpy\nHost jumpy\n  HostName 127.0.0.1\n  Port ${jump.port}\n  User jumpuser\n`);
      const before = seen.length;
      const r = await runVia('web', { config: cfg });
      assert.equal(r.out, 'cfguser\n');
      assert.equal(seen.length, before + 1);
      assert.ok(jumpUsers.includes('jumpuser'), `jump host saw ${jumpUsers.join(',')}`);
    } finally {
      await jump.close();
    }
  });

  test('the default is ~/.ssh/config; config: null ignores it; an unreadable named config is a TypeError', async () => {
    const home = makeTempDir('fleetssh-home-');
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'config'), base.replace(/PORT/g, String(server.port)).replace(/KEY/g, keyPath));
    const savedHome = process.env.HOME;
    process.env.HOME = home;
    try {
      assert.equal((await runVia('web', {})).out, 'cfguser\n');
      // Without the config, "web" is not a host we can reach and no user/key is set.
      await assert.rejects(connect('web', { config: null, agentPath: null, knownHosts: null, clientKeys: null, connectTimeout: 5000 }), (err: Error) => {
        assert.ok(!(err instanceof TypeError), String(err));
        return true;
      });
    } finally {
      if (savedHome === undefined) delete process.env.HOME;
      else process.env.HOME = savedHome;
    }
    await assert.rejects(connect('web', { config: join(dir, 'no-such-config'), agentPath: null }), TypeError);
  });

  test('passwordChangeHandler answers the server\'s change request', async () => {
    const prompts: string[] = [];
    const conn = await connect('127.0.0.1', {
      port: server.port, username: 'expired', password: 'old-pw', clientKeys: null, knownHosts: null, config: null, agentPath: null,
      passwordChangeHandler: (prompt) => {
        prompts.push(prompt);
        return { oldPassword: 'old-pw', newPassword: 'new-pw' };
      },
    });
    assert.deepEqual(prompts, ['Password expired, change it']);
    assert.equal((await conn.run('x')).stdout, 'expired\n');
    await conn.close();
  });

  test('without passwordChangeHandler (or when it returns null) the login is refused', async () => {
    const opts: ConnectOptions = { port: server.port, username: 'expired', password: 'old-pw', clientKeys: null, knownHosts: null, config: null, agentPath: null };
    await assert.rejects(connect('127.0.0.1', opts), { code: 'ERR_SSH_PERMISSION_DENIED' });
    await assert.rejects(connect('127.0.0.1', { ...opts, passwordChangeHandler: () => null }), { code: 'ERR_SSH_PERMISSION_DENIED' });
    // A wrong old password in the answer is refused by the server.
    await assert.rejects(connect('127.0.0.1', { ...opts, passwordChangeHandler: () => ({ oldPassword: 'bad', newPassword: 'new-pw' }) }), { code: 'ERR_SSH_PERMISSION_DENIED' });
  });
});

describe('connect() socket errors keep their errno', () => {
  test('ECONNREFUSED: ConnectionLost with the socket error as cause, errno and syscall; classified unreachable', async () => {
    // A port that was just free and is now closed.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await connect('127.0.0.1', { port, config: null, agentPath: null, knownHosts: null, clientKeys: null }).then(
      () => assert.fail('connected to a closed port'),
      (e: unknown) => e as ConnectionLost & { errno?: number; syscall?: string },
    );
    assert.ok(err instanceof ConnectionLost, String(err));
    assert.equal(err.code, 'ERR_SSH_CONNECTION_LOST');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    assert.equal(typeof err.errno, 'number');
    const c = classifyError(err);
    assert.equal(c.kind, 'unreachable');
    assert.equal(c.code, 'ECONNREFUSED');
  });
});
