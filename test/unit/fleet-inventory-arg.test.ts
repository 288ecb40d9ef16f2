// new Fleet('hosts.txt') used to make a host of every character: a bare
// string is refused, and Fleet.fromInventory(path) loads the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet } from '../../src/orchestrator/fleet.js';

test('a bare string inventory is a TypeError that names the fix', () => {
  assert.throws(() => new Fleet('hosts.txt' as never), (e: Error) => e instanceof TypeError && /Fleet\.fromInventory/.test(e.message));
});

test('Fleet.fromInventory(path) loads a hosts file with ranges', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-inv-'));
  try {
    const file = join(dir, 'hosts.txt');
    writeFileSync(file, '# web tier\nadmin@web[01-03].example:2222\ndb.example\n');
    const fleet = await Fleet.fromInventory(file);
    assert.deepEqual(
      fleet.hosts.map((h) => [h.host, h.username ?? null, h.port ?? null]),
      [
        ['web01.example', 'admin', 2222],
        ['web02.example', 'admin', 2222],
        ['web03.example', 'admin', 2222],
        ['db.example', null, null],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
