/**
 * AsyncSSH's match_known_hosts: the keys a known_hosts list holds for a host,
 * split into plain host keys, @cert-authority keys and @revoked keys. The
 * lookup is the one connect() does (host name, optional address, and
 * "[host]:port" for a port other than 22).
 */
import { matchKnownHosts as matchEntries, type KnownHosts } from '../protocol/known-hosts.js';
import { importPublicKey, type SSHKey } from '../crypto/keys/ssh-key.js';

export interface KnownHostsKeys {
  hostKeys: SSHKey[];
  caKeys: SSHKey[];
  revokedKeys: SSHKey[];
}

function keysOf(blobs: readonly Uint8Array[]): SSHKey[] {
  const out: SSHKey[] = [];
  for (const blob of blobs) {
    try {
      out.push(importPublicKey(blob));
    } catch {
      // a key type this library cannot load (e.g. sk-*): it cannot match a presented key either
    }
  }
  return out;
}

/**
 * Unlike AsyncSSH, a non-22 port is not retried without the port: as ssh(1),
 * an entry for "host" does not vouch for "[host]:2222".
 */
export function matchKnownHosts(knownHosts: KnownHosts, host: string, addr: string | null = null, port = 22): KnownHostsKeys {
  if (typeof knownHosts !== 'object' || knownHosts === null || !Array.isArray(knownHosts.entries)) {
    throw new TypeError('knownHosts: expected parsed known hosts (parseKnownHosts or readKnownHosts)');
  }
  if (typeof host !== 'string' || host === '') throw new TypeError('host: expected a host name or address');
  if (addr !== null && typeof addr !== 'string') throw new TypeError('addr: expected an address or null');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError('port: expected 1..65535');
  const m = matchEntries(knownHosts, host, addr, port);
  return { hostKeys: keysOf(m.trusted), caKeys: keysOf(m.caKeys), revokedKeys: keysOf(m.revoked) };
}
