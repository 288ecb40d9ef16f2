/**
 * User-authentication message codecs (RFC 4252, RFC 4256), shared by the
 * client and the server. Messages 60-79 collide across methods: the caller
 * picks the decoder for the method in progress.
 */
import { Msg } from './messages.js';
import { ProtocolError } from './errors.js';
import { Reader, Writer, concatBytes, encodeString } from './wire.js';

/** Caps on peer-declared lengths (well above anything real). */
const MAX_NAME = 1024;
const MAX_TEXT = 65536;
const MAX_KEY_BLOB = 16384;
const MAX_SIGNATURE = 16384;
/** OpenSSH accepts at most 100 keyboard-interactive prompts/responses. */
export const MAX_KBDINT_PROMPTS = 100;

export type AuthMethodName = 'none' | 'password' | 'publickey' | 'keyboard-interactive';

/** The method-specific part of SSH_MSG_USERAUTH_REQUEST. */
export type AuthMethodFields =
  | { kind: 'none' }
  | { kind: 'password'; password: string }
  | { kind: 'passwordChange'; oldPassword: string; newPassword: string }
  /** `signature` is the full blob string(algorithm) || string(sig); absent for a query. */
  | { kind: 'publickey'; algorithm: string; publicBlob: Uint8Array; signature?: Uint8Array }
  | { kind: 'keyboard-interactive'; lang: string; submethods: string }
  /** A method we do not implement (hostbased, gssapi-*, ...): only its name is kept. */
  | { kind: 'other'; method: string };

export interface UserauthRequest {
  username: string;
  service: string;
  fields: AuthMethodFields;
}

export function methodName(f: AuthMethodFields): string {
  switch (f.kind) {
    case 'passwordChange':
      return 'password';
    case 'other':
      return f.method;
    default:
      return f.kind;
  }
}

export function encodeServiceRequest(name: string): Uint8Array {
  return new Writer(32).byte(Msg.SERVICE_REQUEST).string(name).toBytes();
}

export function encodeServiceAccept(name: string): Uint8Array {
  return new Writer(32).byte(Msg.SERVICE_ACCEPT).string(name).toBytes();
}

/** SERVICE_REQUEST and SERVICE_ACCEPT share one layout. */
export function decodeServiceMessage(payload: Uint8Array, msg: number): string {
  const r = new Reader(payload, msg === Msg.SERVICE_REQUEST ? 'SERVICE_REQUEST' : 'SERVICE_ACCEPT');
  if (r.byte('message number') !== msg) throw new ProtocolError('unexpected message number');
  const name = r.utf8('service name', MAX_NAME);
  r.end();
  return name;
}

function writeRequestHead(w: Writer, username: string, service: string, method: string): Writer {
  return w.byte(Msg.USERAUTH_REQUEST).string(username).string(service).string(method);
}

export function encodeUserauthRequest(req: UserauthRequest): Uint8Array {
  const f = req.fields;
  const w = writeRequestHead(new Writer(128), req.username, req.service, methodName(f));
  switch (f.kind) {
    case 'none':
    case 'other':
      break;
    case 'password':
      w.boolean(false).string(f.password);
      break;
    case 'passwordChange':
      w.boolean(true).string(f.oldPassword).string(f.newPassword);
      break;
    case 'publickey':
      w.boolean(f.signature !== undefined).string(f.algorithm).string(f.publicBlob);
      if (f.signature !== undefined) w.string(f.signature);
      break;
    case 'keyboard-interactive':
      w.string(f.lang).string(f.submethods);
      break;
  }
  return w.toBytes();
}

/**
 * The bytes a publickey signature covers (RFC 4252 §7): string(session id)
 * followed by the request as sent, with the has-signature flag TRUE and
 * without the signature itself.
 */
export function publicKeySignedData(
  sessionId: Uint8Array,
  username: string,
  service: string,
  algorithm: string,
  publicBlob: Uint8Array,
): Uint8Array {
  const w = writeRequestHead(new Writer(256), username, service, 'publickey');
  w.boolean(true).string(algorithm).string(publicBlob);
  return concatBytes(encodeString(sessionId), w.view());
}

export function decodeUserauthRequest(payload: Uint8Array): UserauthRequest {
  const r = new Reader(payload, 'USERAUTH_REQUEST');
  if (r.byte('message number') !== Msg.USERAUTH_REQUEST) throw new ProtocolError('not a USERAUTH_REQUEST');
  const username = r.utf8('user name', MAX_NAME);
  const service = r.utf8('service name', MAX_NAME);
  const method = r.utf8('method name', MAX_NAME);
  let fields: AuthMethodFields;
  switch (method) {
    case 'none':
      fields = { kind: 'none' };
      break;
    case 'password': {
      const change = r.boolean('change flag');
      const first = r.utf8('password', MAX_TEXT);
      fields = change
        ? { kind: 'passwordChange', oldPassword: first, newPassword: r.utf8('new password', MAX_TEXT) }
        : { kind: 'password', password: first };
      break;
    }
    case 'publickey': {
      const signed = r.boolean('has-signature flag');
      const algorithm = r.utf8('public key algorithm', MAX_NAME);
      const publicBlob = r.string('public key blob', MAX_KEY_BLOB);
      fields = signed
        ? { kind: 'publickey', algorithm, publicBlob, signature: r.string('signature', MAX_SIGNATURE) }
        : { kind: 'publickey', algorithm, publicBlob };
      break;
    }
    case 'keyboard-interactive':
      fields = { kind: 'keyboard-interactive', lang: r.utf8('language tag', MAX_NAME), submethods: r.utf8('submethods', MAX_TEXT) };
      break;
    default:
      // Unknown methods carry fields we cannot parse; the server answers FAILURE.
      r.rest();
      fields = { kind: 'other', method };
  }
  r.end();
  return { username, service, fields };
}

export interface UserauthFailure {
  methods: string[];
  partialSuccess: boolean;
}

export function encodeUserauthFailure(m: UserauthFailure): Uint8Array {
  return new Writer(64).byte(Msg.USERAUTH_FAILURE).nameList(m.methods).boolean(m.partialSuccess).toBytes();
}

export function decodeUserauthFailure(payload: Uint8Array): UserauthFailure {
  const r = new Reader(payload, 'USERAUTH_FAILURE');
  r.byte('message number');
  const methods = r.nameList('authentications that can continue', MAX_TEXT);
  const partialSuccess = r.boolean('partial success');
  r.end();
  return { methods, partialSuccess };
}

export function encodeUserauthSuccess(): Uint8Array {
  return Uint8Array.of(Msg.USERAUTH_SUCCESS);
}

export function decodeEmpty(payload: Uint8Array, what: string): void {
  const r = new Reader(payload, what);
  r.byte('message number');
  r.end();
}

export interface UserauthBanner {
  message: string;
  lang: string;
}

export function encodeUserauthBanner(m: UserauthBanner): Uint8Array {
  return new Writer(64 + m.message.length * 3).byte(Msg.USERAUTH_BANNER).string(m.message).string(m.lang).toBytes();
}

export function decodeUserauthBanner(payload: Uint8Array): UserauthBanner {
  const r = new Reader(payload, 'USERAUTH_BANNER');
  r.byte('message number');
  const message = r.utf8('message', MAX_TEXT);
  const lang = r.utf8('language tag', MAX_NAME);
  r.end();
  return { message, lang };
}

export interface UserauthPkOk {
  algorithm: string;
  publicBlob: Uint8Array;
}

export function encodePkOk(m: UserauthPkOk): Uint8Array {
  return new Writer(64 + m.publicBlob.length).byte(Msg.USERAUTH_PK_OK).string(m.algorithm).string(m.publicBlob).toBytes();
}

export function decodePkOk(payload: Uint8Array): UserauthPkOk {
  const r = new Reader(payload, 'USERAUTH_PK_OK');
  r.byte('message number');
  const algorithm = r.utf8('public key algorithm', MAX_NAME);
  const publicBlob = r.string('public key blob', MAX_KEY_BLOB);
  r.end();
  return { algorithm, publicBlob };
}

export interface PasswdChangeReq {
  prompt: string;
  lang: string;
}

export function encodePasswdChangeReq(m: PasswdChangeReq): Uint8Array {
  return new Writer(64).byte(Msg.USERAUTH_PASSWD_CHANGEREQ).string(m.prompt).string(m.lang).toBytes();
}

export function decodePasswdChangeReq(payload: Uint8Array): PasswdChangeReq {
  const r = new Reader(payload, 'USERAUTH_PASSWD_CHANGEREQ');
  r.byte('message number');
  const prompt = r.utf8('prompt', MAX_TEXT);
  const lang = r.utf8('language tag', MAX_NAME);
  r.end();
  return { prompt, lang };
}

export interface KbdintPrompt {
  prompt: string;
  echo: boolean;
}

export interface InfoRequest {
  name: string;
  instruction: string;
  lang: string;
  prompts: KbdintPrompt[];
}

export function encodeInfoRequest(m: InfoRequest): Uint8Array {
  const w = new Writer(128).byte(Msg.USERAUTH_INFO_REQUEST).string(m.name).string(m.instruction).string(m.lang);
  w.uint32(m.prompts.length);
  for (const p of m.prompts) w.string(p.prompt).boolean(p.echo);
  return w.toBytes();
}

export function decodeInfoRequest(payload: Uint8Array): InfoRequest {
  const r = new Reader(payload, 'USERAUTH_INFO_REQUEST');
  r.byte('message number');
  const name = r.utf8('name', MAX_TEXT);
  const instruction = r.utf8('instruction', MAX_TEXT);
  const lang = r.utf8('language tag', MAX_NAME);
  const count = r.uint32('num-prompts');
  // Each prompt takes at least 5 bytes: check before building the array.
  if (count > MAX_KBDINT_PROMPTS || count * 5 > r.remaining) {
    throw new ProtocolError(`USERAUTH_INFO_REQUEST: bad num-prompts ${count}`);
  }
  const prompts: KbdintPrompt[] = [];
  for (let i = 0; i < count; i++) prompts.push({ prompt: r.utf8('prompt', MAX_TEXT), echo: r.boolean('echo') });
  r.end();
  return { name, instruction, lang, prompts };
}

export function encodeInfoResponse(responses: readonly string[]): Uint8Array {
  const w = new Writer(64).byte(Msg.USERAUTH_INFO_RESPONSE).uint32(responses.length);
  for (const s of responses) w.string(s);
  return w.toBytes();
}

export function decodeInfoResponse(payload: Uint8Array): string[] {
  const r = new Reader(payload, 'USERAUTH_INFO_RESPONSE');
  r.byte('message number');
  const count = r.uint32('num-responses');
  if (count > MAX_KBDINT_PROMPTS || count * 4 > r.remaining) {
    throw new ProtocolError(`USERAUTH_INFO_RESPONSE: bad num-responses ${count}`);
  }
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r.utf8('response', MAX_TEXT));
  r.end();
  return out;
}

/** The key type named at the start of a public key blob (string keytype || ...). */
export function blobKeyType(blob: Uint8Array): string {
  return new Reader(blob, 'public key blob').utf8('key type', MAX_NAME);
}

/** The algorithm named at the start of a signature blob (string alg || string sig). */
export function signatureAlgorithm(signature: Uint8Array): string {
  return new Reader(signature, 'signature blob').utf8('signature algorithm', MAX_NAME);
}
