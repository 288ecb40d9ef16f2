/**
 * AES-CTR, AES-CBC and 3DES-CBC as streams that keep their state (counter or
 * chaining block) across packets, as RFC 4253 6.3 and RFC 4344 require. Input
 * lengths are always whole cipher blocks at this layer.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { cbc, ctr } from '@noble/ciphers/aes.js';
import type { CipherEntry } from './cipher-table.js';
import { copyOf } from './packet-length.js';

export interface BlockStream {
  /** Encrypts or decrypts whole blocks; returns a new array. */
  update(data: Uint8Array): Uint8Array;
  dispose(): void;
}

export type BlockStreamFactory = (e: CipherEntry, key: Uint8Array, iv: Uint8Array, encrypt: boolean) => BlockStream;

function checkBlocks(e: CipherEntry, data: Uint8Array): void {
  if (data.length % e.blockSize !== 0) throw new RangeError(`cipher: ${e.name} input of ${data.length} bytes is not whole blocks`);
}

export const createNodeBlockStream: BlockStreamFactory = (e, key, iv, encrypt) => {
  let c: Cipher | Decipher | null = encrypt ? createCipheriv(e.openssl, key, iv) : createDecipheriv(e.openssl, key, iv);
  c.setAutoPadding(false);
  return {
    update(data) {
      if (c === null) throw new Error('cipher: used after dispose');
      checkBlocks(e, data);
      const out = c.update(data);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    },
    dispose() {
      c = null;
    },
  };
};

/** Adds n to a 128-bit big-endian counter in place. */
function addToCounter(counter: Uint8Array, n: number): void {
  let carry = n;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const v = counter[i] + (carry % 256);
    counter[i] = v & 0xff;
    carry = Math.floor(carry / 256) + (v >> 8);
  }
}

/** Pure-JS AES via noble; 3DES has no noble implementation and uses node:crypto. */
export const createNobleBlockStream: BlockStreamFactory = (e, key, iv, encrypt) => {
  if (e.name === '3des-cbc') return createNodeBlockStream(e, key, iv, encrypt);
  const k = copyOf(key);
  const state = copyOf(iv); // CTR: next counter block; CBC: previous ciphertext block
  let live = true;
  const check = (data: Uint8Array) => {
    if (!live) throw new Error('cipher: used after dispose');
    checkBlocks(e, data);
  };
  const dispose = () => {
    live = false;
    k.fill(0);
    state.fill(0);
  };
  if (e.kind === 'ctr') {
    return {
      update(data) {
        check(data);
        const out = ctr(k, state.slice()).encrypt(data);
        addToCounter(state, data.length / 16);
        return out;
      },
      dispose,
    };
  }
  return {
    update(data) {
      check(data);
      if (data.length === 0) return new Uint8Array(0);
      const c = cbc(k, state.slice(), { disablePadding: true });
      const out = encrypt ? c.encrypt(data) : c.decrypt(data);
      const last = encrypt ? out : data;
      state.set(last.subarray(last.length - 16));
      return out;
    },
    dispose,
  };
};
