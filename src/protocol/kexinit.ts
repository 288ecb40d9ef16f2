/** KEXINIT codec and algorithm negotiation (RFC 4253 §7.1). */
import { Msg } from './messages.js';
import { KeyExchangeFailed } from './errors.js';
import { Reader, Writer } from './wire.js';

export interface KexInitLists {
  kex: string[];
  hostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressionCS: string[];
  compressionSC: string[];
  langCS: string[];
  langSC: string[];
}

export interface KexInitMessage extends KexInitLists {
  cookie: Uint8Array;
  firstKexPacketFollows: boolean;
}

export function encodeKexInit(m: KexInitMessage): Uint8Array {
  const w = new Writer(1024).byte(Msg.KEXINIT).raw(m.cookie);
  w.nameList(m.kex).nameList(m.hostKey);
  w.nameList(m.cipherCS).nameList(m.cipherSC);
  w.nameList(m.macCS).nameList(m.macSC);
  w.nameList(m.compressionCS).nameList(m.compressionSC);
  w.nameList(m.langCS).nameList(m.langSC);
  return w.boolean(m.firstKexPacketFollows).uint32(0).toBytes();
}

export function decodeKexInit(payload: Uint8Array): KexInitMessage {
  const r = new Reader(payload, 'KEXINIT');
  r.byte('message number');
  const cookie = r.raw(16, 'cookie');
  const list = (f: string) => r.nameList(f, 16384);
  const m: KexInitMessage = {
    cookie,
    kex: list('kex_algorithms'),
    hostKey: list('server_host_key_algorithms'),
    cipherCS: list('encryption_algorithms_client_to_server'),
    cipherSC: list('encryption_algorithms_server_to_client'),
    macCS: list('mac_algorithms_client_to_server'),
    macSC: list('mac_algorithms_server_to_client'),
    compressionCS: list('compression_algorithms_client_to_server'),
    compressionSC: list('compression_algorithms_server_to_client'),
    langCS: list('languages_client_to_server'),
    langSC: list('languages_server_to_client'),
    firstKexPacketFollows: r.boolean('first_kex_packet_follows'),
  };
  r.uint32('reserved');
  r.end();
  return m;
}

export interface Negotiated {
  kex: string;
  hostKey: string;
  cipherCS: string;
  cipherSC: string;
  macCS: string | null;
  macSC: string | null;
  compressionCS: string;
  compressionSC: string;
}

function pick(what: string, client: string[], server: string[]): string {
  for (const c of client) if (server.includes(c)) return c;
  throw new KeyExchangeFailed(
    `no matching ${what} algorithm (client offered ${client.join(',') || 'none'}; server offered ${server.join(',') || 'none'})`,
  );
}

/** Pseudo-algorithms that are flags, not algorithms. */
export const KEX_MARKERS = new Set([
  'ext-info-c',
  'ext-info-s',
  'kex-strict-c-v00@openssh.com',
  'kex-strict-s-v00@openssh.com',
]);

/**
 * Picks the algorithms: the first client algorithm the server also offers.
 * `isAead(cipher)` tells when the MAC is implied by the cipher.
 */
export function negotiate(client: KexInitLists, server: KexInitLists, isAead: (cipher: string) => boolean): Negotiated {
  const kex = pick(
    'key exchange',
    client.kex.filter((k) => !KEX_MARKERS.has(k)),
    server.kex.filter((k) => !KEX_MARKERS.has(k)),
  );
  const hostKey = pick('host key', client.hostKey, server.hostKey);
  const cipherCS = pick('client-to-server cipher', client.cipherCS, server.cipherCS);
  const cipherSC = pick('server-to-client cipher', client.cipherSC, server.cipherSC);
  const macCS = isAead(cipherCS) ? null : pick('client-to-server MAC', client.macCS, server.macCS);
  const macSC = isAead(cipherSC) ? null : pick('server-to-client MAC', client.macSC, server.macSC);
  const compressionCS = pick('client-to-server compression', client.compressionCS, server.compressionCS);
  const compressionSC = pick('server-to-client compression', client.compressionSC, server.compressionSC);
  return { kex, hostKey, cipherCS, cipherSC, macCS, macSC, compressionCS, compressionSC };
}

/** RFC 4253 §7: a guessed first kex packet is right when both first choices agree. */
export function guessIsRight(client: KexInitLists, server: KexInitLists): boolean {
  const ck = client.kex.filter((k) => !KEX_MARKERS.has(k));
  const sk = server.kex.filter((k) => !KEX_MARKERS.has(k));
  return ck[0] === sk[0] && client.hostKey[0] === server.hostKey[0];
}
