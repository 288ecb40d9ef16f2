import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HandshakeExecutor, isCheapOp } from '../../src/workers/handshake-executor.js';
import { workerExecArgv } from '../../src/workers/worker-file.js';
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

test('auto mode runs a lone expensive op inline and overlapping expensive ops in the pool', async () => {
  const auto = new HandshakeExecutor({ mode: 'auto', threads: 2, overlapWindowMs: 0 });
  const method = 'diffie-hellman-group14-sha256';
  try {
    await auto.run({ op: 'kexClientStart', method });
    assert.deepEqual([auto.stats.inline, auto.stats.pooled], [1, 0]);
    const many = await Promise.all(Array.from({ length: 6 }, () => auto.run({ op: 'kexClientStart', method })));
    assert.equal(new Set(many.map((r) => Buffer.from((r as KexClientStartResult).publicWire).toString('hex'))).size, 6);
    assert.ok(auto.stats.pooled >= 5, JSON.stringify(auto.stats));
    assert.equal(auto.stats.inFlight, 0);
  } finally {
    await auto.close();
  }
  await assert.rejects(auto.run({ op: 'kexClientStart', method: 'curve25519-sha256' }), /closed/);
});

test('auto mode keeps cheap ops inline even when they overlap (the pool round trip costs more than the op)', async () => {
  const auto = new HandshakeExecutor({ mode: 'auto', threads: 2 });
  try {
    const data = utf8('h');
    const many = await Promise.all([
      ...Array.from({ length: 8 }, () => auto.run({ op: 'kexClientStart', method: 'curve25519-sha256' })),
      ...Array.from({ length: 4 }, () => auto.run({ op: 'sign', key: ed.toSigningKeyRef(), algorithm: 'ssh-ed25519', data })),
    ]);
    assert.equal(many.length, 12);
    assert.deepEqual([auto.stats.inline, auto.stats.pooled, auto.stats.poolThreads], [12, 0, 0]);
    // An RSA signature overlapping another one is expensive: it goes to the pool.
    await Promise.all([0, 1].map(() => auto.run({ op: 'sign', key: rsa.toSigningKeyRef(), algorithm: 'rsa-sha2-256', data })));
    assert.ok(auto.stats.pooled >= 1, JSON.stringify(auto.stats));
  } finally {
    await auto.close();
  }
});

test('isCheapOp: the measured cost classes', () => {
  const p521 = generatePrivateKey('ecdsa-sha2-nistp521');
  const data = utf8('h');
  const table: [Parameters<typeof isCheapOp>[0], boolean][] = [
    [{ op: 'kexClientStart', method: 'curve25519-sha256' }, true],
    [{ op: 'kexClientStart', method: 'curve25519-sha256@libssh.org' }, true],
    [{ op: 'kexClientStart', method: 'ecdh-sha2-nistp256' }, true],
    [{ op: 'kexClientStart', method: 'ecdh-sha2-nistp521' }, false],
    [{ op: 'kexClientStart', method: 'mlkem768x25519-sha256' }, false],
    [{ op: 'kexClientStart', method: 'diffie-hellman-group14-sha256' }, false],
    [{ op: 'sign', key: ed.toSigningKeyRef(), algorithm: 'ssh-ed25519', data }, true],
    [{ op: 'sign', key: rsa.toSigningKeyRef(), algorithm: 'rsa-sha2-512', data }, false],
    [{ op: 'sign', key: p521.toSigningKeyRef(), algorithm: 'ecdsa-sha2-nistp521', data }, false],
    [{ op: 'verify', publicKeyBlob: rsa.publicBlob, algorithm: 'rsa-sha2-512', signature: data, data }, true],
    [{ op: 'kexServer', method: 'curve25519-sha256', clientPublicWire: prefix, hashPrefix: prefix, hostKey: ed.toSigningKeyRef(), signatureAlgorithm: 'ssh-ed25519' }, true],
    [{ op: 'kexServer', method: 'curve25519-sha256', clientPublicWire: prefix, hashPrefix: prefix, hostKey: rsa.toSigningKeyRef(), signatureAlgorithm: 'rsa-sha2-256' }, false],
  ];
  for (const [req, cheap] of table) assert.equal(isCheapOp(req), cheap, `${req.op} ${'method' in req ? req.method : ''}`);
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

test('workerExecArgv keeps loaders and drops per-process flags that make new Worker throw', () => {
  const argv = ['--expose-gc', '--import', 'tsx', '--cpu-prof', '--max-old-space-size=100', '--enable-source-maps', '--import=x', '--conditions=dev', '--test', '--stack-trace-limit=5', '--no-warnings'];
  assert.deepEqual(workerExecArgv(argv), ['--import', 'tsx', '--enable-source-maps', '--import=x', '--conditions=dev', '--no-warnings']);
});
