/**
 * readCertificateList / importCertificateList (AsyncSSH's
 * read_certificate_list): several `ssh-keygen -s` certificates in one file,
 * one a line, with comments and blank lines between them; checked against
 * what `ssh-keygen -L` says of each, and a bad line named by its number.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCertificate, importCertificateList, readCertificateList } from '../../src/crypto/keys/certificate.js';
import { CertificateError } from '../../src/protocol/certificate.js';
import { makeTempDir, removeTempDir, requireBinary } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh-keygen', 'openssh-client');
const keygen = (args: string[]): string => execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('certificate lists from ssh-keygen', { skip, timeout: 60_000 }, () => {
  let dir = '';
  const made: { type: string; id: string; serial: number; principals: string[]; certLine: string; listing: string }[] = [];

  before(() => {
    dir = makeTempDir('fleetssh-certlist-');
    keygen(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
    const kinds: [string, string[]][] = [['ed25519', ['-t', 'ed25519']], ['ecdsa', ['-t', 'ecdsa', '-b', '384']], ['rsa', ['-t', 'rsa', '-b', '2048']]];
    kinds.forEach(([name, args], i) => {
      const key = join(dir, `id_${name}`);
      keygen(['-q', ...args, '-N', '', '-f', key]);
      const host = i === 1;
      keygen(['-q', '-s', join(dir, 'ca'), '-I', `id-${name}`, '-z', String(100 + i), '-n', host ? 'h1.example,h2.example' : `user${i}`, ...(host ? ['-h'] : ['-O', 'no-pty']), `${key}.pub`]);
      const certLine = readFileSync(`${key}-cert.pub`, 'utf8').trim();
      made.push({ type: certLine.split(' ')[0]!, id: `id-${name}`, serial: 100 + i, principals: host ? ['h1.example', 'h2.example'] : [`user${i}`], certLine, listing: keygen(['-L', '-f', `${key}-cert.pub`]) });
    });
  });
  after(() => removeTempDir(dir));

  test('three certificates with comments and blank lines: all read, in order, as ssh-keygen -L lists them', async () => {
    const path = join(dir, 'certs');
    writeFileSync(path, `# user and host certificates\n\n${made[0]!.certLine}\n   \n# the host one\n${made[1]!.certLine}\r\n${made[2]!.certLine}\n`);
    const list = await readCertificateList(path);
    assert.equal(list.length, 3);
    list.forEach((c, i) => {
      const m = made[i]!;
      assert.equal(c.certKeyType, m.type);
      assert.equal(c.keyId, m.id);
      assert.equal(c.serial, BigInt(m.serial));
      assert.deepEqual(c.principals, m.principals);
      assert.match(m.listing, new RegExp(`Type: ${m.type.replace(/[.]/g, '\\.')} ${c.type} certificate`));
      assert.equal(c.verifySignature(), true);
      assert.equal(c.exportCertificate(), m.certLine);
      // no-pty: ssh-keygen -L leaves permit-pty out of the extensions; so do we.
      if (c.type === 'user') assert.ok(!c.extensions.includes('permit-pty') && c.extensions.includes('permit-port-forwarding'));
    });
    // The same from the text and from bytes; importCertificate gives the first.
    const text = readFileSync(path, 'utf8');
    assert.equal(importCertificateList(text).length, 3);
    assert.equal(importCertificateList(new Uint8Array(readFileSync(path))).length, 3);
    assert.equal(importCertificate(text).keyId, 'id-ed25519');
    // A raw blob is a list of one.
    assert.equal(importCertificateList(list[2]!.blob)[0]!.keyId, 'id-rsa');
  });

  test('an empty or comment-only file is an empty list; a bad line is named', async () => {
    assert.deepEqual(importCertificateList('# nothing here\n\n'), []);
    const bad = join(dir, 'bad');
    writeFileSync(bad, `${made[0]!.certLine}\n# ok so far\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ1bm5pbmcgb3V0IG9mIGlkZWFzIGZvciB0ZXN0cw== plain key\n`);
    await assert.rejects(readCertificateList(bad), (e: unknown) => e instanceof CertificateError && /bad: line 3: /.test(e.message));
    assert.throws(() => importCertificateList(3 as never), TypeError);
  });
});
