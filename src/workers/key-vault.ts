/**
 * KeyVault: holds decrypted private keys and signs with them, so key material
 * can live in one thread (see key-vault-worker.ts) while connections only hold
 * ids. Plain class: usable in-thread too.
 */
import type { SignatureName } from '../protocol/algorithms.js';
import { generatePrivateKey, importPrivateKey, type GeneratableKeyType, type SSHKey } from '../crypto/keys/ssh-key.js';

export interface VaultKeyInfo {
  readonly id: number;
  readonly keyType: string;
  readonly publicBlob: Uint8Array;
  readonly fingerprint: string;
  readonly comment: string;
}

export class KeyVault {
  #keys = new Map<number, SSHKey>();
  #nextId = 1;

  #add(key: SSHKey): VaultKeyInfo {
    const id = this.#nextId++;
    this.#keys.set(id, key);
    return this.#info(id, key);
  }

  #info(id: number, key: SSHKey): VaultKeyInfo {
    return { id, keyType: key.keyType, publicBlob: key.publicBlob, fingerprint: key.fingerprintSHA256(), comment: key.comment };
  }

  /** Decrypts/parses a private key file; only its public facts leave the vault. */
  load(text: string | Uint8Array, passphrase?: string): VaultKeyInfo {
    return this.#add(importPrivateKey(text, passphrase));
  }

  generate(type: GeneratableKeyType, options?: { bits?: number; comment?: string }): VaultKeyInfo {
    return this.#add(generatePrivateKey(type, options));
  }

  list(): VaultKeyInfo[] {
    return [...this.#keys].map(([id, key]) => this.#info(id, key));
  }

  sign(id: number, algorithm: SignatureName, data: Uint8Array): Uint8Array {
    const key = this.#keys.get(id);
    if (!key) throw new RangeError(`id: no key ${id} in the vault`);
    return key.sign(algorithm, data);
  }

  forget(id: number): boolean {
    return this.#keys.delete(id);
  }
}
