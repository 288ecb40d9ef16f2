/**
 * Dropbear (Debian package dropbear-bin, 2022.83 here) in both directions.
 *
 * fleetssh connect() -> dropbear: password and publickey (ed25519, ECDSA, RSA
 * keys of ours), exec with stdin/stdout/stderr/exit status/exit signal, every
 * kex, cipher, MAC, host key and compression algorithm dropbear offers that we
 * implement too, one at a time, and a few MiB hashed each way.
 *
 * dbclient -> fleetssh listen(): our keys converted by dropbearconvert and a
 * key made by dropbearkey, password through DROPBEAR_PASSWORD, our host key
 * checked against dbclient's known_hosts (and a wrong one refused), each
 * cipher/MAC dbclient has and each kex (one server per kex), a few MiB hashed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type SSHClientConnection } from '../../src/actors/client.js';
import type { ConnectOptions } from '../../src/actors/client-options.js';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import {
  convertToDropbear,
  dbclientSkipReason,
  dropbearKeygen,
  dropbearSkipReason,
  dropbearVersion,
  runDbclient,
  startDropbear,
  writeDbclientKnownHosts,
  type DropbearServer,
} from '../helpers/dropbear.js';
import { makeTempDir } from '../helpers/ssh-client.js';

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// What dropbear 2022.83 offers (its KEXINIT, seen with ssh -vv) that fleetssh implements.
const DROPBEAR_KEX = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp521', 'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1'] as const;
const DROPBEAR_CIPHER_MACS: readonly [string, string | null][] = [
  ['chacha20-poly1305@openssh.com', null],
  ['aes128-ctr', 'hmac-sha1'],
  ['aes128-ctr', 'hmac-sha2-256'],
  ['aes256-ctr', 'hmac-sha1'],
  ['aes256-ctr', 'hmac-sha2-256'],
];

describe('fleetssh client -> dropbear', { skip: dropbearSkipReason(), timeout: 90_000 }, () => {
  let server: DropbearServer;
  let keys: Record<'ed25519' | 'ecdsa' | 'rsa', SSHKey>;

  before(async () => {
    keys = {
      ed25519: generatePrivateKey('ssh-ed25519'),
      ecdsa: generatePrivateKey('ecdsa-sha2-nistp256'),
      rsa: generatePrivateKey('ssh-rsa', { bits: 2048 }),
    };
    process.stdout.write(`# peer: ${await within(5_000, 'dropbear -V', dropbearVersion())}\n`);
    server = await within(20_000, 'start dropbear', startDropbear({ authorizedKeys: Object.values(keys).map((k) => k.exportPublicKey()) }));
  });
  after(async () => {
    await within(10_000, 'stop dropbear', server?.stop() ?? Promise.resolve());
  });

  async function open(options: Partial<ConnectOptions>, on: DropbearServer = server): Promise<SSHClientConnection> {
    try {
      return await within(15_000, 'connect', connect('127.0.0.1', {
        port: on.port, username: on.user.name, knownHosts: on.knownHostsFile, clientKeys: [keys.ed25519], agentPath: null, config: null, ...options,
      }));
    } catch (err) {
      (err as Error).message += `\n--- dropbear log (last 10 lines):\n${on.logs().split('\n').slice(-10).join('\n')}`;
      throw err;
    }
  }

  async function roundTrip(conn: SSHClientConnection, tag: string): Promise<void> {
    const input = Buffer.concat([Buffer.from(tag), randomBytes(1000), Buffer.from([0, 0xff, 0x0a, 0x0d])]);
    const r = await within(15_000, `run over ${tag}`, conn.run('cat; echo to-stderr >&2; exit 7', { input, encoding: null }));
    assert.equal(sha256(r.stdout as Buffer), sha256(input));
    assert.equal(r.stderr.toString(), 'to-stderr\n');
    assert.equal(r.exitStatus, 7);
    assert.equal(r.exitSignal, null);
  }

  test('password, and publickey with ed25519, ECDSA and RSA keys; exec with stdin, stdout, stderr and exit status', async () => {
    const cases: [string, Partial<ConnectOptions>][] = [
      ['password', { clientKeys: null, password: server.user.password }],
      ['ed25519', { clientKeys: [keys.ed25519] }],
      ['ecdsa', { clientKeys: [keys.ecdsa] }],
      ['rsa', { clientKeys: [keys.rsa] }],
    ];
    for (const [name, options] of cases) {
      const conn = await open(options);
      try {
        assert.match(conn.serverVersion ?? '', /^SSH-2\.0-dropbear/);
        await roundTrip(conn, name);
      } finally {
        await within(10_000, 'close', conn.close());
      }
    }
  });

  test('a wrong password and an unknown key are refused', async () => {
    await assert.rejects(open({ clientKeys: null, password: 'not-the-password' }), (e: Error) => /denied|auth/i.test(`${e.name} ${e.message}`));
    await assert.rejects(open({ clientKeys: [generatePrivateKey('ssh-ed25519')] }), (e: Error) => /denied|auth/i.test(`${e.name} ${e.message}`));
  });

  test('exit signal: a command killed by SIGTERM', async () => {
    const conn = await open({});
    try {
      const r = await within(15_000, 'run', conn.run('kill -TERM $$'));
      assert.equal(r.exitStatus, null);
      assert.equal(r.exitSignal?.signal, 'TERM');
    } finally {
      await within(10_000, 'close', conn.close());
    }
  });

  for (const kex of DROPBEAR_KEX) {
    test(`kex ${kex}`, async () => {
      const conn = await open({ kexAlgs: [kex] });
      try {
        assert.equal(conn.algorithms?.kex, kex);
        await roundTrip(conn, kex);
      } finally {
        await within(10_000, 'close', conn.close());
      }
    });
  }

  for (const [cipher, mac] of DROPBEAR_CIPHER_MACS) {
    test(`cipher ${cipher}${mac ? ` + ${mac}` : ' (AEAD)'}`, async () => {
      const conn = await open({ encryptionAlgs: [cipher], ...(mac ? { macAlgs: [mac] } : {}) });
      try {
        const a = conn.algorithms;
        assert.equal(a?.cipherCS, cipher);
        assert.equal(a?.cipherSC, cipher);
        if (mac) assert.deepEqual([a?.macCS, a?.macSC], [mac, mac]);
        await roundTrip(conn, cipher);
      } finally {
        await within(10_000, 'close', conn.close());
      }
    });
  }

  test('host key algorithms ssh-ed25519, ecdsa-sha2-nistp256/384/521, rsa-sha2-256, ssh-rsa, checked against known_hosts', async () => {
    const more = await within(30_000, 'start dropbear (ecdsa384, ecdsa521)', Promise.all([
      startDropbear({ hostKeys: ['ecdsa384'], authorizedKeys: [keys.ed25519.exportPublicKey()] }),
      startDropbear({ hostKeys: ['ecdsa521'], authorizedKeys: [keys.ed25519.exportPublicKey()] }),
    ]));
    try {
      const cases: [string, DropbearServer][] = [
        ['ssh-ed25519', server], ['ecdsa-sha2-nistp256', server], ['rsa-sha2-256', server], ['ssh-rsa', server],
        ['ecdsa-sha2-nistp384', more[0]], ['ecdsa-sha2-nistp521', more[1]],
      ];
      for (const [alg, on] of cases) {
        const conn = await open({ serverHostKeyAlgs: [alg] }, on);
        try {
          assert.equal(conn.algorithms?.hostKey, alg);
          await roundTrip(conn, alg);
        } finally {
          await within(10_000, 'close', conn.close());
        }
      }
      // The same server under a known_hosts entry with another key is refused.
      const wrong = join(makeTempDir('fleetssh-dropbear-kh-'), 'known_hosts');
      writeFileSync(wrong, `[127.0.0.1]:${server.port} ${generatePrivateKey('ssh-ed25519').exportPublicKey()}\n`);
      await assert.rejects(open({ knownHosts: wrong, serverHostKeyAlgs: ['ssh-ed25519'] }), /host key/i);
    } finally {
      await within(10_000, 'stop', Promise.all(more.map((s) => s.stop())));
    }
  });

  for (const compression of ['none', 'zlib@openssh.com'] as const) {
    test(`a few MiB each way, hashed (compression ${compression})`, async () => {
      const conn = await open({ compressionAlgs: [compression] });
      try {
        assert.equal(conn.algorithms?.compressionCS, compression);
        // Upload 4 MiB: dropbear's side hashes it; and through cat both ways at once.
        const up = randomBytes(4 << 20);
        const hashed = await within(30_000, 'sha256sum', conn.run('sha256sum', { input: up, encoding: 'utf8' }));
        assert.equal(String(hashed.stdout).split(' ')[0], sha256(up));
        const echoed = await within(30_000, 'cat', conn.run('cat', { input: up, encoding: null }));
        assert.equal((echoed.stdout as Buffer).length, up.length);
        assert.equal(sha256(echoed.stdout as Buffer), sha256(up));
        // Download 3 MiB made on the far side, with its hash on stderr.
        const cmd = 'f=$(mktemp) && head -c 3145728 /dev/urandom >"$f" && sha256sum <"$f" >&2 && cat "$f"; rm -f "$f"';
        const down = await within(30_000, 'download', conn.run(cmd, { encoding: null }));
        assert.equal(down.exitStatus, 0);
        assert.equal((down.stdout as Buffer).length, 3 << 20);
        assert.equal(down.stderr.toString().split(' ')[0], sha256(down.stdout as Buffer));
      } finally {
        await within(10_000, 'close', conn.close());
      }
    });
  }
});

/** `bulk N` writes N bytes from `data`; anything else: `<command>|<sha256 of stdin>|<length>` on stdout, "err" on stderr, exit 5. */
function echoHashProcess(data: Buffer): (p: SSHServerProcess) => void {
  return (p) => {
    const m = /^bulk (\d+)$/.exec(p.command ?? '');
    if (m) {
      p.stdout.write(data.subarray(0, Number(m[1])));
      p.exit(0);
      return;
    }
    const h = createHash('sha256');
    let n = 0;
    p.stdin.on('data', (b: Buffer) => {
      h.update(b);
      n += b.length;
    });
    p.stdin.on('end', () => {
      p.stdout.write(`${p.command}|${h.digest('hex')}|${n}`);
      p.stderr.write('err');
      p.exit(5);
    });
  };
}

describe('dbclient -> fleetssh server', { skip: dbclientSkipReason(), timeout: 90_000 }, () => {
  const hostKeys = [generatePrivateKey('ssh-ed25519'), generatePrivateKey('ecdsa-sha2-nistp256'), generatePrivateKey('ssh-rsa', { bits: 2048 })];
  const bulk = randomBytes(4 << 20);
  let dir: string;
  let home: string;
  let server: SSHServer;
  /** dropbear-format client key files: ours converted, and one made by dropbearkey. */
  const keyFiles: Record<string, string> = {};

  function serverOptions(extra: Partial<ListenOptions>, authorized: SSHKey[]): ListenOptions {
    return {
      host: '127.0.0.1', port: 0, serverHostKeys: hostKeys, passwords: { dave: 'pw-dave' },
      authorizedClientKeys: authorized, processFactory: echoHashProcess(bulk), encoding: null, ...extra,
    };
  }
  let authorized: SSHKey[];

  before(async () => {
    dir = makeTempDir('fleetssh-dbclient-');
    home = makeTempDir('fleetssh-dbclient-home-');
    const ours = { ed25519: generatePrivateKey('ssh-ed25519'), ecdsa: generatePrivateKey('ecdsa-sha2-nistp256'), rsa: generatePrivateKey('ssh-rsa', { bits: 2048 }) };
    authorized = Object.values(ours).map((k) => importPublicKey(k.exportPublicKey()));
    await within(30_000, 'dropbearconvert', Promise.all(Object.entries(ours).map(async ([name, k]) => {
      const src = join(dir, `id_${name}`);
      writeFileSync(src, k.exportPrivateKey('openssh'), { mode: 0o600 });
      keyFiles[name] = join(dir, `id_${name}.dropbear`);
      await convertToDropbear(src, keyFiles[name]!);
    })));
    const native = await within(30_000, 'dropbearkey', dropbearKeygen('ed25519', dir, 'id_dropbearkey'));
    keyFiles['dropbearkey ed25519'] = native.path;
    authorized.push(importPublicKey(native.publicLine));
    server = await within(10_000, 'listen', listen(serverOptions({}, authorized)));
    writeDbclientKnownHosts(home, hostKeys.map((k) => k.exportPublicKey()));
  });
  after(async () => {
    await within(10_000, 'server close', server?.close() ?? Promise.resolve());
  });

  function dbclient(args: readonly string[], port: number, input?: Uint8Array, extra: { password?: string; home?: string } = {}) {
    // No -y: the host key must be found in $HOME/.ssh/known_hosts.
    return runDbclient(['-p', String(port), ...args], { home: extra.home ?? home, password: extra.password, input, timeoutMs: 30_000 });
  }

  function assertEcho(r: Awaited<ReturnType<typeof runDbclient>>, command: string, input: Buffer): void {
    assert.equal(r.stdout.toString(), `${command}|${sha256(input)}|${input.length}`, r.stderr);
    assert.match(r.stderr, /err$/);
    assert.equal(r.code, 5);
  }

  test('publickey with our keys converted by dropbearconvert and a dropbearkey key; password via DROPBEAR_PASSWORD', async () => {
    const input = Buffer.concat([Buffer.from('dbclient stdin'), randomBytes(500)]);
    for (const [name, path] of Object.entries(keyFiles)) {
      const r = await dbclient(['-i', path, 'dave@127.0.0.1', `key ${name.replace(/ /g, '-')}`], server.port, input);
      assertEcho(r, `key ${name.replace(/ /g, '-')}`, input);
    }
    const r = await dbclient(['dave@127.0.0.1', 'by-password'], server.port, input, { password: 'pw-dave' });
    assertEcho(r, 'by-password', input);
    const bad = await dbclient(['dave@127.0.0.1', 'x'], server.port, input, { password: 'wrong' });
    // dbclient retries the same DROPBEAR_PASSWORD until our server disconnects
    // (maxAuthTries), and then exits 0 ("Disconnect received"): the command never ran.
    assert.equal(bad.stdout.length, 0);
    assert.match(bad.stderr, /Disconnect received|denied|auth/i);
  });

  test('a host key that does not match dbclient\'s known_hosts is refused', async () => {
    const otherHome = makeTempDir('fleetssh-dbclient-home-');
    writeDbclientKnownHosts(otherHome, hostKeys.map(() => generatePrivateKey('ssh-ed25519').exportPublicKey()));
    const r = await dbclient(['-i', keyFiles.ed25519!, 'dave@127.0.0.1', 'x'], server.port, Buffer.alloc(0), { home: otherHome });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /mismatch|host key/i);
  });

  for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-ctr']) {
    for (const mac of cipher.startsWith('chacha') ? [null] : ['hmac-sha1', 'hmac-sha2-256']) {
      test(`dbclient -c ${cipher}${mac ? ` -m ${mac}` : ''}`, async () => {
        const input = randomBytes(64 << 10);
        const tag = `c-${cipher}-${mac ?? 'aead'}`;
        const r = await dbclient(['-c', cipher, ...(mac ? ['-m', mac] : []), '-i', keyFiles.ed25519!, 'dave@127.0.0.1', tag], server.port, input);
        assertEcho(r, tag, input);
      });
    }
  }

  test('each kex dbclient shares with us (a server offering only that one)', async () => {
    const input = Buffer.from('kex check');
    for (const kex of DROPBEAR_KEX) {
      const one = await within(10_000, 'listen', listen(serverOptions({ kexAlgs: [kex] }, authorized)));
      try {
        const h = makeTempDir('fleetssh-dbclient-home-');
        writeDbclientKnownHosts(h, hostKeys.map((k) => k.exportPublicKey()));
        const r = await dbclient(['-i', keyFiles.ed25519!, 'dave@127.0.0.1', `kex-${kex}`], one.port, input, { home: h });
        assertEcho(r, `kex-${kex}`, input);
      } finally {
        await within(10_000, 'close', one.close());
      }
    }
  });

  test('a few MiB each way, hashed', async () => {
    const up = bulk.subarray(0, 3 << 20);
    const r = await dbclient(['-i', keyFiles.ed25519!, 'dave@127.0.0.1', 'upload'], server.port, up);
    assertEcho(r, 'upload', Buffer.from(up));
    const down = await dbclient(['-i', keyFiles.ed25519!, 'dave@127.0.0.1', `bulk ${bulk.length}`], server.port);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout.length, bulk.length);
    assert.equal(sha256(down.stdout), sha256(bulk));
  });
});
