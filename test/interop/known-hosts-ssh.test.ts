/**
 * known_hosts files written by OpenSSH ssh itself (accept-new, hashed and
 * plain, non-default port) are matched by fleetssh as ssh matches them: our
 * client accepts the recorded key and refuses the host once the file holds a
 * different key for it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, sshdSkipReason, type SshdServer } from '../helpers/openssh.js';
import { makeTempDir, removeTempDir, runSsh } from '../helpers/ssh-client.js';
import { connect } from '../../src/actors/client.js';
import { HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';

const skip = sshdSkipReason();
let sshd: SshdServer | null = null;
let dir = '';

before(async () => {
  if (skip) return;
  dir = makeTempDir('fleetssh-khssh-');
  sshd = await startSshd({ hostKeys: ['ed25519', 'ecdsa256'] });
});
after(async () => {
  await sshd?.stop();
  if (dir) removeTempDir(dir);
});

async function writtenBySsh(name: string, hashed: boolean): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, '');
  const r = await runSsh(['true'], {
    target: {
      port: sshd!.port,
      knownHostsFile: file,
      strictHostKeyChecking: 'accept-new',
      identityFile: sshd!.clientKeys.ed25519.privatePath,
      options: { HashKnownHosts: hashed ? 'yes' : 'no', HostKeyAlgorithms: 'ssh-ed25519' },
    } as never,
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, r.stderr.toString());
  return file;
}

const login = (knownHosts: string) =>
  connect('127.0.0.1', { port: sshd!.port, username: 'root', clientKeys: [sshd!.clientKeys.ed25519.privatePath], knownHosts, agentPath: null, config: null, serverHostKeyAlgs: ['ssh-ed25519'] } as never);

for (const hashed of [false, true]) {
  test(`a known_hosts line written by ssh (${hashed ? 'hashed' : 'plain'}, [host]:port) is trusted by our client`, { skip }, async () => {
    const file = await writtenBySsh(`kh-${hashed}`, hashed);
    const text = readFileSync(file, 'utf8');
    assert.match(text, hashed ? /^\|1\|/ : new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd!.port} ssh-ed25519 `));
    const conn = await login(file);
    try {
      assert.equal((await conn.run('echo ok')).stdout, 'ok\n');
    } finally {
      conn.close();
    }
    // The same file with the key replaced: ssh would warn of a changed key, we refuse.
    const other = generatePrivateKey('ssh-ed25519').exportPublicKey().split(' ').slice(0, 2).join(' ');
    const changed = join(dir, `kh-changed-${hashed}`);
    writeFileSync(changed, text.replace(/ssh-ed25519 \S+/, other));
    await assert.rejects(login(changed), HostKeyNotVerifiable);
  });
}
