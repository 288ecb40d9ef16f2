/**
 * AsyncSSH's match_known_hosts: the keys a known_hosts list holds for a host,
 * split into plain host keys, @cert-authority keys and @revoked keys. The
 * lookup is the one connect() does (host name, optional address, and
 * "[host]:port" for a port other than 22). And the reverse: key lists given
 * as the `knownHosts` option, as AsyncSSH's (trusted, ca, revoked) tuple.
 */
import { matchKnownHosts as matchEntries, type KnownHosts } from '../protocol/known-hosts.js';
import { importPublicKey, SSHKey } from '../crypto/keys/ssh-key.js';
import { parseKnownHosts } from './host-key-check.js';

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

/** AsyncSSH's known_hosts tuple as an object: keys trusted for the host being connected to. */
export interface TrustedHostKeys {
  /** Host keys accepted as they are. */
  hostKeys?: readonly SSHKey[];
  /** CAs whose host certificates are accepted (checked as for @cert-authority: principals, validity). */
  caKeys?: readonly SSHKey[];
  /** Keys refused even when listed or certified (as @revoked). */
  revokedKeys?: readonly SSHKey[];
}

export function isTrustedHostKeys(v: unknown): v is TrustedHostKeys {
  return typeof v === 'object' && v !== null && !('entries' in v) && ('hostKeys' in v || 'caKeys' in v || 'revokedKeys' in v);
}

/**
 * The lists as known_hosts entries for every host ("*"), so that the usual
 * check applies to them: revoked first, certificates through their CA.
 */
export function knownHostsFromKeys(trusted: TrustedHostKeys): KnownHosts {
  const lines: string[] = [];
  const add = (name: string, list: readonly SSHKey[] | undefined, marker: string): void => {
    if (list === undefined) return;
    if (!Array.isArray(list) || list.some((k) => !(k instanceof SSHKey))) throw new TypeError(`knownHosts.${name}: expected a list of SSHKey`);
    for (const k of list) lines.push(`${marker}* ${k.exportPublicKey().split(' ').slice(0, 2).join(' ')}`);
  };
  add('hostKeys', trusted.hostKeys, '');
  add('caKeys', trusted.caKeys, '@cert-authority ');
  add('revokedKeys', trusted.revokedKeys, '@revoked ');
  return parseKnownHosts(lines.join('\n') + '\n');
}
