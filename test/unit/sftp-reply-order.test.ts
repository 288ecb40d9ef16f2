// Replies to requests on one handle go out in request order even when the file
// system finishes them out of order (OpenSSH's client takes an EOF status as the
// end of the file even if an earlier read's data is still to come).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { LocalFileSystem } from '../../src/actors/sftp-server-fs.js';
import { encodeRequest } from '../../src/protocol/sftp-requests.js';
import { SftpDeframer } from '../../src/protocol/sftp-framing.js';
import { decodeReply, type SftpReply } from '../../src/protocol/sftp-replies.js';

test('reads on one handle are answered in request order, EOF last, whatever order the reads finish in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-order-'));
  try {
    writeFileSync(join(dir, 'f'), Buffer.alloc(3000, 7));
    const local = new LocalFileSystem();
    // The later the offset, the sooner the read finishes: the worst order for a client.
    const fs = { read: async (f: never, offset: number, len: number) => {
      await new Promise((r) => setTimeout(r, Math.max(0, 60 - offset / 50)));
      return local.read(f, offset, len);
    } };
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const served = new SFTPServer({ chroot: dir, fs } as never).serve({ readable: toServer, writable: fromServer });
    const replies: SftpReply[] = [];
    const deframer = new SftpDeframer(1 << 20);
    fromServer.on('data', (c: Buffer) => {
      deframer.push(new Uint8Array(c));
      for (let p = deframer.next(); p; p = deframer.next()) replies.push(decodeReply(p));
    });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && replies.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    toServer.write(encodeRequest({ kind: 'init', version: 3, extensions: [] } as never));
    toServer.write(encodeRequest({ kind: 'open', id: 1, filename: '/f', pflags: 1, attrs: {} } as never));
    await until(2);
    const handle = (replies[1] as { handle: Uint8Array }).handle;
    for (const [id, offset] of [[10, 0], [11, 1000], [12, 2000], [13, 3000]] as const) {
      toServer.write(encodeRequest({ kind: 'read', id, handle, offset, len: 1000 } as never));
    }
    await until(6);
    assert.deepEqual(replies.slice(2).map((r) => [(r as { id: number }).id, r.kind]), [[10, 'data'], [11, 'data'], [12, 'data'], [13, 'status']]);
    toServer.end();
    await served;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
