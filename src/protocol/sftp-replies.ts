/**
 * SFTP v3 replies (server -> client), draft-ietf-secsh-filexfer-02 §7, plus
 * VERSION. `decodeReply` takes a packet from SftpDeframer; DATA payloads are
 * returned as views into that packet (no copy).
 */
import { ProtocolError } from './errors.js';
import { decodeAttrs, encodeAttrs, type SFTPAttrs } from './sftp-attrs.js';
import { Fxp, fxStatusMessage } from './sftp-constants.js';
import { finishPacket, packetWriter } from './sftp-framing.js';
import { MAX_HANDLE } from './sftp-requests.js';
import { Reader } from './wire.js';

export interface SFTPName {
  filename: string;
  longname: string;
  attrs: SFTPAttrs;
}

export type SftpReply =
  | { kind: 'version'; version: number; extensions: Array<[string, Uint8Array]> }
  | { kind: 'status'; id: number; code: number; message: string; lang: string }
  | { kind: 'handle'; id: number; handle: Uint8Array }
  | { kind: 'data'; id: number; data: Uint8Array }
  | { kind: 'name'; id: number; names: SFTPName[] }
  | { kind: 'attrs'; id: number; attrs: SFTPAttrs }
  | { kind: 'extendedReply'; id: number; data: Uint8Array };

/** Caps a NAME count: each entry takes at least 12 bytes, checked against the packet too. */
const MAX_NAMES = 65536;

export function encodeReply(rep: SftpReply): Uint8Array {
  switch (rep.kind) {
    case 'version': {
      const w = packetWriter(Fxp.VERSION).uint32(rep.version);
      for (const [name, data] of rep.extensions) w.string(name).string(data);
      return finishPacket(w);
    }
    case 'status':
      return finishPacket(packetWriter(Fxp.STATUS).uint32(rep.id).uint32(rep.code).string(rep.message).string(rep.lang));
    case 'handle':
      return finishPacket(packetWriter(Fxp.HANDLE).uint32(rep.id).string(rep.handle));
    case 'data':
      return finishPacket(packetWriter(Fxp.DATA, rep.data.length + 16).uint32(rep.id).string(rep.data));
    case 'name': {
      const w = packetWriter(Fxp.NAME, 64 * rep.names.length + 16).uint32(rep.id).uint32(rep.names.length);
      for (const n of rep.names) encodeAttrs(w.string(n.filename).string(n.longname), n.attrs);
      return finishPacket(w);
    }
    case 'attrs':
      return finishPacket(encodeAttrs(packetWriter(Fxp.ATTRS).uint32(rep.id), rep.attrs));
    case 'extendedReply':
      return finishPacket(packetWriter(Fxp.EXTENDED_REPLY, rep.data.length + 16).uint32(rep.id).raw(rep.data));
  }
}

export function statusReply(id: number, code: number, message = fxStatusMessage[code] ?? 'Failure'): Uint8Array {
  return encodeReply({ kind: 'status', id, code, message, lang: '' });
}

/** Hot path: the framed header of a DATA reply whose bytes follow it on the wire. */
export function encodeDataHeader(id: number, dataLength: number): Uint8Array {
  const out = new Uint8Array(13);
  const len = 9 + dataLength;
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  out[4] = Fxp.DATA;
  dv.setUint32(5, id);
  dv.setUint32(9, dataLength);
  return out;
}

/**
 * A DATA reply given as the pieces it arrived in (SftpDeframer.nextParts):
 * its id and the data as views of those pieces, never joined; null when the
 * packet is not DATA. Throws ProtocolError when the lengths disagree.
 */
export function decodeDataParts(parts: readonly Uint8Array[]): { id: number; parts: Uint8Array[]; length: number } | null {
  if (parts[0]![0] !== Fxp.DATA) return null;
  let total = 0;
  for (const p of parts) total += p.length;
  if (total < 9) throw new ProtocolError('SFTP DATA reply shorter than its header');
  // The 9 header bytes (type, id, length), copied only when they straddle pieces.
  const head = new Uint8Array(9);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of parts) {
    if (at < 9) {
      const k = Math.min(9 - at, p.length);
      head.set(p.subarray(0, k), at);
      at += k;
      if (k < p.length) out.push(p.subarray(k));
    } else out.push(p);
  }
  const dv = new DataView(head.buffer);
  const len = dv.getUint32(5);
  if (len !== total - 9) throw new ProtocolError(`SFTP DATA length ${len} does not match the packet (${total - 9})`);
  return { id: dv.getUint32(1), parts: out, length: len };
}

/** Decodes a reply packet (type byte first). Throws ProtocolError when malformed. */
export function decodeReply(packet: Uint8Array): SftpReply {
  const type = packet[0];
  // DATA is the bulk path: parse it by hand, returning a view.
  if (type === Fxp.DATA && packet.length >= 9) {
    const dv = new DataView(packet.buffer, packet.byteOffset, packet.length);
    const id = dv.getUint32(1);
    const len = dv.getUint32(5);
    if (len !== packet.length - 9) throw new ProtocolError(`SFTP DATA length ${len} does not match the packet (${packet.length - 9})`);
    return { kind: 'data', id, data: packet.subarray(9) };
  }
  const r = new Reader(packet, 'SFTP reply');
  r.byte('type');
  if (type === Fxp.VERSION) {
    const version = r.uint32('version');
    const extensions: Array<[string, Uint8Array]> = [];
    while (r.remaining > 0) extensions.push([r.utf8('extension name', 1024), r.string('extension data', 65536)]);
    return { kind: 'version', version, extensions };
  }
  const id = r.uint32('id');
  let rep: SftpReply;
  switch (type) {
    case Fxp.STATUS: {
      const code = r.uint32('status code');
      // Some old servers omit message and language tag; tolerate that.
      const message = r.remaining > 0 ? decodeLenient(r.string('message', 65536)) : '';
      const lang = r.remaining > 0 ? decodeLenient(r.string('lang', 256)) : '';
      rep = { kind: 'status', id, code, message, lang };
      break;
    }
    case Fxp.HANDLE: rep = { kind: 'handle', id, handle: r.string('handle', MAX_HANDLE) }; break;
    case Fxp.DATA: rep = { kind: 'data', id, data: r.string('data') }; break;
    case Fxp.NAME: {
      const count = r.uint32('name count');
      if (count > MAX_NAMES || count * 12 > r.remaining) throw new ProtocolError(`SFTP NAME count ${count} too large for the packet`);
      const names: SFTPName[] = [];
      for (let i = 0; i < count; i++) {
        const filename = decodeLenient(r.string('filename', 65536));
        const longname = decodeLenient(r.string('longname', 65536));
        names.push({ filename, longname, attrs: decodeAttrs(r) });
      }
      rep = { kind: 'name', id, names };
      break;
    }
    case Fxp.ATTRS: rep = { kind: 'attrs', id, attrs: decodeAttrs(r) }; break;
    case Fxp.EXTENDED_REPLY: return { kind: 'extendedReply', id, data: r.rest() };
    default:
      throw new ProtocolError(`unknown SFTP reply type ${type}`);
  }
  r.end();
  return rep;
}

const lenient = new TextDecoder('utf-8');
/** Names from a server are shown, not trusted: undecodable bytes become U+FFFD (and fail the local name checks). */
function decodeLenient(b: Uint8Array): string {
  return lenient.decode(b);
}
