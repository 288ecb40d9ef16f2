/**
 * The fleetssh client against OpenSSH 9.2 sshd, one algorithm dimension at a
 * time (the idea of OpenSSH's regress tests try-ciphers, kextype, keytype):
 * every key exchange, every cipher x MAC (AEAD ciphers once), every host key
 * algorithm checked against the harness known_hosts file, every client key
 * type for publickey auth, and delayed compression. Each case connects, runs a
 * command, checks its output and exit status, and checks that both our
 * connection and sshd's DEBUG1 log name the algorithm that was asked for.
 *
 * mlkem768x25519-sha256 is not here: OpenSSH 9.2 does not implement it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keygen, makeTempDir } from '../helpers/ssh-client.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';
import { importPrivateKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import type { ConnectOptions } from '../../src/actors/client-options.js';
import { KeyExchangeFailed, PermissionDenied } from '../../src/protocol/errors.js';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import {
  CIPHER_MAC_CASES,
  HOST_KEY_CASES,
  KEX_CASES,
  SSHD_LEGACY_CONFIG,
  connectSshd,
  logSince,
  sshdNegotiated,
  waitFor,
  within,
} from '../helpers/interop-matrix.js';

const skip = sshdSkipReason();

describe('client -> sshd algorithm matrix', { skip, timeout: 300_000 }, () => {
  let sshd: SshdServer;
  const extraKeys: { name: string; key: SSHKey; keyType: string }[] = [];

  before(async () => {
    // DEBUG3: sshd names the algorithm of a signed publickey request only at that level.
    sshd = await startSshd({ config: { ...SSHD_LEGACY_CONFIG, LogLevel: 'DEBUG3' } });
    // The harness authorizes ed25519, ecdsa P-256 and RSA keys; add P-384 and P-521 made by ssh-keygen.
    const dir = makeTempDir('fleetssh-client-keys-');
    for (const bits of [384, 521]) {
      const k = await keygen('ecdsa', bits, { dir, name: `id_ecdsa${bits}`, comment: `fleetssh-client-ecdsa${bits}` });
      sshd.authorizeKey(k.publicLine);
      extraKeys.push({ name: `ecdsa-p${bits}`, key: importPrivateKey(readFileSync(k.privatePath, 'utf8')), keyType: `ecdsa-sha2-nistp${bits}` });
    }
  });
  after(async () => {
    await sshd?.stop();
  });

  /**
   * Connects with `options`, runs a command, checks its result, and returns
   * what our side negotiated and what sshd logged for this connection.
   */
  async function tryCase(options: ConnectOptions, tag: string) {
    const mark = sshd.logs().length;
    try {
      return await runCase(options, tag, mark);
    } catch (err) {
      // Say what sshd saw, so a failure here can be told apart from one in sshd.
      const tail = logSince(sshd, mark).split('\n').slice(-25).join('\n');
      (err as Error).message += `\n--- sshd log for this case (last 25 lines):\n${tail}`;
      throw err;
    }
  }

  async function runCase(options: ConnectOptions, tag: string, mark: number) {
    const conn = await connectSshd(sshd, options);
    try {
      const r = await within(15_000, conn.run(`printf '%s' ${tag}; echo " ok" >&2; exit 7`), `run over ${tag}`);
      assert.equal(r.stdout, tag);
      assert.equal(r.stderr, ' ok\n');
      assert.equal(r.exitStatus, 7);
      assert.equal(r.exitSignal, null);
      const ours = conn.algorithms;
      assert.ok(ours, 'connection exposes its negotiated algorithms');
      await within(10_000, conn.close(), 'close');
      // sshd logs its choice from the pre-auth child; wait until it reached the log.
      await waitFor(() => /kex: server->client cipher/.test(logSince(sshd, mark)), 5_000);
      return { ours, theirs: sshdNegotiated(logSince(sshd, mark)) };
    } finally {
      if (!conn.closed) await within(10_000, conn.close(), 'close');
    }
  }

  let n = 0;
  for (const { kex, legacy } of KEX_CASES) {
    const i = ++n;
    test(`kex ${i}/${KEX_CASES.length}: ${kex}${legacy ? ' (legacy, opt-in)' : ''}`, async () => {
      const { ours, theirs } = await tryCase({ kexAlgs: [kex] }, `kex${i}`);
      assert.equal(ours.kex, kex);
      assert.equal(theirs.kex, kex);
    });
  }

  n = 0;
  for (const { cipher, mac, legacy } of CIPHER_MAC_CASES) {
    const i = ++n;
    const title = `cipher ${i}/${CIPHER_MAC_CASES.length}: ${cipher}${mac ? ` + ${mac}` : ' (AEAD)'}${legacy ? ' (legacy, opt-in)' : ''}`;
    test(title, async () => {
      const options: ConnectOptions = { kexAlgs: ['curve25519-sha256'], encryptionAlgs: [cipher] };
      if (mac) options.macAlgs = [mac];
      const { ours, theirs } = await tryCase(options, `cipher${i}`);
      assert.equal(ours.cipherCS, cipher);
      assert.equal(ours.cipherSC, cipher);
      assert.equal(theirs.cs?.cipher, cipher);
      assert.equal(theirs.sc?.cipher, cipher);
      if (mac) {
        assert.equal(ours.macCS, mac);
        assert.equal(ours.macSC, mac);
        assert.equal(theirs.cs?.mac, mac);
        assert.equal(theirs.sc?.mac, mac);
      } else {
        // OpenSSH logs the MAC of an AEAD cipher as "<implicit>".
        assert.equal(theirs.cs?.mac, '<implicit>');
        assert.equal(theirs.sc?.mac, '<implicit>');
      }
    });
  }

  n = 0;
  for (const { alg, hostKey, legacy } of HOST_KEY_CASES) {
    const i = ++n;
    test(`host key ${i}/${HOST_KEY_CASES.length}: ${alg} (${hostKey} key, verified by known_hosts)${legacy ? ' (legacy, opt-in)' : ''}`, async () => {
      const { ours, theirs } = await tryCase({ kexAlgs: ['curve25519-sha256'], serverHostKeyAlgs: [alg] }, `hostkey${i}`);
      assert.equal(ours.hostKey, alg);
      assert.equal(theirs.hostKey, alg);
    });
  }

  const clientKeyCases = (): { name: string; key: SSHKey; keyType: string }[] => [
    { name: 'ed25519', key: importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8')), keyType: 'ssh-ed25519' },
    { name: 'ecdsa-p256', key: importPrivateKey(readFileSync(sshd.clientKeys.ecdsa.privatePath, 'utf8')), keyType: 'ecdsa-sha2-nistp256' },
    ...extraKeys,
    { name: 'rsa', key: importPrivateKey(readFileSync(sshd.clientKeys.rsa.privatePath, 'utf8')), keyType: 'ssh-rsa' },
  ];
  const CLIENT_KEY_NAMES = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa'];
  n = 0;
  for (const name of CLIENT_KEY_NAMES) {
    const i = ++n;
    test(`client key ${i}/${CLIENT_KEY_NAMES.length}: publickey auth with ${name}`, async () => {
      const c = clientKeyCases().find((k) => k.name === name);
      assert.ok(c, `key ${name} was prepared`);
      const mark = sshd.logs().length;
      await tryCase({ kexAlgs: ['curve25519-sha256'], clientKeys: [c.key] }, `userkey${i}`);
      const log = logSince(sshd, mark);
      // sshd names the algorithm of the request (RSA keys sign with SHA-2 when server-sig-algs allows).
      // A key held in this process is signed at once: sshd sees no query, only the signed request.
      assert.doesNotMatch(log, /publickey test pkalg/, 'no query before the signed request');
      const pkalg = /userauth_pubkey: publickey have (\S+) signature for \S+ (SHA256:\S+)/.exec(log);
      assert.ok(pkalg, 'sshd logged the signed publickey request');
      assert.equal(pkalg[1], c.keyType === 'ssh-rsa' ? 'rsa-sha2-512' : c.keyType);
      assert.equal(pkalg[2], c.key.fingerprintSHA256());
      const accepted = /Accepted publickey for root from \S+ port \d+ ssh2: (\S+) (SHA256:\S+)/.exec(log);
      assert.ok(accepted, 'sshd logged an accepted publickey');
      assert.equal(accepted[1], c.keyType === 'ssh-rsa' ? 'RSA' : c.keyType === 'ssh-ed25519' ? 'ED25519' : 'ECDSA');
      assert.equal(accepted[2], c.key.fingerprintSHA256());
    });
  }

  // signatureAlgs (AsyncSSH's signature_algs): what an RSA key signs with, as a list, a "-" string, or ssh_config PubkeyAcceptedAlgorithms.
  const SIG_CASES: { name: string; options: () => ConnectOptions; expect: string }[] = [
    { name: "signatureAlgs ['rsa-sha2-256']", options: () => ({ signatureAlgs: ['rsa-sha2-256'] }), expect: 'rsa-sha2-256' },
    { name: "signatureAlgs '-rsa-sha2-512'", options: () => ({ signatureAlgs: '-rsa-sha2-512' }), expect: 'rsa-sha2-256' },
    {
      name: 'ssh_config PubkeyAcceptedAlgorithms rsa-sha2-256,ssh-ed25519',
      options: () => {
        const cfg = join(makeTempDir('sigalgs-'), 'config');
        writeFileSync(cfg, 'Host *\n  PubkeyAcceptedAlgorithms rsa-sha2-256,ssh-ed25519\n');
        return { config: cfg };
      },
      expect: 'rsa-sha2-256',
    },
  ];
  n = 0;
  for (const c of SIG_CASES) {
    const i = ++n;
    test(`signature algorithm ${i}/${SIG_CASES.length}: ${c.name} -> the RSA key signs with ${c.expect}`, async () => {
      const key = importPrivateKey(readFileSync(sshd.clientKeys.rsa.privatePath, 'utf8'));
      const mark = sshd.logs().length;
      await tryCase({ kexAlgs: ['curve25519-sha256'], clientKeys: [key], ...c.options() }, `sigalg${i}`);
      const signed = /userauth_pubkey: publickey have (\S+) signature for/.exec(logSince(sshd, mark));
      assert.equal(signed?.[1], c.expect);
    });
  }
  test('signatureAlgs without any algorithm of the key: the key is never offered -> PermissionDenied', async () => {
    const key = importPrivateKey(readFileSync(sshd.clientKeys.rsa.privatePath, 'utf8'));
    await assert.rejects(connectSshd(sshd, { kexAlgs: ['curve25519-sha256'], clientKeys: [key], signatureAlgs: ['ssh-ed25519'] }), PermissionDenied);
  });

  const COMPRESSION = ['zlib@openssh.com'];
  n = 0;
  for (const compression of COMPRESSION) {
    const i = ++n;
    test(`compression ${i}/${COMPRESSION.length}: ${compression} (sshd Compression yes)`, async () => {
      const { ours, theirs } = await tryCase({ kexAlgs: ['curve25519-sha256'], compressionAlgs: [compression] }, `compress${i}`);
      assert.equal(ours.compressionCS, compression);
      assert.equal(ours.compressionSC, compression);
      assert.equal(theirs.cs?.compression, compression);
      assert.equal(theirs.sc?.compression, compression);
    });
  }

  test('compression: plain zlib is refused by sshd 9.2 (it dropped pre-auth compression in 7.4) with KeyExchangeFailed', async () => {
    await assert.rejects(connectSshd(sshd, { compressionAlgs: ['zlib'] }), (err: unknown) => {
      assert.ok(err instanceof KeyExchangeFailed, `got ${String(err)}`);
      return true;
    });
  });
});

describe('what OpenSSH 9.2 lacks: refused by sshd, covered against our own server instead', { skip, timeout: 60_000 }, () => {
  let sshd: SshdServer;
  before(async () => {
    sshd = await startSshd({ config: SSHD_LEGACY_CONFIG });
  });
  after(async () => {
    await sshd?.stop();
  });

  test('mlkem768x25519-sha256: sshd 9.2 has no such kex (KeyExchangeFailed); our client and server agree on it', async () => {
    await assert.rejects(connectSshd(sshd, { kexAlgs: ['mlkem768x25519-sha256'] }), (err: unknown) => {
      assert.ok(err instanceof KeyExchangeFailed, `got ${String(err)}`);
      return true;
    });
    await usingOwnServer({ kexAlgs: ['mlkem768x25519-sha256'] }, (algs) => assert.equal(algs.kex, 'mlkem768x25519-sha256'));
  });

  test('zlib (non-delayed): refused by sshd 9.2 as above; our client and server agree on it', async () => {
    await usingOwnServer({ compressionAlgs: ['zlib'] }, (algs) => {
      assert.equal(algs.compressionCS, 'zlib');
      assert.equal(algs.compressionSC, 'zlib');
    });
  });
});

/** Our client against our own server with `options` on both sides; runs a command and checks `algs`. */
async function usingOwnServer(options: ConnectOptions, check: (algs: Record<string, string>) => void): Promise<void> {
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    passwords: { u: 'pw' },
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command}`);
      proc.exit(5);
    },
    ...options,
  });
  try {
    const conn = await within(20_000, connect('127.0.0.1', { port: server.port, username: 'u', password: 'pw', knownHosts: null, clientKeys: null, ...options }), 'connect to our server');
    try {
      const r = await within(15_000, conn.run('x'), 'run');
      assert.equal(r.stdout, 'ran x');
      assert.equal(r.exitStatus, 5);
      check(conn.algorithms ?? {});
    } finally {
      await within(10_000, conn.close(), 'close');
    }
  } finally {
    await within(10_000, server.close(), 'server close');
  }
}
