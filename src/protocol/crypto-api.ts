/**
 * The small interfaces through which the sans-I/O core gets randomness,
 * hashing, packet protection, compression and handshake crypto. The core never
 * imports an implementation: src/crypto provides node:crypto and noble ones,
 * and src/actors passes them in (or runs handshake work in the worker pool).
 */
import type { CipherName, CompressionName, KexName, MacName, SignatureName } from './algorithms.js';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface RandomSource {
  /** n cryptographically random bytes. */
  bytes(n: number): Uint8Array;
}

export interface CipherInfo {
  readonly name: CipherName;
  readonly keyLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  /** AEAD ciphers carry their own tag; the negotiated MAC is ignored. */
  readonly aead: boolean;
}

export interface MacInfo {
  readonly name: MacName;
  readonly keyLength: number;
  readonly macLength: number;
  /** encrypt-then-MAC: the packet length is sent in clear and MACed with the ciphertext. */
  readonly etm: boolean;
}

/** Outbound packet protection for one direction and one set of keys. */
export interface PacketSealer {
  /** Padding alignment (>= 8). */
  readonly blockSize: number;
  /** 4 when the length field is excluded from the padding alignment (AEAD, EtM), else 0. */
  readonly aadLength: 0 | 4;
  /** Bytes appended after the encrypted packet (MAC or tag). */
  readonly macLength: number;
  /**
   * `packet` = uint32 packet_length || byte padding_length || payload || padding,
   * already filled in. Returns the wire bytes. May encrypt `packet` in place.
   */
  seal(seq: number, packet: Uint8Array): Uint8Array;
  /**
   * Optional fast path: the same wire bytes as seal() of the concatenation of
   * `parts` (that concatenation is exactly seal()'s `packet`), without the
   * caller assembling the packet first. `parts[0]` holds at least the 5 header
   * bytes (packet_length, padding_length). The parts are only read, and only
   * during the call.
   */
  sealParts?(seq: number, parts: readonly Uint8Array[]): Uint8Array;
  /** Wipes key material. */
  dispose(): void;
}

/** Inbound packet protection for one direction and one set of keys. */
export interface PacketOpener {
  readonly blockSize: number;
  readonly macLength: number;
  /** Leading wire bytes needed to learn the packet length (4, or one cipher block). */
  readonly lengthPrefix: number;
  /** packet_length from the first `lengthPrefix` wire bytes. Called once per packet, before open(). */
  decryptLength(seq: number, head: Uint8Array): number;
  /**
   * `wire` = the whole packet as received (4 + packet_length bytes) followed by
   * macLength bytes. Returns padding_length || payload || padding. Throws
   * MacError when authentication fails.
   */
  open(seq: number, wire: Uint8Array): Uint8Array;
  dispose(): void;
}

export interface PacketKeys {
  readonly encKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly macKey: Uint8Array;
}

export interface Compressor {
  compress(payload: Uint8Array): Uint8Array;
  dispose(): void;
}

export interface Decompressor {
  /** Throws CompressionError when the output would exceed maxSize or the stream is corrupt. */
  decompress(payload: Uint8Array, maxSize: number): Uint8Array;
  dispose(): void;
}

/** Everything the transport core needs synchronously. */
export interface TransportCrypto {
  readonly random: RandomSource;
  hash(name: HashName, data: Uint8Array): Uint8Array;
  cipherInfo(name: CipherName): CipherInfo;
  macInfo(name: MacName): MacInfo;
  createSealer(cipher: CipherName, mac: MacName | null, keys: PacketKeys): PacketSealer;
  createOpener(cipher: CipherName, mac: MacName | null, keys: PacketKeys): PacketOpener;
  createCompressor(name: CompressionName): Compressor | null;
  createDecompressor(name: CompressionName): Decompressor | null;
}

/**
 * A key the core can ask to sign with. The core only reads `keyType` and
 * `publicBlob`; `handle` is opaque to it and belongs to src/crypto.
 */
export interface SigningKeyRef {
  readonly keyType: string;
  readonly publicBlob: Uint8Array;
  readonly handle: unknown;
  /**
   * The private key is in this process (not an agent's or a token's): signing
   * costs only CPU and asks nobody, so the client signs its first request
   * for it at once instead of asking the server whether the key would do.
   */
  readonly inProcess?: boolean;
}

/** A Diffie-Hellman group as sent in KEX_DH_GEX_GROUP (unsigned big-endian). */
export interface DhGroup {
  readonly p: Uint8Array;
  readonly g: Uint8Array;
}

/**
 * Handshake work: pure functions on plain data, run inline or in the worker
 * pool by the actor. Wire-encoded values (`*Wire`) are exactly the bytes that
 * appear in the message and in the exchange hash: an SSH string for ECDH-style
 * methods, an mpint for DH, and K as the method encodes it (mpint, or string
 * for mlkem768x25519-sha256).
 */
export type HandshakeRequest =
  | { op: 'kexClientStart'; method: KexName; group?: DhGroup }
  | {
      op: 'kexClientFinish';
      method: KexName;
      group?: DhGroup;
      secret: Uint8Array;
      serverPublicWire: Uint8Array;
      /** V_C..Q_S encoded; the worker appends K and hashes. */
      hashPrefix: Uint8Array;
      hostKeyBlob: Uint8Array;
      signature: Uint8Array;
      signatureAlgorithm: SignatureName;
    }
  | {
      op: 'kexServer';
      method: KexName;
      group?: DhGroup;
      clientPublicWire: Uint8Array;
      /** V_C..Q_C encoded; the worker appends Q_S and K, hashes and signs. */
      hashPrefix: Uint8Array;
      hostKey: SigningKeyRef;
      signatureAlgorithm: SignatureName;
    }
  | { op: 'sign'; key: SigningKeyRef; algorithm: SignatureName; data: Uint8Array }
  | { op: 'verify'; publicKeyBlob: Uint8Array; algorithm: SignatureName; signature: Uint8Array; data: Uint8Array };

export interface KexClientStartResult {
  publicWire: Uint8Array;
  secret: Uint8Array;
}
export interface KexClientFinishResult {
  sharedWire: Uint8Array;
  exchangeHash: Uint8Array;
  signatureValid: boolean;
}
export interface KexServerResult {
  publicWire: Uint8Array;
  sharedWire: Uint8Array;
  exchangeHash: Uint8Array;
  /** The full signature blob: string(algorithm) || string(signature). */
  signature: Uint8Array;
}
/** `sign` returns the full signature blob; `verify` returns a boolean. */
export type HandshakeResult =
  | KexClientStartResult
  | KexClientFinishResult
  | KexServerResult
  | Uint8Array
  | boolean;

/** Per-kex-method facts the core needs for negotiation and hashing. */
export interface KexInfo {
  readonly name: KexName;
  readonly hash: HashName;
  /** 'ecdh': one INIT/REPLY with string publics; 'dh': fixed group, mpint publics; 'gex': group exchange. */
  readonly style: 'ecdh' | 'dh' | 'gex';
}
