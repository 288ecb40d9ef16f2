// Keys: generatePrivateKey, export/import in several formats, passphrases,
// read*Key from files, fingerprints (checked against `ssh-keygen -l` when it
// is installed), importPrivateKeyAsync (decrypts in the worker pool).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generatePrivateKey, importPrivateKey, importPublicKey, importPrivateKeyAsync,
  readPrivateKey, readPublicKey, KeyImportError, KEY_TYPES,
} from '../src/index.js';

console.log('key types:', KEY_TYPES.join(', '));
const dir = mkdtempSync(join(tmpdir(), 'fleetssh-keys-'));

const ed = generatePrivateKey('ssh-ed25519', { comment: 'deploy@example' });
const rsa = generatePrivateKey('ssh-rsa', { bits: 3072 });
const ec = generatePrivateKey('ecdsa-sha2-nistp384');
console.log(`${ed.keyType} ${ed.bits} bits ${ed.fingerprintSHA256()} ${ed.fingerprintMD5()}`);
console.log(`${rsa.keyType} ${rsa.bits} bits; ${ec.keyType} ${ec.bits} bits`);

// OpenSSH private key format, encrypted (bcrypt-pbkdf + aes256-ctr), and the public line.
const pem = ed.exportPrivateKey('openssh', 'correct horse');
writeFileSync(join(dir, 'id_ed25519'), pem, { mode: 0o600 });
writeFileSync(join(dir, 'id_ed25519.pub'), ed.exportPublicKey('openssh') + '\n');
console.log(ed.exportPublicKey('openssh'));

const back = await readPrivateKey(join(dir, 'id_ed25519'), 'correct horse');
const pub = await readPublicKey(join(dir, 'id_ed25519.pub'));
console.log('round trip same key:', back.fingerprintSHA256() === ed.fingerprintSHA256() && pub.fingerprintSHA256() === ed.fingerprintSHA256());
console.log('async import in the worker pool:', (await importPrivateKeyAsync(pem, 'correct horse')).fingerprintSHA256() === ed.fingerprintSHA256());

try {
  importPrivateKey(pem, 'wrong passphrase');
} catch (err) {
  if (err instanceof KeyImportError) console.log('wrong passphrase:', err.code);
}

// Other formats: PKCS#8 / PKCS#1 / SEC1 PEM, PuTTY PPK, RFC 4716 public keys.
const formats = {
  pkcs8: importPrivateKey(rsa.exportPrivateKey('pkcs8-pem')).fingerprintSHA256() === rsa.fingerprintSHA256(),
  pkcs1: importPrivateKey(rsa.exportPrivateKey('pkcs1-pem')).fingerprintSHA256() === rsa.fingerprintSHA256(),
  sec1: importPrivateKey(ec.exportPrivateKey('sec1-pem')).fingerprintSHA256() === ec.fingerprintSHA256(),
  ppk3: importPrivateKey(ec.exportPrivateKey('ppk3', 'pw'), 'pw').fingerprintSHA256() === ec.fingerprintSHA256(),
  rfc4716: importPublicKey(ec.exportPublicKey('rfc4716')).fingerprintSHA256() === ec.fingerprintSHA256(),
};
console.log('formats round-trip:', formats);

// Cross-check the fingerprint with OpenSSH's ssh-keygen when it is there.
try {
  const out = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'id_ed25519.pub')], { encoding: 'utf8' });
  console.log('ssh-keygen agrees:', out.split(' ')[1] === ed.fingerprintSHA256());
} catch {
  console.log('ssh-keygen not installed; fingerprint not cross-checked');
}
rmSync(dir, { recursive: true, force: true });
