/**
 * Authentication and host key checking of the fleetssh client against a real
 * OpenSSH 9.2 sshd: publickey with every harness key type (as the unprivileged
 * test user), password and keyboard-interactive through PAM for the
 * fleetssh-test user, wrong secrets -> PermissionDenied, and host keys that are
 * unknown (default ~/.ssh/known_hosts) or changed -> HostKeyNotVerifiable
 * before any authentication is attempted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { generatePrivateKey, importPrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { HostKeyNotVerifiable, PermissionDenied } from '../../src/protocol/errors.js';
import { sshdSkipReason, startSshd, testUser, testUserSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir } from '../helpers/ssh-client.js';
import { connectSshd, logSince, waitFor, within } from '../helpers/interop-matrix.js';

const skip = sshdSkipReason();
const userSkip = skip ?? testUserSkipReason();

function isPermissionDenied(err: unknown): true {
  assert.ok(err instanceof PermissionDenied, `expected PermissionDenied, got ${String(err)}`);
  assert.equal(err.code, 'ERR_SSH_PERMISSION_DENIED');
  return true;
}

function isHostKeyNotVerifiable(err: unknown): true {
  assert.ok(err instanceof HostKeyNotVerifiable, `expected HostKeyNotVerifiable, got ${String(err)}`);
  assert.equal(err.code, 'ERR_SSH_HOST_KEY_NOT_VERIFIABLE');
  return true;
}

/** sshd got our DISCONNECT with reason 9 (HOST_KEY_NOT_VERIFIABLE) and saw no userauth request. */
async function assertRefusedBeforeAuth(sshd: SshdServer, mark: number): Promise<void> {
  const disconnect = /Received disconnect from \S+ port \d+:(\d+): host key/;
  await waitFor(() => disconnect.test(logSince(sshd, mark)), 5_000);
  const log = logSince(sshd, mark);
  assert.equal(disconnect.exec(log)?.[1], '9', 'sshd logged our disconnect with reason 9');
  assert.doesNotMatch(log, /userauth-request/);
}

describe('client -> sshd authentication', { skip, timeout: 90_000 }, () => {
  let sshd: SshdServer;

  before(async () => {
    // keyboard-interactive off, so the password cases exercise the "password" method itself.
    sshd = await startSshd({ config: { KbdInteractiveAuthentication: 'no' } });
  });
  after(async () => {
    await sshd?.stop();
  });

  for (const name of ['ed25519', 'ecdsa', 'rsa'] as const) {
    test(`publickey: ${name} key made by ssh-keygen logs in as the test user`, { skip: userSkip }, async () => {
      const user = testUser()!;
      const key = importPrivateKey(readFileSync(sshd.clientKeys[name].privatePath, 'utf8'));
      const mark = sshd.logs().length;
      const conn = await connectSshd(sshd, { username: user.name, clientKeys: [key] });
      try {
        const r = await within(15_000, conn.run('id -un'), 'id -un');
        assert.equal(r.stdout, `${user.name}\n`);
      } finally {
        await within(10_000, conn.close(), 'close');
      }
      assert.match(logSince(sshd, mark), new RegExp(`Accepted publickey for ${user.name} .* ${key.fingerprintSHA256().replace(/[+/]/g, '\\$&')}`));
    });
  }

  test('publickey: an unauthorized key is skipped and the next key is used', async () => {
    const stranger = generatePrivateKey('ssh-ed25519');
    const good = importPrivateKey(readFileSync(sshd.clientKeys.ecdsa.privatePath, 'utf8'));
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, { clientKeys: [stranger, good] });
    try {
      assert.equal((await within(15_000, conn.run('echo in'), 'run')).stdout, 'in\n');
    } finally {
      await within(10_000, conn.close(), 'close');
    }
    const log = logSince(sshd, mark);
    assert.ok(log.includes(stranger.fingerprintSHA256()), 'sshd saw the unauthorized key first');
    assert.match(log, /Accepted publickey for root .* ECDSA /);
  });

  test('publickey: only unauthorized keys -> PermissionDenied', async () => {
    await assert.rejects(connectSshd(sshd, { clientKeys: [generatePrivateKey('ssh-ed25519'), generatePrivateKey('ecdsa-sha2-nistp256')] }), isPermissionDenied);
  });

  test('password: the test user logs in with its Unix password (PAM)', { skip: userSkip }, async () => {
    const user = testUser()!;
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, { username: user.name, password: user.password, clientKeys: null });
    try {
      assert.equal((await within(15_000, conn.run('id -un'), 'id -un')).stdout, `${user.name}\n`);
    } finally {
      await within(10_000, conn.close(), 'close');
    }
    await waitFor(() => /Accepted password for/.test(logSince(sshd, mark)), 5_000);
    assert.match(logSince(sshd, mark), new RegExp(`Accepted password for ${user.name} `));
  });

  test('password: a wrong password -> PermissionDenied', { skip: userSkip }, async () => {
    const user = testUser()!;
    const mark = sshd.logs().length;
    await assert.rejects(connectSshd(sshd, { username: user.name, password: 'not-the-password', clientKeys: null }, 30_000), isPermissionDenied);
    await waitFor(() => /Failed password for/.test(logSince(sshd, mark)), 5_000);
    assert.match(logSince(sshd, mark), new RegExp(`Failed password for ${user.name} `));
  });

  test('preferredAuth "password,publickey": an authorized key is held back, the password logs in first', { skip: userSkip }, async () => {
    const user = testUser()!;
    const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, { username: user.name, clientKeys: [key], password: user.password, preferredAuth: 'password,publickey' });
    await within(10_000, conn.close(), 'close');
    await waitFor(() => /Accepted password for/.test(logSince(sshd, mark)), 5_000);
    const log = logSince(sshd, mark);
    assert.match(log, new RegExp(`Accepted password for ${user.name} `));
    assert.doesNotMatch(log, /method publickey/, 'the key was never offered');
  });

  test('preferredAuth ["publickey"]: the password is never sent, an unauthorized key -> PermissionDenied', { skip: userSkip }, async () => {
    const user = testUser()!;
    const mark = sshd.logs().length;
    await assert.rejects(
      connectSshd(sshd, { username: user.name, clientKeys: [generatePrivateKey('ssh-ed25519')], password: user.password, preferredAuth: ['publickey'] }),
      isPermissionDenied,
    );
    await waitFor(() => /method publickey/.test(logSince(sshd, mark)), 5_000);
    assert.doesNotMatch(logSince(sshd, mark), /method password/);
  });

  test('ssh_config PreferredAuthentications password: applied as preferredAuth (a key given too)', { skip: userSkip }, async () => {
    const user = testUser()!;
    const dir = makeTempDir('prefauth-');
    const cfg = join(dir, 'config');
    writeFileSync(cfg, 'Host *\n  PreferredAuthentications gssapi-with-mic,password\n');
    const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, { username: user.name, clientKeys: [key], password: user.password, config: cfg });
    await within(10_000, conn.close(), 'close');
    await waitFor(() => /Accepted password for/.test(logSince(sshd, mark)), 5_000);
    assert.doesNotMatch(logSince(sshd, mark), /method publickey/);
  });

  test('password: no key and no password -> PermissionDenied naming what the server allows', async () => {
    await assert.rejects(connectSshd(sshd, { clientKeys: null }), (err: unknown) => {
      isPermissionDenied(err);
      assert.match((err as Error).message, /publickey/);
      return true;
    });
  });

  test('host key: unknown to the default ~/.ssh/known_hosts -> HostKeyNotVerifiable, before any auth', async () => {
    const home = makeTempDir('fleetssh-home-');
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'known_hosts'), '');
    const saved = process.env.HOME;
    process.env.HOME = home;
    const mark = sshd.logs().length;
    try {
      const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
      // knownHosts left out on purpose: the default file is the one checked.
      const attempt = connect('127.0.0.1', { port: sshd.port, username: 'root', clientKeys: [key], connectTimeout: 20_000 });
      await assert.rejects(within(20_000, attempt, 'connect'), isHostKeyNotVerifiable);
    } finally {
      process.env.HOME = saved;
    }
    await assertRefusedBeforeAuth(sshd, mark);
  });

  test('host key: a changed key in known_hosts -> HostKeyNotVerifiable, before any auth', async () => {
    const dir = makeTempDir('fleetssh-kh-');
    const knownHosts = join(dir, 'known_hosts');
    const impostor = generatePrivateKey('ssh-ed25519');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${impostor.exportPublicKey()}\n`);
    const mark = sshd.logs().length;
    await assert.rejects(connectSshd(sshd, { knownHosts, serverHostKeyAlgs: ['ssh-ed25519'] }), (err: unknown) => {
      isHostKeyNotVerifiable(err);
      assert.match((err as Error).message, /ssh-ed25519 SHA256:/);
      return true;
    });
    await assertRefusedBeforeAuth(sshd, mark);
  });

  test('host key: the same known_hosts entry written for another port does not vouch for this one', async () => {
    const dir = makeTempDir('fleetssh-kh-');
    const knownHosts = join(dir, 'known_hosts');
    const real = readFileSync(sshd.knownHostsFile, 'utf8').replace(/^\[127\.0\.0\.1\]:\d+/gm, `[127.0.0.1]:${sshd.port === 65535 ? 1 : sshd.port + 1}`);
    writeFileSync(knownHosts, real);
    await assert.rejects(connectSshd(sshd, { knownHosts }), isHostKeyNotVerifiable);
    // The unmodified file is accepted (so the refusal above was about the port alone).
    const conn = await connectSshd(sshd);
    await within(10_000, conn.close(), 'close');
  });
});

describe('client -> sshd keyboard-interactive', { skip: userSkip, timeout: 60_000 }, () => {
  let sshd: SshdServer;

  before(async () => {
    // Only keyboard-interactive (PAM) is left, so nothing else can log the user in.
    sshd = await startSshd({ config: { PasswordAuthentication: 'no', PubkeyAuthentication: 'no' } });
  });
  after(async () => {
    await sshd?.stop();
  });

  test('kbdint: a handler answers the PAM password prompt', async () => {
    const user = testUser()!;
    const seen: { name: string; instruction: string; prompts: { prompt: string; echo: boolean }[] }[] = [];
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, {
      username: user.name,
      clientKeys: null,
      kbdintHandler: (name, instruction, prompts) => {
        seen.push({ name, instruction, prompts });
        return prompts.map(() => user.password);
      },
    });
    try {
      assert.equal((await within(15_000, conn.run('id -un'), 'id -un')).stdout, `${user.name}\n`);
    } finally {
      await within(10_000, conn.close(), 'close');
    }
    const withPrompts = seen.filter((s) => s.prompts.length > 0);
    assert.ok(withPrompts.length >= 1, 'the handler saw at least one prompt');
    assert.match(withPrompts[0]!.prompts[0]!.prompt, /password/i);
    assert.equal(withPrompts[0]!.prompts[0]!.echo, false);
    await waitFor(() => /Accepted keyboard-interactive\/pam for/.test(logSince(sshd, mark)), 5_000);
    assert.match(logSince(sshd, mark), new RegExp(`Accepted keyboard-interactive/pam for ${user.name} `));
  });

  test('kbdint: the password option answers the single hidden prompt without a handler', async () => {
    const user = testUser()!;
    const conn = await connectSshd(sshd, { username: user.name, password: user.password, clientKeys: null });
    try {
      assert.equal((await within(15_000, conn.run('id -un'), 'id -un')).stdout, `${user.name}\n`);
    } finally {
      await within(10_000, conn.close(), 'close');
    }
  });

  test('kbdint: a wrong answer -> PermissionDenied', async () => {
    const user = testUser()!;
    let asked = 0;
    await assert.rejects(
      connectSshd(
        sshd,
        {
          username: user.name,
          clientKeys: null,
          kbdintHandler: (_n, _i, prompts) => {
            asked++;
            return asked > 3 ? null : prompts.map(() => 'wrong-answer');
          },
        },
        40_000,
      ),
      isPermissionDenied,
    );
    assert.ok(asked >= 1, 'the handler was asked');
  });
});
