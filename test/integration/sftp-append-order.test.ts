// Writes to a file opened with APPEND land in the order they were sent, even
// when the server's file system finishes them out of order: OpenSSH's
// `reput` opens with APPEND and pipelines its WRITEs, and with requests
// served concurrently they landed scrambled on a loaded machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SFTPClient } from '../../src/actors/sftp-client.js';
import { SFTPServer } from '../../src/actors/sftp-server.js';
import { LocalFileSystem } from '../../src/actors/sftp-server-fs.js';
import type { SFTPOpenFile } from '../../src/actors/sftp-server-fs.js';
import { makeTempDir } from '../helpers/ssh-client.js';

test('APPEND: pipelined writes land in the order sent though the first one finishes last', async () => {
  const dir = makeTempDir('sftp-append-');
  const local = new LocalFileSystem();
  let writes = 0;
  // The first write waits 80 ms before it reaches the disk; later ones go at once.
  const slowFirst = {
    write: async (file: SFTPOpenFile, offset: number, data: Uint8Array) => {
      if (writes++ === 0) await new Promise((r) => setTimeout(r, 80));
      return local.write(file, offset, data);
    },
  };
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = new SFTPServer({ fs: slowFirst }).serve({ readable: toServer, writable: toClient });
  const client = await SFTPClient.start({ readable: toClient, writable: toServer });
  try {
    const path = join(dir, 'appended');
    const f = await client.open(path, 'a');
    await Promise.all([f.write(new TextEncoder().encode('first-'), 0), f.write(new TextEncoder().encode('second-'), 6), f.write(new TextEncoder().encode('third'), 13)]);
    await f.close();
    assert.equal(readFileSync(path, 'utf8'), 'first-second-third');
    // Without APPEND the offsets decide, in any order of completion.
    writes = 0;
    const g = await client.open(join(dir, 'placed'), 'w');
    await Promise.all([g.write(new TextEncoder().encode('AAA'), 0), g.write(new TextEncoder().encode('BBB'), 3)]);
    await g.close();
    assert.equal(readFileSync(join(dir, 'placed'), 'utf8'), 'AAABBB');
  } finally {
    client.exit();
    await served;
  }
});
