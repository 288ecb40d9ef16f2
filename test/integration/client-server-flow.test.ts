/**
 * Bulk data and flow control between our client and our server: 32 MiB each
 * way byte-exact across several re-keys, and a slow reader that stops the
 * writer instead of letting buffers grow.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from '../../src/actors/client.js';
import { listen } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';

const hostKey = generatePrivateKey('ssh-ed25519');
const MiB = 1024 * 1024;

describe('flow', () => {
  test('32 MiB each way, byte-exact, with rekeyBytes = 4 MiB on both sides', async () => {
    const upload = randomBytes(32 * MiB);
    const download = randomBytes(32 * MiB);
    let serverSaw = '';
    await using server = await listen({
      serverHostKeys: [hostKey],
      passwords: { u: 'p' },
      rekeyBytes: 4 * MiB,
      encoding: null,
      processFactory: async (p: SSHServerProcess) => {
        const h = createHash('sha256');
        let n = 0;
        for await (const chunk of p.stdin) {
          h.update(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
        serverSaw = `${n}:${h.digest('hex')}`;
        for (let off = 0; off < download.length; off += 256 * 1024) {
          if (!p.stdout.write(download.subarray(off, off + 256 * 1024))) await new Promise((r) => p.stdout.once('drain', r));
        }
        p.exit(0);
      },
    });
    await using conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, rekeyBytes: 4 * MiB });
    const before = JSON.stringify(conn.algorithms);
    const r = await conn.run('sink-then-source', { input: upload, encoding: null });
    assert.equal(serverSaw, `${upload.length}:${createHash('sha256').update(upload).digest('hex')}`);
    assert.equal((r.stdout as Buffer).length, download.length);
    assert.equal(Buffer.compare(r.stdout as Buffer, download), 0);
    assert.equal(r.exitStatus, 0);
    assert.equal(JSON.stringify(conn.algorithms), before);
    // 64 MiB through 4 MiB re-key limits: many re-keys, counted by the client.
    assert.ok(conn.kexCount >= 8, `only ${conn.kexCount} key exchanges`);
  });

  test('a slow reader stops the writer: bounded buffering, then everything arrives', async () => {
    const total = 24 * MiB;
    const windowSize = 1 * MiB;
    let accepted = 0; // bytes whose write callback ran on the server
    let release: () => void = () => undefined;
    const paused = new Promise<void>((r) => (release = r));
    await using server = await listen({
      serverHostKeys: [hostKey],
      passwords: { u: 'p' },
      encoding: null,
      processFactory: async (p: SSHServerProcess) => {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        for (let written = 0; written < total; written += chunk.length) {
          const ok = p.stdout.write(chunk, () => (accepted += chunk.length));
          if (!ok) await new Promise((r) => p.stdout.once('drain', r));
        }
        p.exit(0);
      },
    });
    await using conn = await connect('127.0.0.1', { port: server.port, username: 'u', password: 'p', knownHosts: null, clientKeys: null, windowSize });
    const proc = await conn.createProcess('produce', { encoding: null, windowSize });
    // Nobody reads yet: wait until the server's accepted count stops moving.
    let last = -1;
    while (accepted !== last) {
      last = accepted;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stalledAt = accepted;
    // What the server got rid of is bounded by our window + our stream buffer
    // + the socket buffers in between, far below the 24 MiB on offer.
    assert.ok(stalledAt < 8 * MiB, `server pushed ${stalledAt} bytes into a stalled reader`);
    assert.ok(proc.stdout.readableLength <= windowSize + 128 * 1024, `client buffered ${proc.stdout.readableLength}`);
    release();
    await paused;
    assert.ok(stalledAt > 0);
    let received = 0;
    for await (const c of proc.stdout) received += (c as Buffer).length;
    assert.equal(received, total);
    assert.equal((await proc.wait()).exitStatus, 0);
  });
});
