// Regression: a KeyObject made by Node 20's generateKeyPairSync shares a mutex with its
// generation job, and exporting it could deadlock the thread when the collector freed the
// job meanwhile (see src/crypto/keys/keygen.ts). Every curve25519 handshake made and
// exported such a key. With a 1 MiB young generation (collections every few hundred key
// pairs), the old code hung within this loop; the child is killed if it does not finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const src = (p: string): string => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);

test('key pairs for curve25519 and new Ed25519/ECDSA/RSA keys never deadlock the thread under frequent GC', () => {
  const script = `
    import { nodeX25519 } from ${src('crypto/kex-x25519.ts')};
    import { generatePrivateKey } from ${src('crypto/keys/ssh-key.ts')};
    const deadline = Date.now() + 15000;
    let pairs = 0, keys = 0;
    for (; pairs < 40000 && Date.now() < deadline; pairs++) {
      const { privateKey, publicKey } = nodeX25519.keyPair();
      if (privateKey.length !== 32 || publicKey.length !== 32) process.exit(3);
      if (pairs % 4 === 0) {
        nodeX25519.shared(privateKey, publicKey);
        generatePrivateKey(keys % 50 === 0 ? 'ecdsa-sha2-nistp256' : 'ssh-ed25519').exportPublicKey();
        keys++;
      }
    }
    generatePrivateKey('ssh-rsa', { bits: 1024 }).exportPrivateKey('openssh');
    console.log('done', pairs, keys);
  `;
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  assert.equal(r.signal, null, `the loop hung (killed after 60 s); it printed: ${r.stdout} ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^done \d+ \d+/);
});

test('a generated key pair agrees with itself and with a second pair (X25519 is commutative)', async () => {
  const { nodeX25519, nobleX25519Impl } = await import('../../src/crypto/kex-x25519.js');
  const a = nodeX25519.keyPair();
  const b = nodeX25519.keyPair();
  assert.deepEqual(nodeX25519.publicKey(a.privateKey), a.publicKey);
  assert.deepEqual(nobleX25519Impl.publicKey(a.privateKey), a.publicKey);
  assert.deepEqual(nodeX25519.shared(a.privateKey, b.publicKey), nodeX25519.shared(b.privateKey, a.publicKey));
  assert.notDeepEqual(a.privateKey, b.privateKey);
});
