/**
 * OpenSSH `ssh` against the fleetssh server: user authentication. Password
 * (with the password-change exchange) and keyboard-interactive answered by an
 * SSH_ASKPASS script (SSH_ASKPASS_REQUIRE=force, no terminal), publickey with
 * authorizedClientKeys, a refused key, "none" when beginAuth lets the user in,
 * the banner, and the maxAuthTries limit for keys and for passwords.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { findBinary, keygen, makeTempDir, requireBinary, runProcess, sshArgs, type KeyFiles, type RunResult, type SshTarget } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh', 'openssh-client') ?? requireBinary('ssh-keygen', 'openssh-client');

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function whoami(p: SSHServerProcess): void {
  p.stdout.write(`hello ${p.username}: ${p.command}\n`);
  p.exit(5);
}

const PASSWORD = 'correct horse';
const NEW_PASSWORD = 'battery staple';
const CODE = '424242';

describe('OpenSSH ssh -> fleetssh server: authentication', { skip, timeout: 120_000 }, () => {
  const hostKey = generatePrivateKey('ecdsa-sha2-nistp256');
  const servers: SSHServer[] = [];
  let keys: { good: KeyFiles; bad1: KeyFiles; bad2: KeyFiles; bad3: KeyFiles };
  let dir: string;
  let askpass: string;
  let main: { server: SSHServer; knownHostsFile: string; closeErrors: { code?: string; message: string }[] };
  const changes: [string, string, string][] = [];

  async function start(extra: Partial<ListenOptions> = {}) {
    const closeErrors: { code?: string; message: string }[] = [];
    const server = await within(10_000, 'listen', listen({
      serverHostKeys: [hostKey],
      authorizedClientKeys: [importPublicKey(keys.good.publicLine)],
      handler: {
        validatePassword: (user, pw) => {
          if (user === 'expired' && pw === PASSWORD) return { changePrompt: 'Your password has expired.' };
          return user !== 'expired' && pw === PASSWORD;
        },
        changePassword: (user, oldPw, newPw) => {
          changes.push([user, oldPw, newPw]);
          return oldPw === PASSWORD && newPw === NEW_PASSWORD;
        },
        getKbdintChallenge: () => ({
          name: 'fleetssh check',
          instruction: 'Two questions.',
          prompts: [{ prompt: 'Password: ', echo: false }, { prompt: 'Code: ', echo: true }],
        }),
        validateKbdintResponse: (_user, responses) => responses.length === 2 && responses[0] === PASSWORD && responses[1] === CODE,
      },
      maxAuthTries: 3,
      processFactory: whoami,
      ...extra,
    }));
    servers.push(server);
    server.on('connectionClosed', (_c: unknown, err: { code?: string; message: string } | null) => {
      if (err) closeErrors.push(err);
    });
    const knownHostsFile = join(makeTempDir('fleetssh-server-kh-'), 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${server.port} ${hostKey.exportPublicKey()}\n`);
    return { server, knownHostsFile, closeErrors };
  }

  before(async () => {
    dir = makeTempDir('fleetssh-server-auth-');
    const [good, bad1, bad2, bad3] = await within(30_000, 'ssh-keygen', Promise.all([0, 1, 2, 3].map((i) => keygen('ed25519', undefined, { dir, name: `id_${i}` }))));
    keys = { good: good!, bad1: bad1!, bad2: bad2!, bad3: bad3! };
    // Answers each prompt from $FLEET_ANSWERS ("old|new|code|password" by prompt) and logs the prompt.
    askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, [
      '#!/bin/sh',
      'printf "%s\\n" "$1" >> "$FLEET_ASKPASS_LOG"',
      'case "$1" in',
      '  *"old password"*) printf "%s\\n" "$FLEET_OLD" ;;',
      '  *"new password"*) printf "%s\\n" "$FLEET_NEW" ;;',
      '  *Code*) printf "%s\\n" "$FLEET_CODE" ;;',
      '  *) printf "%s\\n" "$FLEET_PASSWORD" ;;',
      'esac',
      '',
    ].join('\n'));
    chmodSync(askpass, 0o755);
    main = await start();
  });
  after(async () => {
    await within(10_000, 'server close', Promise.all(servers.map((s) => s.close())));
  });

  let runNo = 0;
  /** ssh with BatchMode=no (given first: ssh keeps the first value of an option) and the askpass script. */
  async function sshInteractive(over: Partial<SshTarget>, answers: Record<string, string>, s = main, prompts = 1): Promise<RunResult & { prompts: string[] }> {
    const log = join(dir, `askpass-${runNo++}.log`);
    writeFileSync(log, '');
    const t: SshTarget = { port: s.server.port, user: 'alice', knownHostsFile: s.knownHostsFile, ...over };
    const args = ['-o', 'BatchMode=no', '-o', `NumberOfPasswordPrompts=${prompts}`, ...sshArgs(t), 'whoami'];
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':fleetssh', FLEET_ASKPASS_LOG: log, ...answers };
    // setsid: no controlling terminal, so nothing can fall back to /dev/tty.
    const setsid = findBinary('setsid');
    const r = setsid
      ? await runProcess(setsid, ['-w', 'ssh', ...args], { env, timeoutMs: 20_000 })
      : await runProcess('ssh', args, { env, timeoutMs: 20_000 });
    return { ...r, prompts: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  test('password authentication through SSH_ASKPASS', async () => {
    const r = await sshInteractive({ options: { PreferredAuthentications: 'password' } }, { FLEET_PASSWORD: PASSWORD });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout.toString(), 'hello alice: whoami\n');
    assert.deepEqual(r.prompts, ["alice@127.0.0.1's password: "]);
  });

  test('a wrong password is refused', async () => {
    const r = await sshInteractive({ options: { PreferredAuthentications: 'password' } }, { FLEET_PASSWORD: 'wrong' });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied/);
    assert.equal(r.stdout.length, 0);
  });

  test('password change exchange (SSH_MSG_USERAUTH_PASSWD_CHANGEREQ)', async () => {
    const before = changes.length;
    const r = await sshInteractive(
      { user: 'expired', options: { PreferredAuthentications: 'password' } },
      { FLEET_PASSWORD: PASSWORD, FLEET_OLD: PASSWORD, FLEET_NEW: NEW_PASSWORD },
    );
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout.toString(), 'hello expired: whoami\n');
    assert.match(r.stderr, /Your password has expired/);
    assert.deepEqual(changes.slice(before), [['expired', PASSWORD, NEW_PASSWORD]]);
    assert.ok(r.prompts.some((p) => /new password/.test(p)), r.prompts.join(' / '));
  });

  test('keyboard-interactive with two prompts through SSH_ASKPASS', async () => {
    const r = await sshInteractive({ options: { PreferredAuthentications: 'keyboard-interactive' } }, { FLEET_PASSWORD: PASSWORD, FLEET_CODE: CODE });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout.toString(), 'hello alice: whoami\n');
    // OpenSSH prefixes keyboard-interactive prompts with "(user@host) ".
    assert.deepEqual(r.prompts, ['(alice@127.0.0.1) Password: ', '(alice@127.0.0.1) Code: ']);
    assert.match(r.stderr, /Two questions\./);
  });

  test('keyboard-interactive with a wrong answer is refused', async () => {
    const r = await sshInteractive({ options: { PreferredAuthentications: 'keyboard-interactive' } }, { FLEET_PASSWORD: PASSWORD, FLEET_CODE: '0' });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied/);
  });

  test('publickey with authorizedClientKeys', async () => {
    const r = await sshInteractive({ identityFile: keys.good.privatePath, logLevel: 'VERBOSE', options: { PreferredAuthentications: 'publickey' } }, {});
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /Authenticated to 127\.0\.0\.1 .* using "publickey"/);
    assert.deepEqual(r.prompts, []);
  });

  test('a key that is not authorized is refused, and the server lists its methods', async () => {
    const r = await sshInteractive({ identityFile: keys.bad1.privatePath, options: { PreferredAuthentications: 'publickey' } }, {});
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey,keyboard-interactive,password\)/);
  });

  test('"none" authentication when beginAuth lets the user in', async () => {
    const open = await start({ handler: { beginAuth: () => false } });
    const r = await sshInteractive({ logLevel: 'VERBOSE' }, {}, open);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /Authenticated to 127\.0\.0\.1 .* using "none"/);
  });

  test('the banner is shown before authentication', async () => {
    const b = await start({ banner: 'fleetssh test banner\r\n' });
    const r = await sshInteractive({ identityFile: keys.good.privatePath }, {}, b);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /fleetssh test banner/);
  });

  test('maxAuthTries (3): the third refused key ends the connection', async () => {
    const closedBefore = main.closeErrors.length;
    // Three identities, all refused: the server gives up at the third.
    const args = ['-o', 'IdentityFile=' + keys.bad2.privatePath, '-o', 'IdentityFile=' + keys.bad3.privatePath];
    const t: SshTarget = { port: main.server.port, user: 'alice', knownHostsFile: main.knownHostsFile, identityFile: keys.bad1.privatePath, options: { PreferredAuthentications: 'publickey' } };
    const many = await runProcess('ssh', [...args, ...sshArgs(t), 'whoami'], { timeoutMs: 20_000 });
    assert.equal(many.code, 255);
    assert.match(many.stderr, /Received disconnect from 127\.0\.0\.1 port \d+:14: too many authentication failures/i);
    const errs = main.closeErrors.slice(closedBefore);
    assert.ok(errs.some((e) => e.code === 'ERR_SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE'), JSON.stringify(errs.map((e) => e.code)));
  });

  test('maxAuthTries (3): the third wrong password ends the connection', async () => {
    const r = await sshInteractive(
      { options: { PreferredAuthentications: 'password' } },
      { FLEET_PASSWORD: 'wrong' },
      main,
      5,
    );
    assert.equal(r.code, 255);
    assert.equal(r.prompts.length, 3, r.prompts.join(' / '));
    assert.match(r.stderr, /too many authentication failures/i);
  });
});
