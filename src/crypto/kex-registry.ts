/** The key-agreement primitive behind each kex method name in KEX_ALGORITHMS. */
import type { KexName } from '../protocol/algorithms.js';
import type { KexPrimitive } from './kex-primitive.js';
import { curve25519Kex } from './kex-x25519.js';
import { nistEcdhKex } from './kex-ecdh-nist.js';
import { modpDhKex } from './kex-dh.js';
import { mlkem768x25519Kex } from './kex-mlkem.js';
import { dhGroupFor } from './dh-groups.js';

const curve25519 = curve25519Kex();
const gex = modpDhKex();

const table: Record<KexName, KexPrimitive> = {
  'mlkem768x25519-sha256': mlkem768x25519Kex(),
  'curve25519-sha256': curve25519,
  'curve25519-sha256@libssh.org': curve25519,
  'ecdh-sha2-nistp256': nistEcdhKex('nistp256'),
  'ecdh-sha2-nistp384': nistEcdhKex('nistp384'),
  'ecdh-sha2-nistp521': nistEcdhKex('nistp521'),
  'diffie-hellman-group-exchange-sha256': gex,
  'diffie-hellman-group-exchange-sha1': gex,
  'diffie-hellman-group16-sha512': modpDhKex(dhGroupFor('diffie-hellman-group16-sha512')),
  'diffie-hellman-group18-sha512': modpDhKex(dhGroupFor('diffie-hellman-group18-sha512')),
  'diffie-hellman-group14-sha256': modpDhKex(dhGroupFor('diffie-hellman-group14-sha256')),
  'diffie-hellman-group14-sha1': modpDhKex(dhGroupFor('diffie-hellman-group14-sha1')),
  'diffie-hellman-group1-sha1': modpDhKex(dhGroupFor('diffie-hellman-group1-sha1')),
};

export function kexPrimitive(method: KexName): KexPrimitive {
  const p = table[method];
  if (!p) throw new RangeError(`method: unknown kex method ${JSON.stringify(method)}`);
  return p;
}
