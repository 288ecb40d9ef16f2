import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, importPrivateKey, importPublicKey, type PrivateKeyFormat, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { makeTempDir, removeTempDir, requireBinary } from '../helpers/ssh-client.js';
import { utf8 } from '../../src/protocol/wire.js';
import type { KeyType, SignatureName } from '../../src/protocol/algorithms.js';

const skip = requireBinary('ssh-keygen', 'openssh-client');
let dir = '';
before(() => {
  dir = makeTempDir('fleetssh-keys-keygen-');
});
after(() => removeTempDir(dir));

const PASS = 'passphrase1';
const keygen = (args: string[]) => execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const fingerprint = (path: string, md5 = false) => keygen(['-l', ...(md5 ? ['-E', 'md5'] : []), '-f', path]).split(' ')[1]!;

const kinds: Array<[string, string[], KeyType]> = [
  ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384'],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521'],
  ['rsa', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa'],
];
const sigAlgs = (t: KeyType): SignatureName[] => (t === 'ssh-rsa' ? ['rsa-sha2-256', 'rsa-sha2-512'] : [t as SignatureName]);

function signsAndVerifies(key: SSHKey, pub: SSHKey, what: string): void {
  const data = utf8(`signed by ${what}`);
  for (const alg of sigAlgs(key.keyType)) assert.equal(pub.verify(alg, key.sign(alg, data), data), true, `${what} ${alg}`);
}

for (const [name, args, keyType] of kinds) {
  for (const m of ['OpenSSH', 'PEM', 'PKCS8'] as const) {
    for (const pass of ['', PASS]) {
      test(`ssh-keygen ${name} -m ${m} ${pass ? '-N pass' : 'unencrypted'}: fleetssh imports it, signs, same fingerprints`, { skip }, () => {
        const path = join(dir, `${name}-${m}-${pass ? 'enc' : 'plain'}`);
        keygen([...args, ...(m === 'OpenSSH' ? [] : ['-m', m]), '-N', pass, '-C', `c-${name}`, '-q', '-f', path]);
        const text = readFileSync(path);
        const key = importPrivateKey(text, pass || undefined);
        const pub = importPublicKey(readFileSync(path + '.pub', 'utf8'));
        assert.equal(key.keyType, keyType);
        assert.deepEqual(key.publicBlob, pub.publicBlob);
        assert.equal(key.fingerprintSHA256(), fingerprint(path + '.pub'));
        assert.equal(key.fingerprintMD5(), fingerprint(path + '.pub', true));
        signsAndVerifies(key, pub, path);
        if (pass) assert.throws(() => importPrivateKey(text, 'not the passphrase'), /passphrase/);
      });
    }
  }

  test(`ssh-keygen -e ${name} public key as RFC4716, PKCS8 and PEM: fleetssh imports the same key`, { skip }, () => {
    const path = join(dir, `${name}-pubexport`);
    keygen([...args, '-N', '', '-C', 'pubexp', '-q', '-f', path]);
    const pub = importPublicKey(readFileSync(path + '.pub', 'utf8'));
    const forms = keyType === 'ssh-ed25519' ? ['RFC4716'] : ['RFC4716', 'PKCS8', 'PEM'];
    for (const form of forms) {
      const out = keygen(['-e', '-m', form, '-f', path + '.pub']);
      assert.deepEqual(importPublicKey(out).publicBlob, pub.publicBlob, form);
    }
  });

  const ourFormats: PrivateKeyFormat[] = ['openssh', 'pkcs8-pem'];
  if (keyType === 'ssh-rsa') ourFormats.push('pkcs1-pem');
  if (keyType.startsWith('ecdsa')) ourFormats.push('sec1-pem');
  for (const format of ourFormats) {
    for (const pass of ['', PASS]) {
      // OpenSSH 9.2 reads Ed25519 only from its own format, not from PKCS#8:
      // there the independent reader is OpenSSL (`openssl pkey`).
      const viaOpenssl = keyType === 'ssh-ed25519' && format === 'pkcs8-pem';
      if (viaOpenssl) {
        test(`fleetssh ${name} ${format} ${pass ? 'encrypted' : 'plain'}: openssl pkey reads it back as the same key`, { skip: skip ?? requireBinary('openssl', 'openssl') }, () => {
          const path = join(dir, `${name}-ours-${format}-${pass ? 'enc' : 'plain'}`);
          const key = generatePrivateKey('ssh-ed25519');
          writeFileSync(path, key.exportPrivateKey(format, pass || undefined));
          const pem = execFileSync('openssl', ['pkey', '-in', path, '-pubout', ...(pass ? ['-passin', `pass:${pass}`] : [])], { encoding: 'utf8' });
          assert.deepEqual(importPublicKey(pem).publicBlob, key.publicBlob);
          if (pass) assert.throws(() => execFileSync('openssl', ['pkey', '-in', path, '-passin', 'pass:wrong-pass'], { stdio: 'ignore' }));
        });
        continue;
      }
      test(`fleetssh ${name} ${format} ${pass ? 'encrypted' : 'plain'}: ssh-keygen -y reads it back, ssh-keygen -l prints our fingerprint`, { skip }, () => {
        const path = join(dir, `${name}-ours-${format}-${pass ? 'enc' : 'plain'}`);
        keygen([...args, '-N', '', '-C', 'ours', '-q', '-f', path + '-src']);
        const key = importPrivateKey(readFileSync(path + '-src'));
        writeFileSync(path, key.exportPrivateKey(format, pass || undefined));
        chmodSync(path, 0o600);
        const derived = keygen(['-y', ...(pass ? ['-P', pass] : []), '-f', path]).trim();
        assert.equal(derived.split(' ').slice(0, 2).join(' '), key.publicOnly().exportPublicKey().split(' ').slice(0, 2).join(' '));
        if (pass) assert.throws(() => keygen(['-y', '-P', 'wrong-pass', '-f', path]));
        writeFileSync(path + '.pub', key.exportPublicKey() + '\n');
        assert.equal(fingerprint(path + '.pub'), key.fingerprintSHA256());
        assert.equal(fingerprint(path + '.pub', true), key.fingerprintMD5());
      });
    }
  }

  test(`fleetssh ${name} public key as RFC4716 and SPKI: ssh-keygen -i converts it back to the same line`, { skip }, () => {
    const path = join(dir, `${name}-ourpub`);
    keygen([...args, '-N', '', '-C', 'x', '-q', '-f', path]);
    const pub = importPublicKey(readFileSync(path + '.pub', 'utf8'));
    const forms: Array<['rfc4716' | 'pkcs8-pem', string]> = [['rfc4716', 'RFC4716']];
    if (keyType !== 'ssh-ed25519') forms.push(['pkcs8-pem', 'PKCS8']);
    for (const [ours, theirs] of forms) {
      writeFileSync(path + '.' + ours, pub.exportPublicKey(ours));
      const line = keygen(['-i', '-m', theirs, '-f', path + '.' + ours]).trim();
      assert.equal(line.split(' ').slice(0, 2).join(' '), pub.publicOnly().exportPublicKey().split(' ').slice(0, 2).join(' '), ours);
    }
  });
}
