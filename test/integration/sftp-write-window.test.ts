/**
 * A put keeps at most WRITE_BYTES_IN_FLIGHT of WRITE data unanswered, however
 * many requests `maxRequests` allows: a full SSH window queues that data inside
 * sshd, which costs it twice the CPU (load-tests/README.md, session 4). Reads
 * are not capped by bytes. The wire between client and an in-process
 * SFTPServer is tapped to count the unanswered bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SFTPClient } from '../../src/actors/sftp-client.js';
import { RequestBudget, WRITE_BYTES_IN_FLIGHT } from '../../src/actors/sftp-pump.js';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { LocalFileSystem, type SFTPOpenFile } from '../../src/actors/sftp-server-fs.js';
import { SftpDeframer } from '../../src/protocol/sftp-framing.js';
import { decodeReply } from '../../src/protocol/sftp-replies.js';
import { decodeRequest } from '../../src/protocol/sftp-requests.js';
import { makeTempDir } from '../helpers/ssh-client.js';

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A client and server joined by PassThroughs, with the peak of unanswered WRITE and READ bytes seen on the wire. */
async function tappedPeer(): Promise<{ client: SFTPClient; peak: { write: number; read: number }; stop(): Promise<void> }> {
  const base = new LocalFileSystem();
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const open = new Map<number, { kind: 'write' | 'read'; bytes: number }>();
  const now = { write: 0, read: 0 };
  const peak = { write: 0, read: 0 };
  const up = new SftpDeframer();
  toServer.on('data', (chunk: Uint8Array) => {
    up.push(chunk);
    for (let p = up.next(); p; p = up.next()) {
      const r = decodeRequest(p);
      if (r.kind !== 'write' && r.kind !== 'read') continue;
      const bytes = r.kind === 'write' ? r.data.length : r.len;
      open.set(r.id, { kind: r.kind, bytes });
      now[r.kind] += bytes;
      peak[r.kind] = Math.max(peak[r.kind], now[r.kind]);
    }
  });
  const down = new SftpDeframer();
  toClient.on('data', (chunk: Uint8Array) => {
    down.push(chunk);
    for (let p = down.next(); p; p = down.next()) {
      const r = decodeReply(p);
      const o = 'id' in r ? open.get(r.id) : undefined;
      if (!o || !('id' in r)) continue;
      open.delete(r.id);
      now[o.kind] -= o.bytes;
    }
  });
  // Writes and reads answer a little late, as a disk would: requests pile up if the client lets them.
  const later = (): Promise<void> => new Promise((r) => setImmediate(r));
  const served = new SFTPServer({
    fs: {
      write: async (f: SFTPOpenFile, offset: number, data: Uint8Array) => {
        await later();
        await base.write(f, offset, data);
      },
      read: async (f: SFTPOpenFile, offset: number, len: number) => {
        await later();
        return base.read(f, offset, len);
      },
    },
  }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  return { client, peak, stop: async () => { client.exit(); await served; } };
}

test('put keeps at most WRITE_BYTES_IN_FLIGHT unanswered whatever maxRequests allows; get is bounded by requests only', async () => {
  const dir = makeTempDir('sftp-write-window-');
  writeFileSync(join(dir, 'big'), randomBytes(4 * WRITE_BYTES_IN_FLIGHT));
  const peer = await tappedPeer();
  try {
    const blockSize = 65536;
    await peer.client.put(join(dir, 'big'), join(dir, 'up'), { blockSize, maxRequests: 64 });
    assert.equal(sha(join(dir, 'up')), sha(join(dir, 'big')));
    assert.ok(peer.peak.write <= WRITE_BYTES_IN_FLIGHT, `${peer.peak.write} WRITE bytes unanswered at once`);
    assert.ok(peer.peak.write >= WRITE_BYTES_IN_FLIGHT / 2, `WRITEs still pipelined (peak ${peer.peak.write} bytes)`);
    await peer.client.get(join(dir, 'big'), join(dir, 'down'), { blockSize, maxRequests: 64 });
    assert.equal(sha(join(dir, 'down')), sha(join(dir, 'big')));
    assert.ok(peer.peak.read > WRITE_BYTES_IN_FLIGHT, `READs are bounded by maxRequests only (peak ${peer.peak.read} bytes)`);
  } finally {
    await peer.stop();
  }
});

test('RequestBudget with maxBytes: waits for room for its bytes, in order; a request over the cap goes alone', async () => {
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  const b = new RequestBudget(8, 1, 100);
  await b.acquire(60);
  const started: string[] = [];
  const big = b.acquire(50).then(() => started.push('50'));
  const small = b.acquire(10).then(() => started.push('10'));
  await settle();
  assert.deepEqual(started, [], 'no room for 50; 10 waits behind it (first come, first served)');
  b.release(60);
  await Promise.all([big, small]);
  assert.deepEqual(started, ['50', '10']);
  b.release(50);
  b.release(10);
  // Larger than the whole cap: starts once nothing else is in flight.
  await b.acquire(1);
  let huge = false;
  const h = b.acquire(500).then(() => (huge = true));
  await settle();
  assert.equal(huge, false);
  b.release(1);
  await h;
  assert.throws(() => new RequestBudget(4, 1, 0), RangeError);
});
