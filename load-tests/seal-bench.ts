/**
 * The seal path alone, in process: `PacketWriter.sealToPieces` of one
 * channel-data packet (a 9-byte header and a 32 KiB or 1-byte payload), client
 * CPU µs per packet (`process.cpuUsage()`, GC included) and ms/MB, per
 * cipher, for one or more builds interleaved (3 rounds, order fixed; compare
 * within a round). No socket, no peer: what the seal path costs before the
 * kernel and the server are added.
 *
 *   node --import tsx load-tests/seal-bench.ts --fleetssh=before=BASE/dist/src,after=dist/src [--ciphers=a,b]
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFlags } from './common.js';

interface Build {
  label: string;
  crypto: typeof import('../src/crypto/transport-crypto.js');
  codec: typeof import('../src/protocol/packet-codec.js');
}

const ROOT = join(import.meta.dirname, '..');

async function loadBuild(spec: string): Promise<Build> {
  const eq = spec.indexOf('=');
  const label = eq < 0 ? spec : spec.slice(0, eq);
  const dir = eq < 0 ? spec : spec.slice(eq + 1);
  const root = isAbsolute(dir) ? dir : join(ROOT, dir);
  const load = (p: string) => import(pathToFileURL(join(root, p)).href);
  return { label, crypto: await load('crypto/transport-crypto.js'), codec: await load('protocol/packet-codec.js') };
}

const { flags } = parseFlags(process.argv.slice(2));
const builds = await Promise.all(String(flags.get('fleetssh') ?? 'src=src').split(',').map(loadBuild));
const ciphers = String(flags.get('ciphers') ?? 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com').split(',');
const header = new Uint8Array(9);
const payloads: [string, Uint8Array, number][] = [
  ['32K', randomBytes(32768), 20000],
  ['1B', randomBytes(1), 100000],
];
for (let round = 0; round < 3; round++) {
  for (const cipher of ciphers) {
    for (const b of builds) {
      const tc = b.crypto.createTransportCrypto();
      const info = tc.cipherInfo(cipher as never);
      const keys = { encKey: randomBytes(info.keyLength), iv: randomBytes(info.ivLength), macKey: new Uint8Array(0) };
      const w = new b.codec.PacketWriter(tc.createSealer(cipher as never, null, keys), tc.random);
      for (const [name, payload, n] of payloads) {
        for (let i = 0; i < 2000; i++) w.sealToPieces([header, payload]);
        const c0 = process.cpuUsage();
        for (let i = 0; i < n; i++) w.sealToPieces([header, payload]);
        const c = process.cpuUsage(c0);
        const us = (c.user + c.system) / n;
        const perMB = name === '32K' ? ` ${((us * 1e6) / payload.length / 1000).toFixed(3)} ms/MB` : '';
        console.log(JSON.stringify({ bench: 'seal', impl: b.label, params: { cipher, payload: name, round }, value: Number(us.toFixed(2)), unit: 'us/packet' }) + perMB);
      }
    }
  }
}
