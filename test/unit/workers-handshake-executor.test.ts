import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HandshakeExecutor } from '../../src/workers/handshake-executor.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { concatBytes, encodeString, utf8 } from '../../src/protocol/wire.js';
import { KeyExchangeFailed } from '../../src/protocol/errors.js';
import type { KexClientFinishResult, KexClientStartResult, KexServerResult } from '../../src/protocol/crypto-api.js';

const pool = new HandshakeExecutor({ mode: 'pool', threads: 2 });
const inline = new HandshakeExecutor({ mode: 'inline' });
after(() => pool.close());

const ed = generatePrivateKey('ssh-ed25519');
const rsa = generatePrivateKey('ssh-rsa', { bits: 2048 });
const prefix = encodeString('prefix');

test('deterministic signatures are identical inline and in the pool (KeyObject survives the clone)', async () => {
  const data = utf8('exchange hash');
  for (const [key, algorithm] of [[ed, 'ssh-ed25519'], [rsa, 'rsa-sha2-512']] as const) {
    const a = (await pool.run({ op: 'sign', key: key.toSigningKeyRef(), algorithm, data })) as Uint8Array;
    const b = (await inline.run({ op: 'sign', key: key.toSigningKeyRef(), algorithm, data })) as Uint8Array;
    assert.deepEqual(a, b);
    assert.equal(await pool.run({ op: 'verify', publicKeyBlob: key.publicBlob, algorithm, signature: b, data }), true);
  }
});

for (const method of ['curve25519-sha256', 'mlkem768x25519-sha256', 'diffie-hellman-group14-sha256'] as const) {
  test(`${method}: pool server and inline client agree, and the other way round`, async () => {
    for (const [srv, cli] of [[pool, inline], [inline, pool]]) {
      const start = (await cli.run({ op: 'kexClientStart', method })) as KexClientStartResult;
      const s = (await srv.run({ op: 'kexServer', method, clientPublicWire: start.publicWire, hashPrefix: prefix, hostKey: ed.toSigningKeyRef(), signatureAlgorithm: 'ssh-ed25519' })) as KexServerResult;
      const c = (await cli.run({
        op: 'kexClientFinish', method, secret: start.secret, serverPublicWire: s.publicWire, hashPrefix: concatBytes(prefix, s.publicWire),
        hostKeyBlob: ed.publicBlob, signature: s.signature, signatureAlgorithm: 'ssh-ed25519',
      })) as KexClientFinishResult;
      assert.deepEqual(c.sharedWire, s.sharedWire);
      assert.deepEqual(c.exchangeHash, s.exchangeHash);
      assert.equal(c.signatureValid, true);
    }
  });
}

test('pool errors come back as rejected promises of the same class', async () => {
  const req = { op: 'kexServer', method: 'curve25519-sha256', clientPublicWire: encodeString(new Uint8Array(32)), hashPrefix: prefix, hostKey: ed.toSigningKeyRef(), signatureAlgorithm: 'ssh-ed25519' } as const;
  await assert.rejects(pool.run(req), (e: unknown) => e instanceof KeyExchangeFailed && e.code === 'ERR_SSH_KEX_FAILED');
  await assert.rejects(inline.run(req), KeyExchangeFailed);
  await assert.rejects(pool.run({ op: 'sign', key: ed.toSigningKeyRef(), algorithm: 'rsa-sha2-256', data: utf8('x') }), TypeError);
  assert.ok(pool.stats.failed >= 2);
});

test('auto mode runs a lone op inline and overlapping ops in the pool', async () => {
  const auto = new HandshakeExecutor({ mode: 'auto', threads: 2 });
  try {
    await auto.run({ op: 'kexClientStart', method: 'curve25519-sha256' });
    assert.deepEqual([auto.stats.inline, auto.stats.pooled], [1, 0]);
    const many = await Promise.all(Array.from({ length: 12 }, () => auto.run({ op: 'kexClientStart', method: 'curve25519-sha256' })));
    assert.equal(new Set(many.map((r) => Buffer.from((r as KexClientStartResult).publicWire).toString('hex'))).size, 12);
    assert.ok(auto.stats.pooled >= 10, JSON.stringify(auto.stats));
    assert.equal(auto.stats.inFlight, 0);
  } finally {
    await auto.close();
  }
  await assert.rejects(auto.run({ op: 'kexClientStart', method: 'curve25519-sha256' }), /closed/);
});

test('the pool never keeps the process alive, with or without close()', () => {
  const executorUrl = new URL('../../src/workers/handshake-executor.ts', import.meta.url).href;
  for (const closeIt of [true, false]) {
    const script = `
      import { HandshakeExecutor } from ${JSON.stringify(executorUrl)};
      const before = process.getActiveResourcesInfo().sort().join();
      const ex = new HandshakeExecutor({ mode: 'pool', threads: 2, idleTimeout: 100 });
      const r = await ex.run({ op: 'kexClientStart', method: 'curve25519-sha256' });
      if (!(r.publicWire instanceof Uint8Array)) process.exit(3);
      ${closeIt ? `await ex.close();
      const left = process.getActiveResourcesInfo().sort().join();
      if (left !== before) { console.error('left', left, 'before', before); process.exit(4); }` : ''}
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 30_000,
    });
    assert.equal(r.signal, null, `process was still alive (close=${closeIt}): ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
  }
});
