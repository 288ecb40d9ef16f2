/**
 * Connection-protocol message codecs (RFC 4254, messages 80-100), one
 * tagged union mirroring the RFC layouts. Decoded byte fields are views into
 * the payload.
 */
import { Msg } from './messages.js';
import { ProtocolError } from './errors.js';
import { Reader, Writer } from './wire.js';

const MAX_NAME = 1024;
const MAX_TEXT = 65536;

export type ConnectionMessage =
  | { msg: 'globalRequest'; name: string; wantReply: boolean; data: Uint8Array }
  | { msg: 'requestSuccess'; data: Uint8Array }
  | { msg: 'requestFailure' }
  | { msg: 'channelOpen'; channelType: string; sender: number; window: number; maxPacket: number; typeData: Uint8Array }
  | { msg: 'channelOpenConfirmation'; recipient: number; sender: number; window: number; maxPacket: number; typeData: Uint8Array }
  | { msg: 'channelOpenFailure'; recipient: number; reason: number; description: string; lang: string }
  | { msg: 'channelWindowAdjust'; recipient: number; bytes: number }
  | { msg: 'channelData'; recipient: number; data: Uint8Array }
  | { msg: 'channelExtendedData'; recipient: number; dataType: number; data: Uint8Array }
  | { msg: 'channelEof'; recipient: number }
  | { msg: 'channelClose'; recipient: number }
  | { msg: 'channelRequest'; recipient: number; requestType: string; wantReply: boolean; data: Uint8Array }
  | { msg: 'channelSuccess'; recipient: number }
  | { msg: 'channelFailure'; recipient: number };

export function encodeConnectionMessage(m: ConnectionMessage): Uint8Array {
  switch (m.msg) {
    case 'globalRequest':
      return new Writer(32 + m.data.length).byte(Msg.GLOBAL_REQUEST).string(m.name).boolean(m.wantReply).raw(m.data).toBytes();
    case 'requestSuccess':
      return new Writer(8 + m.data.length).byte(Msg.REQUEST_SUCCESS).raw(m.data).toBytes();
    case 'requestFailure':
      return Uint8Array.of(Msg.REQUEST_FAILURE);
    case 'channelOpen':
      return new Writer(32 + m.typeData.length)
        .byte(Msg.CHANNEL_OPEN)
        .string(m.channelType)
        .uint32(m.sender)
        .uint32(m.window)
        .uint32(m.maxPacket)
        .raw(m.typeData)
        .toBytes();
    case 'channelOpenConfirmation':
      return new Writer(24 + m.typeData.length)
        .byte(Msg.CHANNEL_OPEN_CONFIRMATION)
        .uint32(m.recipient)
        .uint32(m.sender)
        .uint32(m.window)
        .uint32(m.maxPacket)
        .raw(m.typeData)
        .toBytes();
    case 'channelOpenFailure':
      return new Writer(32)
        .byte(Msg.CHANNEL_OPEN_FAILURE)
        .uint32(m.recipient)
        .uint32(m.reason)
        .string(m.description)
        .string(m.lang)
        .toBytes();
    case 'channelWindowAdjust':
      return new Writer(16).byte(Msg.CHANNEL_WINDOW_ADJUST).uint32(m.recipient).uint32(m.bytes).toBytes();
    case 'channelData':
      return new Writer(16 + m.data.length).byte(Msg.CHANNEL_DATA).uint32(m.recipient).string(m.data).toBytes();
    case 'channelExtendedData':
      return new Writer(16 + m.data.length)
        .byte(Msg.CHANNEL_EXTENDED_DATA)
        .uint32(m.recipient)
        .uint32(m.dataType)
        .string(m.data)
        .toBytes();
    case 'channelEof':
      return new Writer(8).byte(Msg.CHANNEL_EOF).uint32(m.recipient).toBytes();
    case 'channelClose':
      return new Writer(8).byte(Msg.CHANNEL_CLOSE).uint32(m.recipient).toBytes();
    case 'channelRequest':
      return new Writer(32 + m.data.length)
        .byte(Msg.CHANNEL_REQUEST)
        .uint32(m.recipient)
        .string(m.requestType)
        .boolean(m.wantReply)
        .raw(m.data)
        .toBytes();
    case 'channelSuccess':
      return new Writer(8).byte(Msg.CHANNEL_SUCCESS).uint32(m.recipient).toBytes();
    case 'channelFailure':
      return new Writer(8).byte(Msg.CHANNEL_FAILURE).uint32(m.recipient).toBytes();
  }
}

/** Decodes messages 80-100; throws ProtocolError on anything malformed. */
export function decodeConnectionMessage(payload: Uint8Array): ConnectionMessage {
  const r = new Reader(payload, `connection message ${payload[0] ?? '(empty)'}`);
  const num = r.byte('message number');
  let m: ConnectionMessage;
  switch (num) {
    case Msg.GLOBAL_REQUEST:
      m = { msg: 'globalRequest', name: r.utf8('request name', MAX_NAME), wantReply: r.boolean('want reply'), data: r.rest() };
      break;
    case Msg.REQUEST_SUCCESS:
      m = { msg: 'requestSuccess', data: r.rest() };
      break;
    case Msg.REQUEST_FAILURE:
      m = { msg: 'requestFailure' };
      break;
    case Msg.CHANNEL_OPEN:
      m = {
        msg: 'channelOpen',
        channelType: r.utf8('channel type', MAX_NAME),
        sender: r.uint32('sender channel'),
        window: r.uint32('initial window size'),
        maxPacket: r.uint32('maximum packet size'),
        typeData: r.rest(),
      };
      break;
    case Msg.CHANNEL_OPEN_CONFIRMATION:
      m = {
        msg: 'channelOpenConfirmation',
        recipient: r.uint32('recipient channel'),
        sender: r.uint32('sender channel'),
        window: r.uint32('initial window size'),
        maxPacket: r.uint32('maximum packet size'),
        typeData: r.rest(),
      };
      break;
    case Msg.CHANNEL_OPEN_FAILURE:
      m = {
        msg: 'channelOpenFailure',
        recipient: r.uint32('recipient channel'),
        reason: r.uint32('reason code'),
        description: r.utf8('description', MAX_TEXT),
        lang: r.utf8('language tag', MAX_NAME),
      };
      break;
    case Msg.CHANNEL_WINDOW_ADJUST:
      m = { msg: 'channelWindowAdjust', recipient: r.uint32('recipient channel'), bytes: r.uint32('bytes to add') };
      break;
    case Msg.CHANNEL_DATA:
      m = { msg: 'channelData', recipient: r.uint32('recipient channel'), data: r.string('data') };
      break;
    case Msg.CHANNEL_EXTENDED_DATA:
      m = {
        msg: 'channelExtendedData',
        recipient: r.uint32('recipient channel'),
        dataType: r.uint32('data type code'),
        data: r.string('data'),
      };
      break;
    case Msg.CHANNEL_EOF:
      m = { msg: 'channelEof', recipient: r.uint32('recipient channel') };
      break;
    case Msg.CHANNEL_CLOSE:
      m = { msg: 'channelClose', recipient: r.uint32('recipient channel') };
      break;
    case Msg.CHANNEL_REQUEST:
      m = {
        msg: 'channelRequest',
        recipient: r.uint32('recipient channel'),
        requestType: r.utf8('request type', MAX_NAME),
        wantReply: r.boolean('want reply'),
        data: r.rest(),
      };
      break;
    case Msg.CHANNEL_SUCCESS:
      m = { msg: 'channelSuccess', recipient: r.uint32('recipient channel') };
      break;
    case Msg.CHANNEL_FAILURE:
      m = { msg: 'channelFailure', recipient: r.uint32('recipient channel') };
      break;
    default:
      throw new ProtocolError(`message ${num} is not a connection-protocol message`);
  }
  r.end();
  return m;
}
