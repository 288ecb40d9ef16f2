/**
 * Bulk transfer and re-keying of the fleetssh client against OpenSSH 9.2 sshd:
 * 256 MiB up (into `sha256sum` on the server) and 256 MiB down (made on the
 * server by `openssl enc` from a fixed key, regenerated here) checked by
 * SHA-256, with a small `rekeyBytes` so that our client re-keys many times in
 * mid-stream; then the same with sshd starting the re-keys (`RekeyLimit 8M`).
 * Data is streamed with backpressure, never buffered whole. MB/s is printed
 * for information only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import type { SSHClientConnection } from '../../src/actors/client.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';
import { requireBinary } from '../helpers/ssh-client.js';
import { connectSshd, logSince, waitFor, within } from '../helpers/interop-matrix.js';

const skip = sshdSkipReason() ?? requireBinary('openssl', 'openssl');

const MiB = 1 << 20;
const CHUNK = MiB;
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const IV = Buffer.from('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 'hex');
const ZEROS = Buffer.alloc(CHUNK);

/** The test stream: AES-128-CTR keystream of KEY/IV, i.e. `openssl enc -aes-128-ctr` of zero bytes. */
function* keystream(total: number): Generator<Buffer> {
  const c = createCipheriv('aes-128-ctr', KEY, IV);
  for (let sent = 0; sent < total; sent += CHUNK) yield c.update(ZEROS.subarray(0, Math.min(CHUNK, total - sent)));
}

function expectedHash(total: number): string {
  const h = createHash('sha256');
  for (const b of keystream(total)) h.update(b);
  return h.digest('hex');
}

const rate = (bytes: number, ms: number): string => `${((bytes / MiB) / (ms / 1000)).toFixed(1)} MiB/s`;

/** Streams `total` bytes of the keystream into `sha256sum` on the server; returns its hex digest. */
async function upload(conn: SSHClientConnection, total: number): Promise<{ digest: string; ms: number }> {
  const start = performance.now();
  const proc = await conn.createProcess('sha256sum', { encoding: 'utf8' });
  const stdin = proc.stdin;
  const waiting = proc.wait({ check: true });
  for (const chunk of keystream(total)) {
    if (!stdin.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { stdin.off('close', onClose); resolve(); };
        const onClose = (): void => { stdin.off('drain', onDrain); reject(new Error('stdin closed during upload')); };
        stdin.once('drain', onDrain);
        stdin.once('close', onClose);
      });
    }
  }
  stdin.end();
  const r = await waiting;
  return { digest: String(r.stdout).split(' ')[0]!, ms: performance.now() - start };
}

/** Has the server make `total` bytes of the keystream and hashes them as they stream in. */
async function download(conn: SSHClientConnection, total: number): Promise<{ digest: string; bytes: number; ms: number }> {
  const start = performance.now();
  const cmd = `openssl enc -aes-128-ctr -K ${KEY.toString('hex')} -iv ${IV.toString('hex')} -nosalt -in /dev/zero 2>/dev/null | head -c ${total}`;
  const proc = await conn.createProcess(cmd, { encoding: null });
  const h = createHash('sha256');
  let bytes = 0;
  proc.stdout.on('data', (b: Buffer) => {
    h.update(b);
    bytes += b.length;
  });
  const r = await proc.wait({ check: true });
  assert.equal(r.exitStatus, 0);
  return { digest: h.digest('hex'), bytes, ms: performance.now() - start };
}

/**
 * The post-authentication key exchanges sshd completed, each with who started
 * it: sshd logs "SSH2_MSG_KEXINIT sent" first when it starts one, "received"
 * first when we do; "SSH2_MSG_NEWKEYS received" ends one. Pre-auth lines carry
 * "[preauth]" and are left out.
 */
function rekeysIn(log: string): { byServer: number; byClient: number } {
  const counts = { byServer: 0, byClient: 0 };
  let current: 'byServer' | 'byClient' | null = null;
  for (const line of log.split('\n')) {
    if (line.includes('[preauth]')) continue;
    if (current === null && /SSH2_MSG_KEXINIT sent/.test(line)) current = 'byServer';
    else if (current === null && /SSH2_MSG_KEXINIT received/.test(line)) current = 'byClient';
    else if (current !== null && /SSH2_MSG_NEWKEYS received/.test(line)) {
      counts[current]++;
      current = null;
    }
  }
  return counts;
}

describe('client -> sshd bulk transfer with re-keying', { skip, timeout: 150_000 }, () => {
  const TOTAL = 256 * MiB;
  let expected: string;
  let sshd: SshdServer;

  before(async () => {
    expected = expectedHash(TOTAL);
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  test('256 MiB each way, checked by SHA-256, with our client re-keying every 16 MiB', async (t) => {
    const mark = sshd.logs().length;
    const conn = await connectSshd(sshd, { rekeyBytes: 16 * MiB });
    try {
      const up = await within(90_000, upload(conn, TOTAL), 'upload');
      assert.equal(up.digest, expected, 'sshd hashed the same 256 MiB we sent');
      t.diagnostic(`upload 256 MiB: ${rate(TOTAL, up.ms)} (${conn.algorithms?.cipherCS})`);
      const down = await within(90_000, download(conn, TOTAL), 'download');
      assert.equal(down.bytes, TOTAL);
      assert.equal(down.digest, expected, 'we received the 256 MiB openssl made');
      t.diagnostic(`download 256 MiB: ${rate(TOTAL, down.ms)}; peak RSS of this test process ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
      // Still usable after all the re-keys.
      assert.equal((await within(15_000, conn.run('echo after'), 'run')).stdout, 'after\n');
    } finally {
      await within(10_000, conn.close(), 'close');
    }
    // 512 MiB over a 16 MiB limit: at least 16 re-keys (more if the limit counts each direction), all ours.
    await waitFor(() => rekeysIn(logSince(sshd, mark)).byClient >= 16, 5_000);
    const n = rekeysIn(logSince(sshd, mark));
    t.diagnostic(`sshd completed ${n.byClient} re-keys started by us, ${n.byServer} by itself`);
    assert.ok(n.byClient >= 16, `expected at least 16 re-keys started by our client, sshd logged ${n.byClient}`);
    assert.equal(n.byServer, 0, 'sshd had no reason to re-key on its own');
  });
});

describe('client -> sshd re-keying started by sshd (RekeyLimit 8M)', { skip, timeout: 120_000 }, () => {
  const TOTAL = 64 * MiB;
  let expected: string;
  let sshd: SshdServer;

  before(async () => {
    expected = expectedHash(TOTAL);
    sshd = await startSshd({ config: { RekeyLimit: '8M' } });
  });
  after(async () => {
    await sshd?.stop();
  });

  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-ctr'] as const) {
    test(`64 MiB each way over ${cipher} while sshd re-keys every 8 MiB`, async (t) => {
      const mark = sshd.logs().length;
      // Our own limit stays at its default (1 GiB), so every re-key here is sshd's.
      const conn = await connectSshd(sshd, { encryptionAlgs: [cipher], macAlgs: ['hmac-sha2-256-etm@openssh.com'] });
      try {
        assert.equal(conn.algorithms?.cipherCS, cipher);
        const up = await within(60_000, upload(conn, TOTAL), 'upload');
        assert.equal(up.digest, expected);
        const down = await within(60_000, download(conn, TOTAL), 'download');
        assert.equal(down.digest, expected);
        t.diagnostic(`${cipher}: upload ${rate(TOTAL, up.ms)}, download ${rate(TOTAL, down.ms)}`);
        assert.equal((await within(15_000, conn.run('echo after'), 'run')).stdout, 'after\n');
      } finally {
        await within(10_000, conn.close(), 'close');
      }
      // 128 MiB over sshd's 8 MiB limit: 8 per direction, 15-16 in all (at least 12 asked), every one started by sshd.
      await waitFor(() => rekeysIn(logSince(sshd, mark)).byServer >= 12, 5_000);
      const n = rekeysIn(logSince(sshd, mark));
      t.diagnostic(`sshd completed ${n.byServer} re-keys it started, ${n.byClient} started by us`);
      assert.ok(n.byServer >= 12, `expected sshd to start at least 12 re-keys over 128 MiB, it logged ${n.byServer}`);
      assert.equal(n.byClient, 0, 'our client (1 GiB limit) had no reason to re-key');
    });
  }
});
