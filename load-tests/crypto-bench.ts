/**
 * Packet-crypto benchmark: each primitive per implementation, bounded per case.
 *   node --import tsx load-tests/crypto-bench.ts [msPerCase=200] [filter]
 * Prints a table, then one JSON line per case:
 *   {"bench":"crypto","impl":...,"params":{...},"value":MB/s,"unit":"MB/s"}
 * Figures vary +-20-40 % between runs on shared machines: compare within one run.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { CIPHER_ALGORITHMS, MAC_ALGORITHMS, type CipherName, type MacName } from '../src/protocol/algorithms.js';
import type { PacketSealer } from '../src/protocol/crypto-api.js';
import { createTransportCrypto, type CryptoImpl } from '../src/crypto/transport-crypto.js';
import { Poly1305Wasm } from '../src/crypto/poly1305-wasm.js';
import { createCompressor } from '../src/crypto/compression.js';

const MS = Number(process.argv[2] ?? 200);
const FILTER = process.argv[3] ?? '';
const PACKET = 32 * 1024;

interface Row {
  bench: 'crypto';
  impl: string;
  params: Record<string, string | number>;
  value: number;
  unit: 'MB/s';
}
const rows: Row[] = [];

/** Runs fn (processing `bytes` per call) for about MS milliseconds after a short warm-up; returns MB/s. */
function measure(bytes: number, fn: () => void): number {
  const warm = performance.now();
  while (performance.now() - warm < Math.min(50, MS / 4)) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MS) {
    for (let i = 0; i < 4; i++) fn();
    calls += 4;
    now = performance.now();
  }
  return (calls * bytes) / 1e6 / ((now - start) / 1000);
}

function record(impl: string, params: Record<string, string | number>, value: number): void {
  const key = `${impl} ${Object.values(params).join(' ')}`;
  if (FILTER && !key.includes(FILTER)) return;
  rows.push({ bench: 'crypto', impl, params, value: Math.round(value), unit: 'MB/s' });
  console.log(`${impl.padEnd(8)} ${Object.values(params).join(' ').padEnd(56)} ${Math.round(value).toString().padStart(6)} MB/s`);
}

function skip(impl: string, params: Record<string, string | number>): boolean {
  return FILTER !== '' && !`${impl} ${Object.values(params).join(' ')}`.includes(FILTER);
}

function packetFor(s: PacketSealer): Uint8Array {
  let pad = s.blockSize - ((5 + PACKET - s.aadLength) % s.blockSize);
  if (pad < 4) pad += s.blockSize;
  const p = randomBytes(5 + PACKET + pad);
  p.writeUInt32BE(p.length - 4, 0);
  p[4] = pad;
  return p;
}

// --- Poly1305 -----------------------------------------------------------------
{
  const key = randomBytes(32);
  const data = randomBytes(PACKET);
  const wasm = new Poly1305Wasm();
  const out = new Uint8Array(16);
  const p = { primitive: 'poly1305', size: PACKET };
  if (!skip('wasm', p)) record('wasm', p, measure(PACKET, () => wasm.macInto(key, data, out, 0)));
  if (!skip('noble', p)) record('noble', p, measure(PACKET, () => poly1305(data, key)));
}

// --- seal per cipher x MAC, per implementation ----------------------------------
const suites: [CipherName, MacName | null][] = [];
const probe = createTransportCrypto();
for (const c of CIPHER_ALGORITHMS) {
  if (probe.cipherInfo(c).aead) suites.push([c, null]);
  else for (const m of MAC_ALGORITHMS) suites.push([c, m]);
}
for (const impl of ['node', 'noble'] as CryptoImpl[]) {
  const tc = createTransportCrypto({ impl });
  for (const [c, m] of suites) {
    const params = { op: 'seal', cipher: c, mac: m ?? '-', size: PACKET };
    if (skip(impl, params)) continue;
    const ci = tc.cipherInfo(c);
    const keys = { encKey: randomBytes(ci.keyLength), iv: randomBytes(ci.ivLength), macKey: m ? randomBytes(tc.macInfo(m).keyLength) : new Uint8Array(0) };
    const s = tc.createSealer(c, m, keys);
    const packet = packetFor(s);
    let seq = 0;
    record(impl, params, measure(PACKET, () => void s.seal(seq++, packet)));
  }
}

// --- open for the default AEADs (node) -------------------------------------------
{
  const tc = createTransportCrypto();
  for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as CipherName[]) {
    const params = { op: 'open', cipher: c, mac: '-', size: PACKET };
    if (skip('node', params)) continue;
    const ci = tc.cipherInfo(c);
    const keys = { encKey: randomBytes(ci.keyLength), iv: randomBytes(ci.ivLength), macKey: new Uint8Array(0) };
    const s = tc.createSealer(c, null, keys);
    const packet = packetFor(s);
    const wires: Uint8Array[] = [];
    for (let i = 0; i < 256; i++) wires.push(s.seal(i, packet.slice()));
    // Openers are stateful (GCM counter): replay the recorded packets with a fresh opener each lap.
    let o = tc.createOpener(c, null, keys);
    let seq = 0;
    record('node', params, measure(PACKET, () => {
      if (seq === wires.length) {
        o = tc.createOpener(c, null, keys);
        seq = 0;
      }
      const w = wires[seq];
      o.decryptLength(seq, w.subarray(0, 4));
      o.open(seq, w);
      seq++;
    }));
  }
}

// --- ssh2 (npm) as the yardstick ---------------------------------------------------
{
  interface Ssh2Cipher { allocPacket(n: number): Buffer; encrypt(p: Buffer): void }
  const ssh2 = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as {
    CIPHER_INFO: Record<string, { keyLen: number; ivLen: number }>;
    init: Promise<void>;
    bindingAvailable: boolean;
    createCipher(config: object): Ssh2Cipher;
  };
  await ssh2.init;
  for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
    const params = { op: 'seal', cipher: c, mac: '-', size: PACKET, binding: String(ssh2.bindingAvailable) };
    if (skip('ssh2', params)) continue;
    const info = ssh2.CIPHER_INFO[c];
    const cipher = ssh2.createCipher({
      outbound: { onWrite: () => {}, cipherInfo: info, cipherKey: randomBytes(info.keyLen), cipherIV: randomBytes(info.ivLen), seqno: 0 },
    });
    record('ssh2', params, measure(PACKET, () => cipher.encrypt(cipher.allocPacket(PACKET))));
  }
}

// --- compression (text-like payloads) ------------------------------------------------
{
  const words = Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 7919) % 1000} status=ok host=web-${i % 50}\n`).join('');
  const text = Buffer.from(words).subarray(0, PACKET);
  for (const impl of ['node', 'noble'] as CryptoImpl[]) {
    const params = { op: 'compress', cipher: 'zlib', mac: '-', size: text.length };
    if (skip(impl, params)) continue;
    const comp = createCompressor('zlib@openssh.com', impl)!;
    record(impl, params, measure(text.length, () => void comp.compress(text)));
  }
}

console.log('');
for (const r of rows) console.log(JSON.stringify(r));
