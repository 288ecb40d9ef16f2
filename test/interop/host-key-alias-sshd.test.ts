/**
 * HostKeyAlias against OpenSSH sshd: a known_hosts file that names the host
 * only by an alias (no address, no port) verifies it when `hostKeyAlias`
 * (or ssh_config's HostKeyAlias) is given, and OpenSSH `ssh` accepts the
 * same config; without the alias the key is unknown and refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir, removeTempDir, runProcess } from '../helpers/ssh-client.js';
import { connect } from '../../src/actors/client.js';
import { HostKeyNotVerifiable } from '../../src/protocol/errors.js';

const skip = sshdSkipReason();
let dir = '';
let sshd: SshdServer | null = null;
let known = '';

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-alias-');
  sshd = await startSshd({ hostKeys: ['ed25519'] });
  known = join(dir, 'known_hosts');
  writeFileSync(known, `web-behind-nat ${sshd.hostKeys.ed25519.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
});

after(async () => {
  await sshd?.stop();
  if (dir) removeTempDir(dir);
});

const base = () => ({ port: sshd!.port, username: 'root', clientKeys: [sshd!.clientKeys.ed25519.privatePath], agentPath: null, config: null, knownHosts: known });

test('hostKeyAlias: the key is found under the alias; without it the same file refuses the host', { skip }, async () => {
  const conn = await connect('127.0.0.1', { ...base(), hostKeyAlias: 'web-behind-nat' });
  assert.equal((await conn.run('echo ok')).stdout, 'ok\n');
  await conn.close();
  await assert.rejects(connect('127.0.0.1', base()), HostKeyNotVerifiable);
  await assert.rejects(connect('127.0.0.1', { ...base(), hostKeyAlias: 'other-name' }), HostKeyNotVerifiable);
  await assert.rejects(connect('127.0.0.1', { ...base(), hostKeyAlias: 'has space' }), TypeError);
});

test('ssh_config HostKeyAlias is applied, as OpenSSH ssh applies it to the same file', { skip }, async () => {
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      'Host web',
      '  HostName 127.0.0.1',
      `  Port ${sshd!.port}`,
      '  User root',
      '  HostKeyAlias web-behind-nat',
      `  UserKnownHostsFile ${known}`,
      '  StrictHostKeyChecking yes',
      `  IdentityFile ${sshd!.clientKeys.ed25519.privatePath}`,
      '  IdentitiesOnly yes',
      '',
    ].join('\n'),
  );
  const { knownHosts: _unused, ...rest } = base();
  void _unused;
  const conn = await connect('web', { ...rest, port: undefined, username: undefined, clientKeys: undefined, config });
  assert.equal((await conn.run('echo ok')).stdout, 'ok\n');
  await conn.close();
  const ssh = await runProcess('ssh', ['-F', config, '-o', 'BatchMode=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none', 'web', 'echo ok']);
  assert.equal(ssh.code, 0, ssh.stderr);
  assert.equal(ssh.stdout.toString(), 'ok\n');
});
