/**
 * The TransportCrypto the sans-I/O core is given: node:crypto for every
 * primitive OpenSSL has (plus our WebAssembly Poly1305), or a pure-JS build on
 * noble and pako that produces the same wire bytes.
 */
import type { CipherName, CompressionName, MacName } from '../protocol/algorithms.js';
import type { PacketKeys, PacketOpener, PacketSealer, TransportCrypto } from '../protocol/crypto-api.js';
import { createGcmOpener, createGcmSealer } from './cipher-aes-gcm.js';
import { createNobleBlockStream, createNodeBlockStream } from './cipher-block-stream.js';
import { createChachaOpener, createChachaSealer } from './cipher-chacha20-poly1305.js';
import { cipherEntry, cipherInfo, takeKey } from './cipher-table.js';
import { createCompressor, createDecompressor } from './compression.js';
import { nobleHash, nodeHash } from './hash.js';
import { createNobleMac, createNodeMac, macEntry, macInfo } from './mac-hmac.js';
import { createBlockMacOpener, createBlockMacSealer } from './packet-block-mac.js';
import { nodeRandom, webRandom } from './random.js';

export { nodeRandom, webRandom } from './random.js';
export { createNullOpener, createNullSealer } from './packet-null.js';

export type CryptoImpl = 'node' | 'noble';

export interface TransportCryptoOptions {
  /** 'node' (default): node:crypto + node:zlib; 'noble': pure JS via @noble and pako. */
  impl?: CryptoImpl;
}

function build(
  impl: CryptoImpl,
  cipher: CipherName,
  mac: MacName | null,
  keys: PacketKeys,
  encrypt: boolean,
): PacketSealer | PacketOpener {
  const e = cipherEntry(cipher);
  if (e.kind === 'gcm') return encrypt ? createGcmSealer(e, keys, impl) : createGcmOpener(e, keys, impl);
  if (e.kind === 'chacha20-poly1305') return encrypt ? createChachaSealer(e, keys, impl) : createChachaOpener(e, keys, impl);
  if (mac === null) throw new RangeError(`createSealer/createOpener: cipher ${cipher} needs a MAC`);
  const m = macEntry(mac);
  const streamFactory = impl === 'node' ? createNodeBlockStream : createNobleBlockStream;
  const macFactory = impl === 'node' ? createNodeMac : createNobleMac;
  const stream = streamFactory(e, takeKey(e, 'key', keys.encKey), takeKey(e, 'iv', keys.iv), encrypt);
  const packetMac = macFactory(mac, keys.macKey);
  return encrypt
    ? createBlockMacSealer(stream, packetMac, e.blockSize, m.etm)
    : createBlockMacOpener(stream, packetMac, e.blockSize, m.etm);
}

export function createTransportCrypto(options: TransportCryptoOptions = {}): TransportCrypto {
  const impl = options.impl ?? 'node';
  if (impl !== 'node' && impl !== 'noble') throw new RangeError(`createTransportCrypto: options.impl must be 'node' or 'noble', got ${JSON.stringify(impl)}`);
  return {
    random: impl === 'node' ? nodeRandom : webRandom,
    hash: impl === 'node' ? nodeHash : nobleHash,
    cipherInfo,
    macInfo,
    createSealer: (cipher, mac, keys) => build(impl, cipher, mac, keys, true) as PacketSealer,
    createOpener: (cipher, mac, keys) => build(impl, cipher, mac, keys, false) as PacketOpener,
    createCompressor: (name: CompressionName) => createCompressor(name, impl),
    createDecompressor: (name: CompressionName) => createDecompressor(name, impl),
  };
}
