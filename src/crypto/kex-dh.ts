/**
 * Finite-field Diffie-Hellman (RFC 4253 §8, RFC 4419, RFC 8268): e and f are
 * mpints, K = f^x mod p as an mpint. The peer's value must satisfy
 * 1 < y < p-1 (RFC 4253 §8). The private exponent is 512 random bits, twice
 * the 256-bit strength of the strongest cipher we negotiate (OpenSSH sizes it
 * the same way), and always below the group order for these safe primes.
 */
import { createDiffieHellman, randomBytes } from 'node:crypto';
import type { DhGroup } from '../protocol/crypto-api.js';
import { bigintToBytes, bytesToBigint, encodeMpint } from '../protocol/wire.js';
import { KeyExchangeFailed } from '../protocol/errors.js';
import { unwrapMpint, type KexPrimitive } from './kex-primitive.js';
import { DH_GROUP_14, DH_GROUP_15, DH_GROUP_16, DH_GROUP_17, DH_GROUP_18, groupBits } from './dh-groups.js';

const EXPONENT_BYTES = 64;

function needGroup(group: DhGroup | undefined, fixed: DhGroup | undefined): DhGroup {
  const g = fixed ?? group;
  if (!g) throw new KeyExchangeFailed('DH key exchange needs a group');
  if (groupBits(g) < 1024) throw new KeyExchangeFailed(`DH group of ${groupBits(g)} bits is too small`);
  return g;
}

function checkPeer(g: DhGroup, y: bigint, who: string): void {
  const p = bytesToBigint(g.p);
  if (!(y > 1n && y < p - 1n)) throw new KeyExchangeFailed(`${who} DH public value out of range (needs 1 < y < p-1)`);
}

// createDiffieHellman checks the group (for primes OpenSSL does not know by
// name, e.g. the 1024-bit Oakley group, that is a ~25 ms primality test), so
// one object per group is kept and re-keyed per use. Calls are synchronous,
// so a cached object is never shared between two operations at once.
const cache = new Map<string, ReturnType<typeof createDiffieHellman>>();

function dhFor(g: DhGroup): ReturnType<typeof createDiffieHellman> {
  const id = Buffer.from(g.p).toString('base64') + '/' + Buffer.from(g.g).toString('hex');
  let dh = cache.get(id);
  if (!dh) {
    if (cache.size >= 16) cache.clear();
    dh = createDiffieHellman(g.p, g.g);
    cache.set(id, dh);
  }
  return dh;
}

/** Groups OpenSSL knows by name, whose check in createDiffieHellman is cheap. */
const NAMED = [DH_GROUP_14, DH_GROUP_15, DH_GROUP_16, DH_GROUP_17, DH_GROUP_18].map((g) => Buffer.from(g.p).toString('base64'));

/**
 * Any other prime (a server's /etc/ssh/moduli entry sent in group exchange)
 * would make createDiffieHellman run a full primality test: over a second for
 * 3072 bits. BigInt square-and-multiply with our 512-bit exponent costs ~8 ms
 * for such a group, so unnamed groups take that path.
 */
interface DhLike {
  generateKeys(): Buffer;
  computeSecret(other: Uint8Array): Buffer;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

function bigintDh(g: DhGroup, secret: Uint8Array): DhLike {
  const p = bytesToBigint(g.p);
  const x = bytesToBigint(secret);
  const len = g.p.length;
  return {
    generateKeys: () => Buffer.from(bigintToBytes(modPow(bytesToBigint(g.g), x, p), len)),
    computeSecret: (other) => Buffer.from(bigintToBytes(modPow(bytesToBigint(other), x, p), len)),
  };
}

function keyPair(g: DhGroup, secret?: Uint8Array): { dh: DhLike; pub: Buffer | undefined } {
  if (!NAMED.includes(Buffer.from(g.p).toString('base64'))) {
    const dh = bigintDh(g, secret ?? randomBytes(EXPONENT_BYTES));
    return { dh, pub: secret ? undefined : dh.generateKeys() };
  }
  const dh = dhFor(g);
  dh.setPrivateKey(secret ?? randomBytes(EXPONENT_BYTES));
  const pub = secret ? undefined : dh.generateKeys();
  return { dh, pub };
}

function shared(dh: DhLike, g: DhGroup, y: bigint): Uint8Array {
  const k = dh.computeSecret(bigintToBytes(y, g.p.length));
  return encodeMpint(k);
}

/** `fixed` is the method's group (groupN methods); undefined for group exchange, where the request carries it. */
export function modpDhKex(fixed?: DhGroup): KexPrimitive {
  return {
    generate(group) {
      const g = needGroup(group, fixed);
      const secret = randomBytes(EXPONENT_BYTES);
      const { dh } = keyPair(g, secret);
      const pub = dh.generateKeys();
      return { publicWire: encodeMpint(pub), secret: new Uint8Array(secret) };
    },
    agree(secret, peerPublicWire, group) {
      const g = needGroup(group, fixed);
      const f = unwrapMpint(peerPublicWire, 'server DH public value f');
      checkPeer(g, f, 'server');
      const { dh } = keyPair(g, secret);
      return shared(dh, g, f);
    },
    respond(peerPublicWire, group) {
      const g = needGroup(group, fixed);
      const e = unwrapMpint(peerPublicWire, 'client DH public value e');
      checkPeer(g, e, 'client');
      const { dh, pub } = keyPair(g);
      return { publicWire: encodeMpint(pub!), sharedWire: shared(dh, g, e) };
    },
  };
}
