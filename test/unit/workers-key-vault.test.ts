import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKeyVault } from '../../src/workers/key-vault-client.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { verifySignature } from '../../src/crypto/keys/signature.js';
import { utf8 } from '../../src/protocol/wire.js';

test('KeyVault in a worker (comlink over a MessageChannel) loads, signs, forgets', async () => {
  const { vault, close } = openKeyVault();
  try {
    const local = generatePrivateKey('ssh-ed25519', { comment: 'vaulted' });
    const info = await vault.load(local.exportPrivateKey());
    assert.deepEqual(info.publicBlob, local.publicBlob);
    assert.equal(info.fingerprint, local.fingerprintSHA256());
    const data = utf8('sign me');
    const sig = await vault.sign(info.id, 'ssh-ed25519', data);
    assert.deepEqual(sig, local.sign('ssh-ed25519', data)); // Ed25519 is deterministic
    const ec = await vault.generate('ecdsa-sha2-nistp256');
    assert.equal(verifySignature(ec.publicBlob, 'ecdsa-sha2-nistp256', await vault.sign(ec.id, 'ecdsa-sha2-nistp256', data), data), true);
    assert.equal((await vault.list()).length, 2);
    assert.equal(await vault.forget(info.id), true);
    await assert.rejects(vault.sign(info.id, 'ssh-ed25519', data), /no key/);
  } finally {
    await close();
  }
});
