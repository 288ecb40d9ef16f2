/**
 * The ssh-agent codec (src/protocol/agent-messages.ts). Byte layouts are those
 * of draft-miller-ssh-agent (sections 3-4: uint32 length framing, message
 * numbers 5/6/11-19/25, SIGN_REQUEST flags 2 and 4, constraint 1 = lifetime,
 * 2 = confirm). Malformed replies and framing errors are refused with
 * AgentError, never a crash; framing survives any chunking (fast-check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AGENT_MAX_MESSAGE,
  AgentError,
  AgentFramer,
  decodeAgentRequest,
  decodeIdentitiesAnswer,
  decodeSignResponse,
  decodeStatus,
  encodeAddIdentity,
  encodeRemoveAllIdentities,
  encodeRemoveIdentity,
  encodeRequestIdentities,
  encodeSignRequest,
  frameAgentMessage,
  signFlagsFor,
} from '../../src/protocol/agent-messages.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const te = new TextEncoder();

test('encoders: byte layouts of draft-miller-ssh-agent', () => {
  const table: [string, Uint8Array, string][] = [
    ['REQUEST_IDENTITIES', encodeRequestIdentities(), '0b'],
    ['REMOVE_ALL_IDENTITIES', encodeRemoveAllIdentities(), '13'],
    ['REMOVE_IDENTITY', encodeRemoveIdentity(te.encode('abc')), '12 00000003 616263'],
    ['SIGN_REQUEST sha2-512', encodeSignRequest(te.encode('abc'), te.encode('xy'), 4), '0d 00000003 616263 00000002 7879 00000004'],
    ['SIGN_REQUEST no flags', encodeSignRequest(te.encode('k'), new Uint8Array(0)), '0d 00000001 6b 00000000 00000000'],
    ['ADD_IDENTITY', encodeAddIdentity('ssh-ed25519', bytes('aabb'), 'c'), '11 0000000b 7373682d65643235353139 aabb 00000001 63'],
    ['ADD_ID_CONSTRAINED lifetime+confirm', encodeAddIdentity('t', bytes('ff'), '', { lifetime: 60, confirm: true }), '19 00000001 74 ff 00000000 01 0000003c 02'],
    ['frame', frameAgentMessage(bytes('0b')), '00000001 0b'],
  ];
  for (const [name, got, want] of table) assert.equal(hex(got), want.replace(/\s+/g, ''), name);
});

test('signFlagsFor: rsa-sha2-256 -> 2, rsa-sha2-512 -> 4, others 0', () => {
  assert.equal(signFlagsFor('rsa-sha2-256'), 2);
  assert.equal(signFlagsFor('rsa-sha2-512'), 4);
  assert.equal(signFlagsFor('ssh-rsa'), 0);
  assert.equal(signFlagsFor('ssh-ed25519'), 0);
});

test('decoders: well-formed replies', () => {
  assert.deepEqual(decodeIdentitiesAnswer(bytes('0c 00000002 00000003 616263 00000001 63 00000001 78 00000000')), [
    { publicBlob: te.encode('abc'), comment: 'c' },
    { publicBlob: te.encode('x'), comment: '' },
  ]);
  assert.deepEqual(decodeIdentitiesAnswer(bytes('0c 00000000')), []);
  const sig = bytes('00000003 616263 00000002 0102');
  assert.deepEqual(decodeSignResponse(bytes('0e 0000000d' + hex(sig))), sig);
  decodeStatus(bytes('06'), 'x');
  assert.deepEqual(decodeAgentRequest(bytes('0d 00000001 6b 00000001 78 00000002')), {
    type: 'sign', publicBlob: te.encode('k'), data: te.encode('x'), flags: 2,
  });
  assert.deepEqual(decodeAgentRequest(bytes('1b 0000')), { type: 'other', msg: 27 });
});

test('decoders: malformed or refused replies throw AgentError with a code', () => {
  const table: [string, () => unknown, string][] = [
    ['FAILURE to list', () => decodeIdentitiesAnswer(bytes('05')), 'ERR_SSH_AGENT_REFUSED'],
    ['EXTENSION_FAILURE', () => decodeStatus(bytes('1c'), 'x'), 'ERR_SSH_AGENT_REFUSED'],
    ['FAILURE to sign', () => decodeSignResponse(bytes('05')), 'ERR_SSH_AGENT_REFUSED'],
    ['FAILURE to add', () => decodeStatus(bytes('05'), 'adding'), 'ERR_SSH_AGENT_REFUSED'],
    ['wrong reply type', () => decodeIdentitiesAnswer(bytes('0e 00000000')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['empty reply', () => decodeStatus(new Uint8Array(0), 'x'), 'ERR_SSH_AGENT_PROTOCOL'],
    ['count larger than the message', () => decodeIdentitiesAnswer(bytes('0c 00000002 00000001 61 00000000')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['count 2^32-1', () => decodeIdentitiesAnswer(bytes('0c ffffffff')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['blob length past the end', () => decodeIdentitiesAnswer(bytes('0c 00000001 000000ff 61 00000000')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['empty key blob', () => decodeIdentitiesAnswer(bytes('0c 00000001 00000000 00000000')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['trailing bytes', () => decodeIdentitiesAnswer(bytes('0c 00000000 00')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['SUCCESS with trailing bytes', () => decodeStatus(bytes('06 00'), 'x'), 'ERR_SSH_AGENT_PROTOCOL'],
    ['signature not string||string', () => decodeSignResponse(bytes('0e 00000002 0000')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['signature blob with trailing bytes', () => decodeSignResponse(bytes('0e 0000000a 00000001 61 00000000 ff')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['truncated sign request', () => decodeAgentRequest(bytes('0d 00000005 61')), 'ERR_SSH_AGENT_PROTOCOL'],
    ['empty request', () => decodeAgentRequest(new Uint8Array(0)), 'ERR_SSH_AGENT_PROTOCOL'],
  ];
  for (const [name, fn, code] of table) {
    assert.throws(fn, (e: unknown) => e instanceof AgentError && e.code === code, name);
  }
});

test('framing: lengths of 0 or over the 256 KiB cap are refused; under it wait for the rest', () => {
  assert.throws(() => new AgentFramer().push(bytes('00000000')), AgentError);
  const over = new Uint8Array(4);
  new DataView(over.buffer).setUint32(0, AGENT_MAX_MESSAGE + 1);
  assert.throws(() => new AgentFramer().push(over), AgentError);
  assert.throws(() => new AgentFramer().push(bytes('ffffffff')), AgentError);
  const f = new AgentFramer();
  assert.deepEqual(f.push(bytes('00000003 0b')), []);
  assert.equal(f.pending, 5);
  assert.deepEqual(f.push(bytes('0c0d')), [bytes('0b0c0d')]);
  assert.equal(f.pending, 0);
  assert.throws(() => frameAgentMessage(new Uint8Array(AGENT_MAX_MESSAGE + 1)), RangeError);
  assert.throws(() => frameAgentMessage(new Uint8Array(0)), RangeError);
  assert.throws(() => encodeAddIdentity('t', new Uint8Array(1), '', { lifetime: 0 }), RangeError);
  assert.throws(() => encodeSignRequest(new Uint8Array(1), new Uint8Array(1), -1), RangeError);
});

test('framing: the same messages come out however the stream is chunked (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (messages, cuts) => {
        const stream = Buffer.concat(messages.map(frameAgentMessage));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const f = new AgentFramer();
        const out: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          out.push(...f.push(new Uint8Array(stream.subarray(prev, p))));
          prev = p;
        }
        assert.deepEqual(out, messages.map((m) => new Uint8Array(m)));
        assert.equal(f.pending, 0);
      },
    ),
    { numRuns: 200 },
  );
});
