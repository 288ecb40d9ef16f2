/**
 * Public key text formats: the OpenSSH one-line form ("type base64
 * [comment]", as in authorized_keys and *.pub), RFC 4716 "SSH2 PUBLIC KEY"
 * blocks (headers with "\" continuation lines, base64 body), and the X.509
 * SubjectPublicKeyInfo ("PUBLIC KEY") and PKCS#1 ("RSA PUBLIC KEY") PEM/DER
 * forms, plus a bare SSH public key blob.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { KeyImportError } from '../../protocol/errors.js';
import { fromUtf8 } from '../../protocol/wire.js';
import { keyTypeOf, parsePublicBlob } from './key-blob.js';
import { pemBlocks } from './pem-private-format.js';

export interface DecodedPublicKey {
  readonly key: KeyObject;
  readonly comment: string;
}

const RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const RFC4716_END = '---- END SSH2 PUBLIC KEY ----';

function blobKey(blob: Uint8Array, claimedType?: string): KeyObject {
  const parsed = parsePublicBlob(blob);
  if (claimedType !== undefined && parsed.keyType !== claimedType) throw new KeyImportError(`public key line says ${claimedType} but its blob is ${parsed.keyType}`);
  return parsed.key;
}

function decodeLine(line: string): DecodedPublicKey {
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line);
  if (!m) throw new KeyImportError('not an OpenSSH public key line ("type base64 [comment]")');
  return { key: blobKey(new Uint8Array(Buffer.from(m[2]!, 'base64')), m[1]), comment: m[3]?.trim() ?? '' };
}

/** RFC 4716 §3: header lines "Tag: value" (a trailing "\" continues the line), then base64. */
function decodeRfc4716(body: string): DecodedPublicKey {
  const lines = body.split(/\r?\n/);
  let comment = '';
  let i = 0;
  const b64: string[] = [];
  for (; i < lines.length; i++) {
    let line = lines[i]!;
    if (!line.includes(':')) break;
    while (line.endsWith('\\')) {
      if (++i >= lines.length) throw new KeyImportError('RFC 4716 header continues past the end of the key');
      line = line.slice(0, -1) + lines[i]!;
    }
    const h = /^([^:\s]{1,64}):\s?(.*)$/.exec(line);
    if (!h) throw new KeyImportError('RFC 4716 header line is malformed');
    if (h[1]!.toLowerCase() === 'comment') comment = h[2]!.replace(/^"(.*)"$/, '$1');
  }
  for (; i < lines.length; i++) b64.push(lines[i]!.trim());
  const text = b64.join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new KeyImportError('RFC 4716 key body is not base64');
  return { key: blobKey(new Uint8Array(Buffer.from(text, 'base64'))), comment };
}

function spkiOrPkcs1(der: Uint8Array, label: 'spki' | 'pkcs1'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: label });
  } catch (err) {
    throw new KeyImportError(`${label === 'spki' ? 'SubjectPublicKeyInfo' : 'PKCS#1'} public key is malformed: ${err instanceof Error ? err.message : String(err)}`);
  }
  keyTypeOf(key);
  return key;
}

/** Every public key in `input`: OpenSSH lines (blank and # lines skipped), RFC 4716 blocks, PEM blocks, or one DER/blob. */
export function decodePublicKeys(input: string | Uint8Array): DecodedPublicKey[] {
  if (input instanceof Uint8Array && input.length > 0 && (input[0] === 0 || input[0] === 0x30)) {
    // A bare SSH blob starts with a uint32 length (first byte 0); DER with SEQUENCE (0x30).
    return [input[0] === 0 ? { key: blobKey(input), comment: '' } : { key: spkiOrPkcs1(input, 'spki'), comment: '' }];
  }
  let text: string;
  try {
    text = typeof input === 'string' ? input : fromUtf8(input);
  } catch {
    throw new KeyImportError('public key file is not UTF-8 text');
  }
  const out: DecodedPublicKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === RFC4716_BEGIN) {
      const end = lines.findIndex((l, j) => j > i && l.trim() === RFC4716_END);
      if (end < 0) throw new KeyImportError('RFC 4716 public key has no END line (truncated?)');
      out.push(decodeRfc4716(lines.slice(i + 1, end).join('\n')));
      i = end;
    } else if (line.startsWith('-----BEGIN ')) {
      const endIdx = lines.findIndex((l, j) => j > i && l.trim().startsWith('-----END '));
      if (endIdx < 0) throw new KeyImportError('PEM public key has no END line (truncated?)');
      for (const b of pemBlocks(lines.slice(i, endIdx + 1).join('\n'))) {
        if (b.label === 'PUBLIC KEY') out.push({ key: spkiOrPkcs1(b.body, 'spki'), comment: '' });
        else if (b.label === 'RSA PUBLIC KEY') out.push({ key: spkiOrPkcs1(b.body, 'pkcs1'), comment: '' });
        else throw new KeyImportError(`PEM ${JSON.stringify(b.label)} is not a public key`);
      }
      i = endIdx;
    } else {
      out.push(decodeLine(line));
    }
  }
  if (out.length === 0) throw new KeyImportError('no public key found');
  return out;
}

/** RFC 4716 text: Comment header (quoted, wrapped with "\" under 72 bytes a line), base64 in 70-character lines. */
export function formatRfc4716(blob: Uint8Array, comment: string): string {
  const out = [RFC4716_BEGIN];
  if (comment !== '') {
    let header = `Comment: "${comment.replace(/[\r\n]/g, ' ')}"`;
    while (header.length > 70) {
      out.push(header.slice(0, 69) + '\\');
      header = header.slice(69);
    }
    out.push(header);
  }
  out.push(...(Buffer.from(blob).toString('base64').match(/.{1,70}/g) ?? []), RFC4716_END);
  return out.join('\n') + '\n';
}

export { blobKey as publicKeyFromBlob };
