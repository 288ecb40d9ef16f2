/**
 * zlib / zlib@openssh.com payload compression (RFC 4253 6.2): one zlib stream
 * per direction for the life of the keys' compression context, each packet
 * ending with Z_SYNC_FLUSH so the peer can decode it on its own.
 *
 * node:zlib has no public synchronous streaming call, so the 'node' engine
 * drives the native handle of a zlib.Deflate/Inflate object directly
 * (handle.writeSync + the object's write-state array, as Node's own sync
 * helpers do); if those internals are missing, it falls back to pako.
 * Decompression stops as soon as the output passes maxSize, at most one
 * output chunk past it, so a zip bomb is never inflated in full.
 */
import { constants, createDeflate, createInflate } from 'node:zlib';
import { Deflate as PakoDeflate, Inflate as PakoInflate, Z_SYNC_FLUSH } from 'pako';
import type { CompressionName } from '../protocol/algorithms.js';
import type { Compressor, Decompressor } from '../protocol/crypto-api.js';
import { CompressionError } from '../protocol/errors.js';
import { joinParts } from '../protocol/wire.js';

const CHUNK = 64 * 1024;

function checkName(name: CompressionName): boolean {
  if (name === 'none') return false;
  if (name === 'zlib' || name === 'zlib@openssh.com') return true;
  throw new RangeError(`compression: unknown algorithm ${JSON.stringify(name)}`);
}

// --- node:zlib ---------------------------------------------------------------

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
interface ZlibInternals {
  _handle: NativeHandle | null;
  _writeState: Uint32Array;
  destroyed: boolean;
  on(event: 'error', fn: () => void): unknown;
  close(): void;
}

function nativeEngine(kind: 'deflate' | 'inflate'): ZlibInternals | null {
  const z = (kind === 'deflate' ? createDeflate() : createInflate()) as unknown as Partial<ZlibInternals>;
  if (typeof z._handle?.writeSync !== 'function' || !(z._writeState instanceof Uint32Array)) return null;
  const engine = z as ZlibInternals;
  // A stream error is reported through destroy(); keep it from becoming an
  // uncaught 'error' event — run() notices the destroyed handle instead.
  engine.on('error', () => {});
  return engine;
}

class NativeStream {
  #z: ZlibInternals | null;
  readonly #scratch = new Uint8Array(CHUNK);
  constructor(z: ZlibInternals) {
    this.#z = z;
  }

  run(input: Uint8Array, maxSize: number): Uint8Array {
    const z = this.#z;
    if (z === null || z._handle === null || z.destroyed) throw new CompressionError('compression stream is closed');
    const scratch = this.#scratch;
    const state = z._writeState;
    const chunks: Uint8Array[] = [];
    let total = 0;
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      z._handle.writeSync(constants.Z_SYNC_FLUSH, input, inOff, inLen, scratch, 0, CHUNK);
      if (z.destroyed || z._handle === null) {
        this.dispose();
        throw new CompressionError('corrupt compressed data');
      }
      const availOut = state[0];
      const availIn = state[1];
      const have = CHUNK - availOut;
      total += have;
      if (total > maxSize) {
        this.dispose();
        throw new CompressionError(`decompressed payload exceeds ${maxSize} bytes`);
      }
      if (have > 0) chunks.push(scratch.slice(0, have));
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) break;
    }
    return joinParts(chunks);
  }

  dispose(): void {
    this.#z?.close();
    this.#z = null;
  }
}

// --- pako ----------------------------------------------------------------------

class PakoStream {
  #z: PakoDeflate | PakoInflate | null;
  #chunks: Uint8Array[] = [];
  #total = 0;
  #limit = Infinity;
  #overflow = false;

  constructor(kind: 'deflate' | 'inflate') {
    const z = kind === 'deflate' ? new PakoDeflate() : new PakoInflate();
    z.onData = (chunk: Uint8Array) => {
      this.#total += chunk.length;
      if (this.#total > this.#limit) {
        this.#overflow = true;
        throw new CompressionError(`decompressed payload exceeds ${this.#limit} bytes`);
      }
      this.#chunks.push(chunk);
    };
    z.onEnd = () => {};
    this.#z = z;
  }

  run(input: Uint8Array, maxSize: number): Uint8Array {
    const z = this.#z;
    if (z === null) throw new CompressionError('compression stream is closed');
    this.#chunks = [];
    this.#total = 0;
    this.#limit = maxSize;
    let ok: boolean;
    try {
      ok = z.push(input, Z_SYNC_FLUSH);
    } catch (err) {
      this.dispose();
      if (this.#overflow || err instanceof CompressionError) throw err;
      throw new CompressionError('corrupt compressed data');
    }
    if (!ok || z.err) {
      this.dispose();
      throw new CompressionError(`corrupt compressed data${z.msg ? ': ' + z.msg : ''}`);
    }
    const out = joinParts(this.#chunks);
    this.#chunks = [];
    return out;
  }

  dispose(): void {
    this.#z = null;
    this.#chunks = [];
  }
}

type Stream = NativeStream | PakoStream;

function openStream(kind: 'deflate' | 'inflate', impl: 'node' | 'noble'): Stream {
  if (impl === 'node') {
    const native = nativeEngine(kind);
    if (native !== null) return new NativeStream(native);
  }
  return new PakoStream(kind);
}

export function createCompressor(name: CompressionName, impl: 'node' | 'noble' = 'node'): Compressor | null {
  if (!checkName(name)) return null;
  const s = openStream('deflate', impl);
  return {
    compress: (payload) => s.run(payload, Infinity),
    dispose: () => s.dispose(),
  };
}

export function createDecompressor(name: CompressionName, impl: 'node' | 'noble' = 'node'): Decompressor | null {
  if (!checkName(name)) return null;
  const s = openStream('inflate', impl);
  return {
    decompress(payload, maxSize) {
      if (!(maxSize >= 0)) throw new RangeError(`decompress: maxSize must be a non-negative number, got ${maxSize}`);
      return s.run(payload, maxSize);
    },
    dispose: () => s.dispose(),
  };
}
