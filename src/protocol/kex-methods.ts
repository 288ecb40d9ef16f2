/** Per-method facts for key exchange: hash and message style. */
import type { KexName } from './algorithms.js';
import type { KexInfo } from './crypto-api.js';

const table: Record<KexName, KexInfo> = {
  'mlkem768x25519-sha256': { name: 'mlkem768x25519-sha256', hash: 'sha256', style: 'ecdh' },
  'curve25519-sha256': { name: 'curve25519-sha256', hash: 'sha256', style: 'ecdh' },
  'curve25519-sha256@libssh.org': { name: 'curve25519-sha256@libssh.org', hash: 'sha256', style: 'ecdh' },
  'ecdh-sha2-nistp256': { name: 'ecdh-sha2-nistp256', hash: 'sha256', style: 'ecdh' },
  'ecdh-sha2-nistp384': { name: 'ecdh-sha2-nistp384', hash: 'sha384', style: 'ecdh' },
  'ecdh-sha2-nistp521': { name: 'ecdh-sha2-nistp521', hash: 'sha512', style: 'ecdh' },
  'diffie-hellman-group-exchange-sha256': { name: 'diffie-hellman-group-exchange-sha256', hash: 'sha256', style: 'gex' },
  'diffie-hellman-group16-sha512': { name: 'diffie-hellman-group16-sha512', hash: 'sha512', style: 'dh' },
  'diffie-hellman-group18-sha512': { name: 'diffie-hellman-group18-sha512', hash: 'sha512', style: 'dh' },
  'diffie-hellman-group14-sha256': { name: 'diffie-hellman-group14-sha256', hash: 'sha256', style: 'dh' },
  'diffie-hellman-group14-sha1': { name: 'diffie-hellman-group14-sha1', hash: 'sha1', style: 'dh' },
  'diffie-hellman-group1-sha1': { name: 'diffie-hellman-group1-sha1', hash: 'sha1', style: 'dh' },
  'diffie-hellman-group-exchange-sha1': { name: 'diffie-hellman-group-exchange-sha1', hash: 'sha1', style: 'gex' },
};

export function kexInfo(name: KexName): KexInfo {
  return table[name];
}
