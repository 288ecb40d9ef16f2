import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { makeTempDir, removeTempDir, requireBinary } from '../helpers/ssh-client.js';
import { KeyImportError } from '../../src/protocol/errors.js';
import { utf8 } from '../../src/protocol/wire.js';
import type { KeyType, SignatureName } from '../../src/protocol/algorithms.js';

const skip = requireBinary('puttygen', 'putty-tools') ?? requireBinary('ssh-keygen', 'openssh-client');
let dir = '';
let passFile = '';
let wrongFile = '';
const PASS = 'putty pass';
before(() => {
  dir = makeTempDir('fleetssh-keys-putty-');
  passFile = join(dir, 'pass');
  wrongFile = join(dir, 'wrong');
  writeFileSync(passFile, PASS + '\n');
  writeFileSync(wrongFile, 'not it\n');
});
after(() => removeTempDir(dir));

const run = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const kinds: Array<[string, string[], KeyType]> = [
  ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384'],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521'],
  ['rsa', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa'],
];
const sigAlg = (t: KeyType): SignatureName => (t === 'ssh-rsa' ? 'rsa-sha2-512' : (t as SignatureName));
const firstTwo = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ');

for (const [name, args, keyType] of kinds) {
  for (const version of [2, 3] as const) {
    for (const encrypted of [false, true]) {
      test(`puttygen writes ${name} PPK v${version} ${encrypted ? 'encrypted' : 'plain'}: fleetssh imports it and signs`, { skip }, () => {
        const src = join(dir, `${name}-v${version}-${encrypted}`);
        run('ssh-keygen', [...args, '-N', '', '-C', `putty ${name}`, '-q', '-f', src]);
        const ppk = src + '.ppk';
        run('puttygen', [src, '-O', 'private', '-o', ppk, '--ppk-param', `version=${version}`, ...(encrypted ? ['--new-passphrase', passFile] : [])]);
        const text = readFileSync(ppk, 'utf8');
        assert.match(text, new RegExp(`^PuTTY-User-Key-File-${version}: ${keyType}\\n`));
        const key = importPrivateKey(text, encrypted ? PASS : undefined);
        const pub = importPublicKey(readFileSync(src + '.pub', 'utf8'));
        assert.deepEqual(key.publicBlob, pub.publicBlob);
        assert.equal(key.comment, `putty ${name}`);
        const data = utf8(`ppk ${name}`);
        assert.equal(pub.verify(sigAlg(keyType), key.sign(sigAlg(keyType), data), data), true);
        if (encrypted) assert.throws(() => importPrivateKey(text, 'not it'), (e: unknown) => e instanceof KeyImportError && /wrong passphrase/.test(e.message));
      });

      test(`fleetssh writes ${name} PPK v${version} ${encrypted ? 'encrypted' : 'plain'}: puttygen -O public-openssh reads it`, { skip }, () => {
        const src = join(dir, `${name}-ours-v${version}-${encrypted}`);
        run('ssh-keygen', [...args, '-N', '', '-C', 'ours', '-q', '-f', src]);
        const key = importPrivateKey(readFileSync(src));
        const ppk = src + '.ppk';
        writeFileSync(ppk, key.exportPrivateKey(version === 2 ? 'ppk2' : 'ppk3', encrypted ? PASS : undefined, { argon2: { memory: 1024, passes: 2, parallelism: 1 } }));
        const out = src + '.from-putty.pub';
        run('puttygen', [ppk, ...(encrypted ? ['--old-passphrase', passFile] : []), '-O', 'public-openssh', '-o', out]);
        assert.equal(firstTwo(readFileSync(out, 'utf8')), firstTwo(key.publicOnly().exportPublicKey()));
        // puttygen also converts it back to an OpenSSH private key that we read as the same key.
        const back = src + '.from-putty';
        run('puttygen', [ppk, ...(encrypted ? ['--old-passphrase', passFile] : []), '-O', 'private-openssh', '-o', back]);
        // (puttygen keeps the passphrase: encrypted OpenSSH for Ed25519, legacy-encrypted PEM for ECDSA/RSA.)
        assert.deepEqual(importPrivateKey(readFileSync(back), encrypted ? PASS : undefined).publicBlob, key.publicBlob);
        if (encrypted) assert.throws(() => run('puttygen', [ppk, '--old-passphrase', wrongFile, '-O', 'private-openssh', '-o', out + '2']));
      });
    }
  }
}
