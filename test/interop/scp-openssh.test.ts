/**
 * SCP with real OpenSSH: its `scp` client against fleetssh's server in
 * legacy mode (`-O`: our withScp) and in its default SFTP mode (our SFTP
 * server), with -r, -p and -3 between two fleetssh servers; and fleetssh's
 * scp() against OpenSSH sshd in both directions with recurse + preserve.
 * Byte-exact by SHA-256; modes and mtimes compared where -p/preserve asked.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/actors/client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey, importPrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { scp } from '../../src/actors/scp-client.js';
import { withScp } from '../../src/actors/scp-server.js';
import { withSftp } from '../../src/actors/sftp-connect.js';
import { sshdSkipReason, startSshd } from '../helpers/openssh.js';
import { makeTempDir, randomFile, removeTempDir, requireBinary, runProcess, sha256File } from '../helpers/ssh-client.js';

const skipScp = requireBinary('scp', 'openssh-client') ?? false;

/** Every regular file under `dir` as relative path -> [sha256, mode, mtime]. */
async function snapshot(dir: string, withMeta: boolean): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, rel);
    const st = statSync(p);
    const meta = withMeta ? ` ${(st.mode & 0o777).toString(8)} ${Math.floor(st.mtimeMs / 1000)}` : '';
    out[rel] = (st.isFile() ? await sha256File(p) : 'dir') + meta;
  }
  return out;
}

/** A small tree with odd names, modes and old mtimes. */
async function makeTree(dir: string): Promise<void> {
  mkdirSync(join(dir, 'sub dir/deeper'), { recursive: true });
  await randomFile(join(dir, 'big.bin'), 2 * 1024 * 1024 + 3);
  await randomFile(join(dir, 'sub dir/it’s ü.txt'), 10_000);
  await randomFile(join(dir, 'sub dir/deeper/x'), 1);
  writeFileSync(join(dir, 'empty'), '');
  chmodSync(join(dir, 'sub dir/deeper/x'), 0o600);
  chmodSync(join(dir, 'big.bin'), 0o640);
  for (const [i, rel] of ['big.bin', 'empty', 'sub dir/it’s ü.txt', 'sub dir/deeper/x', 'sub dir/deeper', 'sub dir'].entries()) {
    utimesSync(join(dir, rel), 1_500_000_000 + i, 1_400_000_000 + i * 1000);
  }
}

describe('OpenSSH scp -> fleetssh server', { skip: skipScp, timeout: 120_000 }, () => {
  let work: string;
  const servers: SSHServer[] = [];
  const roots: string[] = [];
  let keyPath: string;

  before(async () => {
    work = makeTempDir('scp-openssh-');
    const userKey = generatePrivateKey('ssh-ed25519');
    keyPath = join(work, 'id');
    writeFileSync(keyPath, userKey.exportPrivateKey('openssh'), { mode: 0o600 });
    for (const name of ['a', 'b']) {
      const root = join(work, `root-${name}`);
      mkdirSync(root);
      roots.push(root);
      servers.push(await listen({
        host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], authorizedClientKeys: [userKey.publicOnly()], encoding: null,
        processFactory: withSftp({ chroot: root }, withScp({ chroot: root })),
      }));
    }
    await makeTree(join(work, 'tree'));
  });

  after(async () => {
    for (const s of servers) await s.close();
    removeTempDir(work);
  });

  const scpArgs = (): string[] => ['-F', 'none', '-q', '-i', keyPath, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none'];
  const uri = (i: number, path: string): string => `scp://u@127.0.0.1:${servers[i]!.port}/${path}`;
  const runScp = async (args: string[]): Promise<void> => {
    const r = await runProcess('scp', [...scpArgs(), ...args], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `scp ${args.join(' ')}: ${r.stderr}`);
  };

  // Regression: the SFTP-mode case used to fail in most runs — our server answered the reads of one handle
  // out of order, and OpenSSH's client takes an EOF status as the end of the file even while the data of an
  // earlier read is still to come, so downloads were cut at a block boundary (scp still exiting 0).
  for (const [mode, flag] of [['legacy -O (withScp)', '-O'], ['default SFTP mode', null]] as const) {
    test(`${mode}: -r -p up, -r -p down, -3 between two servers, byte-exact with modes and mtimes`, async () => {
      const tag = flag ? 'legacy' : 'sftp';
      const f = flag ? [flag] : [];
      const want = await snapshot(join(work, 'tree'), true);
      await runScp([...f, '-r', '-p', join(work, 'tree'), uri(0, `up-${tag}`)]);
      assert.deepEqual(await snapshot(join(roots[0]!, `up-${tag}`), true), want);
      await runScp([...f, '-r', '-p', uri(0, `up-${tag}`), join(work, `down-${tag}`)]);
      assert.deepEqual(await snapshot(join(work, `down-${tag}`), true), want);
      await runScp([...f, '-3', '-r', '-p', uri(0, `up-${tag}`), uri(1, `third-${tag}`)]);
      // -3 preserves modes; OpenSSH's SFTP-mode -3 does not carry times, so compare contents and modes there.
      const third = await snapshot(join(roots[1]!, `third-${tag}`), !!flag);
      assert.deepEqual(third, flag ? want : await snapshot(join(work, 'tree'), false));
      // A single file without -p, and a wildcard the remote side expands.
      await runScp([...f, uri(0, `up-${tag}/b*.bin`), join(work, `one-${tag}.bin`)]);
      assert.equal(await sha256File(join(work, `one-${tag}.bin`)), await sha256File(join(work, "tree/big.bin")));
      // Nothing escapes the chroot.
      const esc = await runProcess('scp', [...scpArgs(), ...f, uri(0, '../../../../etc/passwd'), join(work, `pw-${tag}`)], { timeoutMs: 30_000 });
      assert.notEqual(esc.code, 0);
    });
  }
});

const skipSshd = sshdSkipReason() ?? false;

test('fleetssh scp() <-> OpenSSH sshd: recurse + preserve both directions, and third party sshd -> sshd', { skip: skipSshd, timeout: 120_000 }, async () => {
  const sshd = await startSshd();
  const work = makeTempDir('scp-sshd-');
  try {
    await makeTree(join(work, 'tree'));
    const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    const o = { port: sshd.port, username: 'root', clientKeys: [key], knownHosts: sshd.knownHostsFile, kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'] };
    const want = await snapshot(join(work, 'tree'), true);
    await scp(join(work, 'tree'), `127.0.0.1:${join(work, 'up')}`, { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'up'), true), want);
    await scp(`127.0.0.1:${join(work, 'up')}`, join(work, 'down'), { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'down'), true), want);
    // A wildcard on the remote side, several sources into a directory.
    mkdirSync(join(work, 'glob'));
    await scp(`127.0.0.1:${join(work, 'up/sub dir')}/*.txt`, join(work, 'glob'), o);
    assert.deepEqual(readdirSync(join(work, 'glob')), ['it’s ü.txt']);
    const conn = await connect('127.0.0.1', o);
    const conn2 = await connect('127.0.0.1', o);
    try {
      await scp([conn, join(work, 'up')], [conn2, join(work, 'third')], { recurse: true, preserve: true });
      assert.deepEqual(await snapshot(join(work, 'third'), true), want);
      await scp([conn, `${join(work, 'up')}/.`], [conn2, join(work, 'third-dot')], { recurse: true, preserve: true });
      assert.deepEqual(await snapshot(join(work, 'third-dot'), true), want);
      await assert.rejects(scp([conn, join(work, 'nope')], join(work, 'x')), /No such file/);
    } finally {
      conn.close();
      conn2.close();
    }
    // A directory given as '.': OpenSSH's source names it '.', which a sink accepts only where it was asked for.
    await scp(`127.0.0.1:${join(work, 'up')}/.`, join(work, 'dot-down'), { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'dot-down'), true), want);
    mkdirSync(join(work, 'dot-merge'));
    await scp(`127.0.0.1:${join(work, 'up')}/.`, join(work, 'dot-merge'), { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'dot-merge'), true), want, 'into an existing directory itself, as OpenSSH scp (SFTP mode)');
    // Uploading 'tree/.' sends the directory under its real name; a target given as 'dir/.' is that directory.
    await scp(`${join(work, 'tree')}/.`, `127.0.0.1:${join(work, 'dot-up')}`, { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'dot-up'), true), want);
    mkdirSync(join(work, 'dot-target'));
    await scp(join(work, 'tree'), `127.0.0.1:${join(work, 'dot-target')}/.`, { ...o, recurse: true, preserve: true });
    assert.deepEqual(await snapshot(join(work, 'dot-target/tree'), true), want);
  } finally {
    await sshd.stop();
    removeTempDir(work);
  }
});
