/**
 * OpenSSH `ssh` against the fleetssh server, one dimension at a time: every
 * cipher (-c, legacy CBC/3DES enabled on our side), every MAC (-m) with a
 * non-AEAD cipher, every key exchange both support (-o KexAlgorithms=), every
 * host key algorithm (-o HostKeyAlgorithms=, verified from a known_hosts file
 * under StrictHostKeyChecking=yes), every client key type (-i) and compression
 * (-C). Each case pipes stdin through our processFactory, checks output and
 * exit status, and reads the negotiated algorithms from ssh's DEBUG1 lines.
 *
 * Not covered here: mlkem768x25519-sha256 (OpenSSH 9.2 does not have it; it is
 * exercised client-to-server in-process only) and sntrup761 (we do not have it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type ListenOptions, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { CIPHER_ALGORITHMS, COMPRESSION_ALGORITHMS, KEX_ALGORITHMS, MAC_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../../src/protocol/algorithms.js';
import { keygen, makeTempDir, requireBinary, runSsh, type KeyFiles, type SshTarget } from '../helpers/ssh-client.js';

const skip = requireBinary('ssh', 'openssh-client') ?? requireBinary('ssh-keygen', 'openssh-client');

const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
/** Kex methods OpenSSH 9.2 and fleetssh share (mlkem768x25519 is ours only). */
const SHARED_KEX = KEX_ALGORITHMS.filter((k) => k !== 'mlkem768x25519-sha256');

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Echoes `<command>|<stdin>` back and exits 7. */
function echoProcess(p: SSHServerProcess): void {
  const chunks: Buffer[] = [];
  p.stdin.on('data', (b: Buffer | string) => chunks.push(Buffer.from(b)));
  p.stdin.on('end', () => {
    p.stdout.write(`${p.command}|${Buffer.concat(chunks).toString('utf8')}`);
    p.exit(7);
  });
}

interface Ours {
  server: SSHServer;
  knownHostsFile: string;
  /** Signature algorithms clients authenticated with (publickey), in order. */
  userAuthAlgorithms: string[];
  closeErrors: unknown[];
}

async function startOurs(hostKeys: SSHKey[], authorized: SSHKey[], extra: Partial<ListenOptions> = {}): Promise<Ours> {
  const userAuthAlgorithms: string[] = [];
  const closeErrors: unknown[] = [];
  const server = await within(10_000, 'listen', listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: hostKeys,
    handler: {
      validatePublicKey: (_user, key) => {
        const ok = authorized.some((k) => Buffer.compare(Buffer.from(k.publicBlob), Buffer.from(key.publicBlob)) === 0);
        if (ok) userAuthAlgorithms.push(key.algorithm);
        return ok;
      },
    },
    processFactory: echoProcess,
    encoding: null,
    ...extra,
  }));
  server.on('connectionClosed', (_c: unknown, err: unknown) => {
    if (err) closeErrors.push(err);
  });
  const knownHostsFile = join(makeTempDir('fleetssh-server-kh-'), 'known_hosts');
  writeFileSync(knownHostsFile, hostKeys.map((k) => `[127.0.0.1]:${server.port} ${k.exportPublicKey()}\n`).join(''));
  return { server, knownHostsFile, userAuthAlgorithms, closeErrors };
}

/** The negotiated algorithms as ssh -v reports them. */
function negotiated(stderr: string): { kex?: string; hostKey?: string; s2c?: [string, string, string]; c2s?: [string, string, string] } {
  const kex = /kex: algorithm: (\S+)/.exec(stderr)?.[1];
  const hostKey = /kex: host key algorithm: (\S+)/.exec(stderr)?.[1];
  const dir = (d: string): [string, string, string] | undefined => {
    const m = new RegExp(`kex: ${d} cipher: (\\S+) MAC: (\\S+) compression: (\\S+)`).exec(stderr);
    return m ? [m[1]!, m[2]!, m[3]!] : undefined;
  };
  return { kex, hostKey, s2c: dir('server->client'), c2s: dir('client->server') };
}

describe('OpenSSH ssh -> fleetssh server: algorithm matrix', { skip, timeout: 150_000 }, () => {
  let ours: Ours;
  let plain: Ours;
  const clientKeys = {} as Record<'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa', KeyFiles>;
  let strangerKey: KeyFiles;
  const hostKeys = HOST_KEY_TYPES.map((t) => generatePrivateKey(t));

  before(async () => {
    const dir = makeTempDir('fleetssh-server-keys-');
    const specs = [['ed25519', 'ed25519', undefined], ['ecdsa256', 'ecdsa', 256], ['ecdsa384', 'ecdsa', 384], ['ecdsa521', 'ecdsa', 521], ['rsa', 'rsa', 2048]] as const;
    await within(60_000, 'ssh-keygen', Promise.all(specs.map(async ([name, type, bits]) => {
      clientKeys[name] = await keygen(type, bits, { dir, name: `id_${name}` });
    })));
    strangerKey = await within(30_000, 'ssh-keygen', keygen('ed25519', undefined, { dir, name: 'id_stranger' }));
    const authorized = Object.values(clientKeys).map((k) => importPublicKey(k.publicLine));
    // Everything we implement, legacy included, so that ssh's choice decides.
    ours = await startOurs(hostKeys, authorized, {
      kexAlgs: [...KEX_ALGORITHMS],
      encryptionAlgs: [...CIPHER_ALGORITHMS],
      macAlgs: [...MAC_ALGORITHMS],
      serverHostKeyAlgs: [...SIGNATURE_ALGORITHMS],
      compressionAlgs: ['none', 'zlib@openssh.com', 'zlib'],
    });
    // Defaults only: legacy algorithms must not be offered.
    plain = await startOurs(hostKeys, authorized);
  });
  after(async () => {
    await within(10_000, 'server close', Promise.all([ours?.server.close(), plain?.server.close()]));
  });

  const target = (o: Ours, over: Partial<SshTarget> = {}): SshTarget => ({
    port: o.server.port,
    user: 'alice',
    identityFile: clientKeys.ed25519.privatePath,
    knownHostsFile: o.knownHostsFile,
    strictHostKeyChecking: 'yes',
    logLevel: 'DEBUG1',
    ...over,
  });

  async function runCase(o: Ours, sshOpts: string[], over: Partial<SshTarget> = {}, input = 'payload') {
    const r = await runSsh([...sshOpts, 'echo-case'], { target: target(o, over), input, timeoutMs: 30_000 });
    assert.equal(r.timedOut, false, `ssh timed out\n${r.stderr}`);
    assert.equal(r.code, 7, `ssh exit status\n${r.stderr}`);
    assert.equal(r.stdout.toString('utf8'), `echo-case|${input}`);
    return { r, n: negotiated(r.stderr) };
  }

  for (const cipher of CIPHER_ALGORITHMS) {
    test(`-c ${cipher}`, async () => {
      const { n } = await runCase(ours, ['-c', cipher]);
      const aead = cipher.includes('gcm') || cipher.startsWith('chacha');
      assert.equal(n.s2c?.[0], cipher);
      assert.equal(n.c2s?.[0], cipher);
      if (aead) assert.equal(n.s2c?.[1], '<implicit>');
      else assert.match(n.s2c?.[1] ?? '', /^hmac-/);
    });
  }

  for (const mac of MAC_ALGORITHMS) {
    test(`-c aes128-ctr -m ${mac}`, async () => {
      const { n } = await runCase(ours, ['-c', 'aes128-ctr', '-m', mac]);
      assert.deepEqual(n.s2c, ['aes128-ctr', mac, 'none']);
      assert.deepEqual(n.c2s, ['aes128-ctr', mac, 'none']);
    });
  }

  for (const kex of SHARED_KEX) {
    test(`-o KexAlgorithms=${kex}`, async () => {
      // A GCM cipher keeps the group-exchange size request (and so the DH cost) moderate.
      const { n } = await runCase(ours, ['-c', 'aes128-gcm@openssh.com'], { options: { KexAlgorithms: kex } });
      assert.equal(n.kex, kex);
    });
  }

  for (const alg of SIGNATURE_ALGORITHMS) {
    test(`-o HostKeyAlgorithms=${alg} verifies against known_hosts`, async () => {
      const { r, n } = await runCase(ours, [], { options: { HostKeyAlgorithms: alg } });
      assert.equal(n.hostKey, alg);
      const keyType = alg.startsWith('rsa-') ? 'ssh-rsa' : alg;
      assert.match(r.stderr, new RegExp(`Server host key: ${keyType} SHA256:`));
      assert.match(r.stderr, /Host '\[127\.0\.0\.1\]:\d+' is known and matches/);
    });
  }

  test('ssh-rsa (SHA-1) host signatures are not offered unless enabled', async () => {
    const r = await runSsh(['echo-case'], { target: target(plain, { options: { HostKeyAlgorithms: 'ssh-rsa' } }), timeoutMs: 20_000 });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /no matching host key type found/);
  });

  test('legacy ciphers and kex are not offered by default', async () => {
    const c = await runSsh(['echo-case'], { target: target(plain, { logLevel: 'INFO' }), timeoutMs: 20_000 });
    assert.equal(c.code, 7, c.stderr); // the default server works...
    const cbc = await runSsh(['-c', 'aes128-cbc', 'echo-case'], { target: target(plain), timeoutMs: 20_000 });
    assert.equal(cbc.code, 255);
    assert.match(cbc.stderr, /no matching cipher found/);
    const g1 = await runSsh(['echo-case'], { target: target(plain, { options: { KexAlgorithms: 'diffie-hellman-group1-sha1' } }), timeoutMs: 20_000 });
    assert.equal(g1.code, 255);
    assert.match(g1.stderr, /no matching key exchange method found/);
  });

  const expectedUserAuth: Record<keyof typeof clientKeys, string> = {
    ed25519: 'ssh-ed25519',
    ecdsa256: 'ecdsa-sha2-nistp256',
    ecdsa384: 'ecdsa-sha2-nistp384',
    ecdsa521: 'ecdsa-sha2-nistp521',
    rsa: 'rsa-sha2-512', // chosen from our server-sig-algs (EXT_INFO)
  };
  for (const name of Object.keys(expectedUserAuth) as (keyof typeof clientKeys)[]) {
    test(`-i ${name} client key (publickey auth)`, async () => {
      const before = ours.userAuthAlgorithms.length;
      const { r } = await runCase(ours, [], { identityFile: clientKeys[name].privatePath });
      assert.match(r.stderr, /Authenticated to 127\.0\.0\.1 .* using "publickey"/);
      // The handler sees the key twice: the query, then the signed request.
      const seen = ours.userAuthAlgorithms.slice(before);
      assert.ok(seen.length >= 1);
      assert.deepEqual(new Set(seen), new Set([expectedUserAuth[name]]));
    });
  }

  test('an RSA client key signing with ssh-rsa (SHA-1) is refused by default', async () => {
    const r = await runSsh(['echo-case'], {
      target: target(plain, { identityFile: clientKeys.rsa.privatePath, options: { PubkeyAcceptedAlgorithms: 'ssh-rsa' } }),
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });

  test('an RSA client key signing with ssh-rsa (SHA-1) is accepted once ssh-rsa is enabled', async () => {
    const before = ours.userAuthAlgorithms.length;
    const { r } = await runCase(ours, [], { identityFile: clientKeys.rsa.privatePath, options: { PubkeyAcceptedAlgorithms: 'ssh-rsa' } });
    assert.match(r.stderr, /using "publickey"/);
    assert.deepEqual(new Set(ours.userAuthAlgorithms.slice(before)), new Set(['ssh-rsa']));
  });

  test('a key the server does not know is refused', async () => {
    const r = await runSsh(['echo-case'], { target: target(ours, { identityFile: strangerKey.privatePath }), timeoutMs: 20_000 });
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });

  for (const compression of COMPRESSION_ALGORITHMS.filter((c) => c !== 'none')) {
    test(`-C negotiates ${compression} when the server offers only it`, async () => {
      const authorized = [importPublicKey(clientKeys.ed25519.publicLine)];
      const only = await startOurs(hostKeys, authorized, { compressionAlgs: [compression, 'none'] });
      try {
        // Compressible data both ways, larger than one zlib window.
        const input = 'fleetssh compresses this line. '.repeat(40_000);
        const { n } = await runCase(only, ['-C'], {}, input);
        assert.deepEqual(n.s2c?.[2], compression);
        assert.deepEqual(n.c2s?.[2], compression);
      } finally {
        await within(10_000, 'server close', only.server.close());
      }
    });
  }

  test('without -C compression stays none', async () => {
    const { n } = await runCase(ours, []);
    assert.equal(n.s2c?.[2], 'none');
  });

  test('connections that failed ended with typed errors', () => {
    const errors = [...ours.closeErrors, ...plain.closeErrors] as { code?: unknown; message?: string }[];
    assert.ok(errors.length >= 3, 'the refused negotiations were reported');
    for (const e of errors) assert.match(String(e.code), /^ERR_SSH_/, String(e.message));
    // A refused negotiation names what was missing.
    assert.ok(errors.some((e) => e.code === 'ERR_SSH_KEX_FAILED' && /no matching host key algorithm/.test(e.message ?? '')));
  });
});
