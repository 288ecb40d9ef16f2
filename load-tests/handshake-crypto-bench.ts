/**
 * Handshake crypto costs (bounded, a few seconds): per kex method the client
 * (start + finish) and server op cost in µs; node:crypto vs noble for X25519,
 * Ed25519 and ECDSA P-256; and N=200 concurrent kexServer ops inline vs pool.
 * Prints a table and JSON lines {bench:'handshake-crypto', impl, params, value, unit}.
 * Run: node --import tsx load-tests/handshake-crypto-bench.ts
 */
import { sign as nodeSign } from 'node:crypto';
import { generateKeyObject } from '../src/crypto/keys/keygen.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { KEX_ALGORITHMS, type KexName } from '../src/protocol/algorithms.js';
import type { KexClientStartResult, KexServerResult, HandshakeRequest } from '../src/protocol/crypto-api.js';
import { kexInfo } from '../src/protocol/kex-methods.js';
import { concatBytes, encodeString } from '../src/protocol/wire.js';
import { runHandshake, chooseGexGroup, dhGroupFor } from '../src/crypto/handshake.js';
import { nodeX25519, nobleX25519Impl } from '../src/crypto/kex-x25519.js';
import { generatePrivateKey } from '../src/crypto/keys/ssh-key.js';
import { HandshakeExecutor } from '../src/workers/handshake-executor.js';

const rows: Array<{ impl: string; params: string; value: number; unit: string }> = [];
function emit(impl: string, params: string, value: number, unit: string): void {
  rows.push({ impl, params, value: Math.round(value * 10) / 10, unit });
  console.log(JSON.stringify({ bench: 'handshake-crypto', impl, params, value: Math.round(value * 10) / 10, unit }));
}

/** Median µs per call over up to `maxIters` calls or `budgetMs`. */
function timeIt(fn: () => void, budgetMs = 120, maxIters = 400): number {
  fn();
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < maxIters && (samples.length < 3 || performance.now() < end)) {
    const t = performance.now();
    fn();
    samples.push((performance.now() - t) * 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

const host = generatePrivateKey('ssh-ed25519');
const prefix = encodeString('bench prefix');
const groupOf = (m: KexName) => (kexInfo(m).style === 'gex' ? chooseGexGroup(2048, 3072, 8192) : dhGroupFor(m));
const serverReq = (method: KexName, clientPublicWire: Uint8Array): HandshakeRequest => ({
  op: 'kexServer', method, group: groupOf(method), clientPublicWire, hashPrefix: prefix, hostKey: host.toSigningKeyRef(), signatureAlgorithm: 'ssh-ed25519',
});

for (const method of KEX_ALGORITHMS) {
  const group = groupOf(method);
  const start = runHandshake({ op: 'kexClientStart', method, group }) as KexClientStartResult;
  const server = runHandshake(serverReq(method, start.publicWire)) as KexServerResult;
  const client = timeIt(() => {
    const s = runHandshake({ op: 'kexClientStart', method, group }) as KexClientStartResult;
    runHandshake({ op: 'kexClientFinish', method, group, secret: start.secret, serverPublicWire: server.publicWire, hashPrefix: concatBytes(prefix, server.publicWire), hostKeyBlob: host.publicBlob, signature: server.signature, signatureAlgorithm: 'ssh-ed25519' });
    void s;
  }, 150, 200);
  const srv = timeIt(() => runHandshake(serverReq(method, start.publicWire)), 150, 200);
  emit('node', `kex=${method} side=client`, client, 'us/op');
  emit('node', `kex=${method} side=server`, srv, 'us/op');
}

// node vs noble primitives
const a = nodeX25519.keyPair();
const b = nodeX25519.keyPair();
emit('node', 'prim=x25519-shared', timeIt(() => nodeX25519.shared(a.privateKey, b.publicKey)), 'us/op');
emit('noble', 'prim=x25519-shared', timeIt(() => nobleX25519Impl.shared(a.privateKey, b.publicKey), 150, 100), 'us/op');
const msg = new Uint8Array(32).fill(1);
const edNode = generateKeyObject('ed25519');
const edNoble = ed25519.utils.randomSecretKey();
emit('node', 'prim=ed25519-sign', timeIt(() => nodeSign(null, msg, edNode)), 'us/op');
emit('noble', 'prim=ed25519-sign', timeIt(() => ed25519.sign(msg, edNoble), 150, 100), 'us/op');
const ecNode = generateKeyObject('ec', { namedCurve: 'prime256v1' });
const ecNoble = p256.utils.randomSecretKey();
emit('node', 'prim=ecdsa-p256-sign', timeIt(() => nodeSign('sha256', msg, ecNode)), 'us/op');
emit('noble', 'prim=ecdsa-p256-sign', timeIt(() => p256.sign(msg, ecNoble), 150, 100), 'us/op');

// N concurrent kexServer ops: inline vs pool (interleaved, median of 3 rounds each)
const N = 200;
const method: KexName = 'curve25519-sha256';
const clientPub = (runHandshake({ op: 'kexClientStart', method }) as KexClientStartResult).publicWire;
const executors = { inline: new HandshakeExecutor({ mode: 'inline' }), pool: new HandshakeExecutor({ mode: 'pool' }), auto: new HandshakeExecutor({ mode: 'auto' }) };
await executors.pool.run(serverReq(method, clientPub)); // start threads outside the timing
const results: Record<string, number[]> = { inline: [], pool: [], auto: [] };
for (let round = 0; round < 3; round++) {
  for (const [name, ex] of Object.entries(executors)) {
    const t = performance.now();
    await Promise.all(Array.from({ length: N }, () => ex.run(serverReq(method, clientPub))));
    results[name]!.push(N / ((performance.now() - t) / 1000));
  }
}
for (const [name, r] of Object.entries(results)) emit(name, `op=kexServer kex=${method} concurrent=${N}`, r.sort((x, y) => x - y)[1]!, 'ops/s');
await Promise.all(Object.values(executors).map((e) => e.close()));

console.log('\n' + 'impl'.padEnd(8) + 'params'.padEnd(64) + 'value');
for (const r of rows) console.log(r.impl.padEnd(8) + r.params.padEnd(64) + `${r.value} ${r.unit}`);
