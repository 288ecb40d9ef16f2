/**
 * AuthClient and AuthServer wired back to back through a fake LayerContext:
 * payloads cross in memory, work/decide are answered later from a queue, and
 * sign/verify use a fake signature defined here (sha256 over public key ||
 * data) because real keys belong to src/crypto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AuthClient, type AuthClientOptions } from '../../src/protocol/auth-client.js';
import { AuthServer, type AuthServerOptions } from '../../src/protocol/auth-server.js';
import type { DecisionRequest } from '../../src/protocol/layer.js';
import { FakeLayerContext } from '../helpers/fake-layer-context.js';
import type { HandshakeRequest, HandshakeResult, SigningKeyRef } from '../../src/protocol/crypto-api.js';
import { DisconnectError, PermissionDenied, ProtocolError, ServiceNotAvailable } from '../../src/protocol/errors.js';
import { Reader, Writer } from '../../src/protocol/wire.js';
import {
  decodeUserauthRequest,
  encodeInfoResponse,
  encodePkOk,
  encodeServiceAccept,
  encodeServiceRequest,
  encodeUserauthFailure,
  encodeUserauthRequest,
} from '../../src/protocol/auth-messages.js';

type Decider = (req: DecisionRequest) => unknown;

/** Both sides' work is fakeWork (hash-based signatures). */
class Side extends FakeLayerContext {
  constructor(queue: Array<() => void>, decide: Decider, sessionId: Uint8Array, serverSigAlgs: readonly string[] | null = null) {
    super(queue, { decide, work: fakeWork, sessionId, serverSigAlgs });
  }
}

function fakeSig(publicBlob: Uint8Array, data: Uint8Array): Uint8Array {
  return createHash('sha256').update(publicBlob).update(data).digest();
}

function fakeWork(request: HandshakeRequest, done: (err: Error | null, result?: HandshakeResult) => void): void {
  if (request.op === 'sign') {
    done(null, new Writer().string(request.algorithm).string(fakeSig(request.key.publicBlob, request.data)).toBytes());
  } else if (request.op === 'verify') {
    const r = new Reader(request.signature);
    const alg = r.utf8();
    const sig = Buffer.from(r.string());
    done(null, alg === request.algorithm && sig.equals(fakeSig(request.publicKeyBlob, request.data)));
  } else {
    done(new Error('unexpected work'));
  }
}

function key(keyType: string, tag: number): SigningKeyRef {
  return { keyType, publicBlob: new Writer().string(keyType).string(Uint8Array.of(tag, tag, tag)).toBytes(), handle: tag };
}

function run(queue: Array<() => void>): void {
  for (let i = 0; queue.length > 0; i++) {
    assert.ok(i < 10000, 'exchange did not settle');
    queue.shift()!();
  }
}

interface Pair {
  client: Side;
  server: Side;
  authClient: AuthClient;
  authServer: AuthServer;
  queue: Array<() => void>;
}

function pair(
  clientOpts: AuthClientOptions,
  serverOpts: AuthServerOptions,
  serverDecide: Decider,
  clientDecide: Decider = () => null,
  extra: { serverSigAlgs?: readonly string[] | null; serverSessionId?: Uint8Array } = {},
): Pair {
  const queue: Array<() => void> = [];
  const sid = Uint8Array.of(7, 7, 7, 7);
  const client = new Side(queue, clientDecide, sid, extra.serverSigAlgs ?? null);
  const server = new Side(queue, serverDecide, extra.serverSessionId ?? sid);
  const authClient = new AuthClient(client, clientOpts);
  const authServer = new AuthServer(server, serverOpts);
  client.peer = authServer;
  server.peer = authClient;
  authClient.start();
  run(queue);
  return { client, server, authClient, authServer, queue };
}

const methodsSent = (s: Side): string[] =>
  s.sent.filter((p) => p[0] === 50).map((p) => {
    const f = decodeUserauthRequest(p).fields;
    return f.kind === 'publickey' ? `publickey${f.signature ? '+sig' : ''}:${f.algorithm}` : f.kind;
  });

test('publickey: query, PK_OK, signed request over session id; both sides report success', () => {
  const k = key('ssh-ed25519', 1);
  const p = pair({ username: 'alice', keys: [k] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey' && req.username === 'alice' && req.keyType === 'ssh-ed25519',
  );
  assert.equal(p.client.failure, null);
  assert.equal(p.server.failure, null);
  assert.deepEqual(methodsSent(p.client), ['none', 'publickey:ssh-ed25519', 'publickey+sig:ssh-ed25519']);
  assert.deepEqual(p.client.events, [{ type: 'authSuccess', username: 'alice' }]);
  assert.deepEqual(p.server.events, [{ type: 'authSuccess', username: 'alice' }]);
  assert.ok(p.authClient.authenticated && p.authServer.authenticated);
  // publicKey asked for the query and again for the signed request.
  assert.equal(p.server.decisions.filter((d) => d.kind === 'publicKey').length, 2);
});

test('publickey: a signature over another session id is rejected', () => {
  const p = pair(
    { username: 'alice', keys: [key('ssh-ed25519', 1)] },
    {},
    (req) => req.kind === 'beginAuth' || req.kind === 'publicKey',
    () => null,
    { serverSessionId: Uint8Array.of(8, 8, 8, 8) },
  );
  assert.ok(p.client.failure instanceof PermissionDenied);
  assert.match(p.client.failure.message, /publickey/);
  assert.equal(p.authServer.authenticated, false);
});

test('publickey: rejected first key, accepted second', () => {
  const good = key('ecdsa-sha2-nistp256', 2);
  const p = pair({ username: 'bob', keys: [key('ssh-ed25519', 1), good] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey' && req.keyType === 'ecdsa-sha2-nistp256',
  );
  assert.deepEqual(methodsSent(p.client), [
    'none',
    'publickey:ssh-ed25519',
    'publickey:ecdsa-sha2-nistp256',
    'publickey+sig:ecdsa-sha2-nistp256',
  ]);
  assert.ok(p.authServer.authenticated);
});

const inProcess = (k: SigningKeyRef): SigningKeyRef => ({ ...k, inProcess: true });

test('publickey, key in this process: no "none", no query, one signed request', () => {
  const p = pair({ username: 'alice', keys: [inProcess(key('ssh-ed25519', 1))] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey' && req.keyType === 'ssh-ed25519',
  );
  assert.equal(p.client.failure, null);
  assert.deepEqual(methodsSent(p.client), ['publickey+sig:ssh-ed25519']);
  assert.ok(p.authClient.authenticated && p.authServer.authenticated);
  assert.equal(p.server.decisions.filter((d) => d.kind === 'publicKey').length, 1);
});

test('publickey, keys in this process: a refused key is followed by the next, signed at once; an agent key is still queried', () => {
  const agentKey = key('ecdsa-sha2-nistp256', 3);
  const p = pair({ username: 'bob', keys: [inProcess(key('ssh-ed25519', 1)), agentKey] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey' && req.keyType === 'ecdsa-sha2-nistp256',
  );
  assert.deepEqual(methodsSent(p.client), ['publickey+sig:ssh-ed25519', 'publickey:ecdsa-sha2-nistp256', 'publickey+sig:ecdsa-sha2-nistp256']);
  assert.ok(p.authServer.authenticated);
});

test('publickey, key in this process, server without publickey: its FAILURE list leads to password', () => {
  const p = pair({ username: 'carol', keys: [inProcess(key('ssh-ed25519', 1))], password: 'pw' }, { methods: ['password'] }, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'password' && req.password === 'pw',
  );
  assert.equal(p.client.failure, null);
  assert.deepEqual(methodsSent(p.client), ['publickey+sig:ssh-ed25519', 'password']);
  assert.ok(p.authServer.authenticated);
  assert.equal(p.server.decisions.filter((d) => d.kind === 'publicKey').length, 0, 'the server never asked about a method it does not offer');
});

test('publickey, agent key first and in-process key second: "none" first, as OpenSSH', () => {
  const p = pair({ username: 'dan', keys: [key('ssh-ed25519', 1), inProcess(key('ecdsa-sha2-nistp256', 2))] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey' && req.keyType === 'ecdsa-sha2-nistp256',
  );
  assert.deepEqual(methodsSent(p.client), ['none', 'publickey:ssh-ed25519', 'publickey+sig:ecdsa-sha2-nistp256']);
  assert.ok(p.authServer.authenticated);
});

test('preferred order: keyboard-interactive before publickey; a method left out is never tried; unknown names skipped', () => {
  const allow: Decider = (req) => req.kind === 'beginAuth' || req.kind === 'publicKey' || (req.kind === 'kbdint' ? [] : false);
  const kbdFirst = pair({ username: 'eve', keys: [inProcess(key('ssh-ed25519', 1))], kbdint: true, preferred: ['hostbased', 'keyboard-interactive', 'publickey'] }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'publicKey',
  (req) => (req.kind === 'kbdint' ? ['x'] : null));
  assert.deepEqual(methodsSent(kbdFirst.client).slice(0, 2), ['none', 'keyboard-interactive'], 'kbdint first, so "none" opens');
  const onlyPassword = pair({ username: 'eve', keys: [inProcess(key('ssh-ed25519', 1))], password: 'pw', preferred: ['password'] }, {}, allow);
  assert.deepEqual(methodsSent(onlyPassword.client), ['none', 'password'], 'publickey left out: the key is never offered');
  assert.ok(onlyPassword.client.failure instanceof PermissionDenied);
});

test('server: ssh-rsa (SHA-1) signatures are refused unless publicKeyAlgorithms allows them', () => {
  const decide: Decider = (req) => req.kind === 'beginAuth' || req.kind === 'publicKey';
  // The client opts in to SHA-1 (signatureAlgs), so only the server's setting decides.
  const off = pair({ username: 'r', keys: [key('ssh-rsa', 3)], signatureAlgs: ['ssh-rsa'] }, {}, decide);
  assert.equal(off.authServer.authenticated, false);
  assert.equal(off.server.decisions.filter((d) => d.kind === 'publicKey').length, 0);
  const on = pair({ username: 'r', keys: [key('ssh-rsa', 3)], signatureAlgs: ['ssh-rsa'] }, { publicKeyAlgorithms: ['ssh-rsa'] }, decide);
  assert.ok(on.authServer.authenticated);
});

for (const [sigAlgs, clientAlgs, expected] of [
  // A server that announces nothing gets rsa-sha2-512, as from OpenSSH; SHA-1 only when the client opts in.
  [null, undefined, ['publickey:rsa-sha2-512', 'publickey+sig:rsa-sha2-512']],
  [null, ['rsa-sha2-512', 'ssh-rsa'], ['publickey:ssh-rsa']],
  [['rsa-sha2-256', 'ssh-ed25519'], undefined, ['publickey:rsa-sha2-256', 'publickey+sig:rsa-sha2-256']],
  [['rsa-sha2-512', 'rsa-sha2-256'], undefined, ['publickey:rsa-sha2-512', 'publickey+sig:rsa-sha2-512']],
  [['rsa-sha2-512', 'rsa-sha2-256'], ['rsa-sha2-256'], ['publickey:rsa-sha2-256', 'publickey+sig:rsa-sha2-256']],
  [['ssh-ed25519'], undefined, []],
  [['ssh-rsa'], undefined, []],
] as const) {
  test(`publickey: ssh-rsa key, server-sig-algs ${JSON.stringify(sigAlgs)}, signatureAlgs ${JSON.stringify(clientAlgs)}: signs with ${expected[0] ?? 'nothing'}`, () => {
    const p = pair(
      { username: 'r', keys: [key('ssh-rsa', 3)], ...(clientAlgs ? { signatureAlgs: clientAlgs } : {}) },
      {},
      (req) => req.kind === 'beginAuth' || req.kind === 'publicKey',
      () => null,
      { serverSigAlgs: sigAlgs },
    );
    assert.deepEqual(methodsSent(p.client), ['none', ...expected]);
    assert.equal(p.authServer.authenticated, expected.length === 2);
  });
}

test('signatureAlgs: a key none of whose algorithms is allowed is skipped', () => {
  const p = pair({ username: 'r', keys: [inProcess(key('ssh-ed25519', 1)), inProcess(key('ecdsa-sha2-nistp256', 2))], signatureAlgs: ['ecdsa-sha2-nistp256'] }, {}, (req) =>
    req.kind === 'beginAuth' || req.kind === 'publicKey',
  );
  assert.deepEqual(methodsSent(p.client), ['publickey+sig:ecdsa-sha2-nistp256']);
  assert.ok(p.authServer.authenticated);
});

test('disableTrivialAuth: "none" accepted or a prompt-less keyboard-interactive round ends in PermissionDenied', () => {
  const none = pair({ username: 'u', keys: [], disableTrivialAuth: true }, {}, (req) => (req.kind === 'beginAuth' ? false : false));
  assert.ok(none.client.failure instanceof PermissionDenied, String(none.client.failure));
  assert.match(none.client.failure.message, /without a challenge/);
  assert.equal(none.authClient.authenticated, false);
  const allowed = pair({ username: 'u', keys: [] }, {}, (req) => (req.kind === 'beginAuth' ? false : false));
  assert.ok(allowed.authClient.authenticated, 'without the option "none" is fine');
  // The server's one round has no prompts, and its empty answer logs the client in.
  const kbd = (o: { disableTrivialAuth?: boolean }) =>
    pair({ username: 'u', keys: [], kbdint: true, ...o }, { methods: ['keyboard-interactive'] }, (req) =>
      req.kind === 'beginAuth' ? true : req.kind === 'kbdintChallenge' ? { name: '', instruction: 'hi', prompts: [] } : req.kind === 'kbdintResponse',
    );
  const trivial = kbd({ disableTrivialAuth: true });
  const plain = kbd({});
  assert.equal(plain.authClient.authenticated, true, 'a zero-prompt round is accepted without the option');
  assert.ok(trivial.client.failure instanceof PermissionDenied, String(trivial.client.failure));
});

test('password: fixed password accepted; failure lists tried methods', () => {
  const ok = pair({ username: 'u', keys: [], password: 'hunter2' }, {}, (req) =>
    req.kind === 'beginAuth' ? true : req.kind === 'password' && req.password === 'hunter2',
  );
  assert.ok(ok.authServer.authenticated && ok.authClient.authenticated);
  const bad = pair({ username: 'u', keys: [key('ssh-ed25519', 1)], password: 'nope' }, {}, (req) => req.kind === 'beginAuth');
  assert.ok(bad.client.failure instanceof PermissionDenied);
  assert.match(bad.client.failure.message, /tried: publickey, password/);
  assert.equal(bad.server.failure, null);
});

test('password: prompts through decide up to 3 times, null gives up', () => {
  const answers = ['a', 'b', 'right'];
  const p = pair(
    { username: 'u', keys: [], passwordPrompt: true },
    {},
    (req) => (req.kind === 'beginAuth' ? true : req.kind === 'password' && req.password === 'right'),
    (req) => (req.kind === 'password' ? answers.shift() : null),
  );
  assert.ok(p.authServer.authenticated);
  assert.equal(p.client.decisions.filter((d) => d.kind === 'password').length, 3);
  const q = pair({ username: 'u', keys: [], passwordPrompt: true }, {}, (req) => req.kind === 'beginAuth');
  assert.ok(q.client.failure instanceof PermissionDenied);
  assert.equal(q.client.decisions.length, 1);
});

test('password change: PASSWD_CHANGEREQ -> passwordChange decisions on both sides', () => {
  const p = pair(
    { username: 'u', keys: [], password: 'old' },
    {},
    (req) => {
      if (req.kind === 'password') return { changePrompt: 'expired' };
      if (req.kind === 'passwordChange') return req.oldPassword === 'old' && req.newPassword === 'new';
      return true;
    },
    (req) => (req.kind === 'passwordChange' && req.prompt === 'expired' ? { oldPassword: 'old', newPassword: 'new' } : null),
  );
  assert.ok(p.authServer.authenticated);
  const last = decodeUserauthRequest(p.client.sent.at(-1)!);
  assert.deepEqual(last.fields, { kind: 'passwordChange', oldPassword: 'old', newPassword: 'new' });
});

test('keyboard-interactive: two rounds, a zero-prompt round answered automatically', () => {
  let round = 0;
  const p = pair(
    { username: 'k', keys: [], kbdint: true },
    {},
    (req) => {
      if (req.kind === 'kbdintChallenge') return { name: 'n', instruction: 'i', prompts: [{ prompt: 'Password: ', echo: false }] };
      if (req.kind === 'kbdintResponse') {
        round++;
        if (round === 1) return (req.responses as string[])[0] === 'pw' ? { name: '', instruction: 'note', prompts: [] } : false;
        if (round === 2) return { name: '', instruction: '', prompts: [{ prompt: 'OTP: ', echo: true }] };
        return (req.responses as string[])[0] === '123456';
      }
      return true;
    },
    (req) => {
      if (req.kind !== 'kbdint') return null;
      const prompts = req.prompts as Array<{ prompt: string }>;
      return prompts[0]!.prompt === 'Password: ' ? ['pw'] : ['123456'];
    },
  );
  assert.ok(p.authServer.authenticated);
  assert.equal(p.client.decisions.length, 2, 'the zero-prompt round is not asked');
  assert.deepEqual(p.client.decisions[0], {
    kind: 'kbdint',
    name: 'n',
    instruction: 'i',
    lang: '',
    prompts: [{ prompt: 'Password: ', echo: false }],
  });
});

test('keyboard-interactive: null answer moves on to password', () => {
  const p = pair(
    { username: 'k', keys: [], kbdint: true, password: 'pw' },
    {},
    (req) =>
      req.kind === 'kbdintChallenge' ? { name: '', instruction: '', prompts: [{ prompt: 'x', echo: false }] } : req.kind !== 'kbdintResponse',
  );
  assert.deepEqual(methodsSent(p.client), ['none', 'keyboard-interactive', 'password']);
  assert.ok(p.authServer.authenticated);
});

test('banner is emitted on the client; beginAuth=false accepts "none"', () => {
  const p = pair({ username: 'guest', keys: [] }, { banner: 'Welcome\n' }, (req) => (req.kind === 'beginAuth' ? false : null));
  assert.deepEqual(p.client.events, [
    { type: 'authBanner', message: 'Welcome\n', lang: '' },
    { type: 'authSuccess', username: 'guest' },
  ]);
  assert.deepEqual(methodsSent(p.client), ['none']);
});

test('server: maxAuthTries failures end the connection (the first "none" does not count)', () => {
  const keys = Array.from({ length: 10 }, (_, i) => key('ssh-ed25519', i));
  const p = pair({ username: 'u', keys }, { maxAuthTries: 3 }, (req) => req.kind === 'beginAuth');
  assert.ok(p.server.failure instanceof DisconnectError);
  assert.equal(p.server.failure.reason, 14);
  assert.match(p.server.failure.message, /too many authentication failures/);
  assert.equal(methodsSent(p.client).length, 4, 'none + 3 rejected keys');
  assert.equal(p.server.sent.filter((m) => m[0] === 51).length, 3, 'none + 2 counted failures answered');
});

test('server: USERAUTH_FAILURE lists the configured methods, partial=false', () => {
  const p = pair({ username: 'u', keys: [] }, { methods: ['password', 'publickey'] }, (req) => req.kind === 'beginAuth');
  const failure = p.server.sent.find((m) => m[0] === 51)!;
  assert.deepEqual(failure, encodeUserauthFailure({ methods: ['password', 'publickey'], partialSuccess: false }));
  assert.ok(p.client.failure instanceof PermissionDenied);
});

/** Drives a server directly with raw payloads. */
function rawServer(decide: Decider = (r) => r.kind === 'beginAuth'): { side: Side; server: AuthServer; queue: Array<() => void> } {
  const queue: Array<() => void> = [];
  const side = new Side(queue, decide, Uint8Array.of(1));
  return { side, server: new AuthServer(side, {}), queue };
}

const req = (username: string, service = 'ssh-connection'): Uint8Array =>
  encodeUserauthRequest({ username, service, fields: { kind: 'password', password: 'x' } });

const serverCases: Array<[string, (s: AuthServer, q: Array<() => void>) => void, new (...a: never[]) => DisconnectError]> = [
  ['USERAUTH_REQUEST before SERVICE_REQUEST', (s) => s.handle(req('u')), ProtocolError],
  ['SERVICE_REQUEST for another service', (s) => s.handle(encodeServiceRequest('ssh-connection')), ServiceNotAvailable],
  ['userauth for a service other than ssh-connection', (s, q) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u', 'ssh-foo')), run(q)), ServiceNotAvailable],
  ['a SERVICE_REQUEST while a decision is pending', (s) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u')), s.handle(encodeServiceRequest('ssh-userauth'))), ProtocolError],
  ['a request while a decision is pending', (s) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u')), s.handle(req('u'))), ProtocolError],
  ['a changed username', (s, q) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u')), run(q), s.handle(req('v'))), ProtocolError],
  ['a changed service', (s, q) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u')), run(q), s.handle(req('u', 'other'))), ProtocolError],
  ['INFO_RESPONSE outside keyboard-interactive', (s, q) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u')), run(q), s.handle(encodeInfoResponse([]))), ProtocolError],
  ['a server-to-client message (PK_OK)', (s) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(encodePkOk({ algorithm: 'a', publicBlob: Uint8Array.of() }))), ProtocolError],
  ['a truncated request', (s) => (s.handle(encodeServiceRequest('ssh-userauth')), s.handle(req('u').subarray(0, 9))), ProtocolError],
];

for (const [what, drive, errorClass] of serverCases) {
  test(`server rejects ${what}`, () => {
    const { side, server, queue } = rawServer();
    drive(server, queue);
    assert.ok(side.failure instanceof errorClass, `got ${side.failure?.constructor.name}: ${side.failure?.message}`);
  });
}

test('server: requests after success are ignored (RFC 4252 §5.1)', () => {
  const { side, server, queue } = rawServer((r) => r.kind === 'beginAuth' || r.kind === 'password');
  server.handle(encodeServiceRequest('ssh-userauth'));
  server.handle(req('u'));
  run(queue);
  assert.ok(server.authenticated);
  const before = side.sent.length;
  server.handle(req('u'));
  server.handle(req('other-user'));
  run(queue);
  assert.equal(side.sent.length, before);
  assert.equal(side.failure, null);
});

test('server: publickey with an algorithm that does not match the key type is refused without asking', () => {
  const { side, server, queue } = rawServer((r) => r.kind === 'beginAuth' || r.kind === 'publicKey');
  server.handle(encodeServiceRequest('ssh-userauth'));
  const blob = key('ssh-rsa', 1).publicBlob;
  server.handle(encodeUserauthRequest({ username: 'u', service: 'ssh-connection', fields: { kind: 'publickey', algorithm: 'ssh-ed25519', publicBlob: blob } }));
  run(queue);
  assert.equal(side.decisions.filter((d) => d.kind === 'publicKey').length, 0);
  assert.equal(side.sent.at(-1)![0], 51);
});

/** Drives a client directly with raw payloads. */
function rawClient(opts: Partial<AuthClientOptions> = {}): { side: Side; client: AuthClient; queue: Array<() => void> } {
  const queue: Array<() => void> = [];
  const side = new Side(queue, () => null, Uint8Array.of(1));
  const client = new AuthClient(side, { username: 'u', keys: [key('ssh-ed25519', 1)], ...opts });
  client.start();
  return { side, client, queue };
}

const failure = (methods: string[]): Uint8Array => encodeUserauthFailure({ methods, partialSuccess: false });

const clientCases: Array<[string, (c: AuthClient) => void]> = [
  ['SUCCESS before SERVICE_ACCEPT', (c) => c.handle(Uint8Array.of(52))],
  ['SERVICE_ACCEPT for another service', (c) => c.handle(encodeServiceAccept('ssh-connection'))],
  ['PK_OK in answer to "none"', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(encodePkOk({ algorithm: 'ssh-ed25519', publicBlob: key('ssh-ed25519', 1).publicBlob })))],
  ['PK_OK for a key not offered', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(failure(['publickey'])), c.handle(encodePkOk({ algorithm: 'ssh-ed25519', publicBlob: key('ssh-ed25519', 2).publicBlob })))],
  ['INFO_RESPONSE (61) from the server', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(encodeInfoResponse([])))],
  ['SUCCESS with trailing bytes', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(Uint8Array.of(52, 0)))],
  ['a message after success', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(Uint8Array.of(52)), c.handle(failure(['publickey'])))],
  ['an unrelated message number', (c) => (c.handle(encodeServiceAccept('ssh-userauth')), c.handle(Uint8Array.of(94)))],
];

for (const [what, drive] of clientCases) {
  test(`client rejects ${what}`, () => {
    const { side, client } = rawClient();
    drive(client);
    assert.ok(side.failure instanceof ProtocolError, `got ${side.failure?.constructor.name}: ${side.failure?.message}`);
  });
}

test('client: SUCCESS while a signature is pending is out of state; late work results are dropped', () => {
  const { side, client, queue } = rawClient();
  client.handle(encodeServiceAccept('ssh-userauth'));
  client.handle(failure(['publickey']));
  const k = key('ssh-ed25519', 1);
  client.handle(encodePkOk({ algorithm: 'ssh-ed25519', publicBlob: k.publicBlob }));
  client.handle(Uint8Array.of(52));
  assert.ok(side.failure instanceof ProtocolError);
  const sent = side.sent.length;
  run(queue);
  assert.equal(side.sent.length, sent, 'nothing sent after failure');
});

test('server: INFO_RESPONSE with the wrong number of answers is a failure, not a decision', () => {
  const { side, server, queue } = rawServer((r) =>
    r.kind === 'kbdintChallenge' ? { name: '', instruction: '', prompts: [{ prompt: 'a', echo: false }, { prompt: 'b', echo: true }] } : r.kind === 'beginAuth',
  );
  server.handle(encodeServiceRequest('ssh-userauth'));
  server.handle(encodeUserauthRequest({ username: 'u', service: 'ssh-connection', fields: { kind: 'keyboard-interactive', lang: '', submethods: '' } }));
  run(queue);
  assert.equal(side.sent.at(-1)![0], 60, 'INFO_REQUEST sent');
  server.handle(encodeInfoResponse(['only one']));
  run(queue);
  assert.equal(side.sent.at(-1)![0], 51);
  assert.equal(side.decisions.filter((d) => d.kind === 'kbdintResponse').length, 0);
  assert.equal(side.failure, null);
});

test('client: partial success moves on to the next allowed method', () => {
  const { side, client, queue } = rawClient({ password: 'pw' });
  client.handle(encodeServiceAccept('ssh-userauth'));
  client.handle(encodeUserauthFailure({ methods: ['publickey'], partialSuccess: false }));
  client.handle(encodePkOk({ algorithm: 'ssh-ed25519', publicBlob: key('ssh-ed25519', 1).publicBlob }));
  run(queue);
  client.handle(encodeUserauthFailure({ methods: ['password'], partialSuccess: true }));
  assert.deepEqual(methodsSent(side), ['none', 'publickey:ssh-ed25519', 'publickey+sig:ssh-ed25519', 'password']);
  client.handle(Uint8Array.of(52));
  assert.ok(client.authenticated);
  assert.equal(side.failure, null);
});

test('server: a repeated SERVICE_REQUEST before success is accepted again, as sshd does', () => {
  const sent: Uint8Array[] = [];
  const ctx = {
    send: (p: Uint8Array) => sent.push(p),
    sendParts: (parts: readonly Uint8Array[]) => sent.push(new Uint8Array(Buffer.concat(parts))),
    emit: () => undefined,
    work: () => undefined,
    decide: () => undefined,
    sessionId: new Uint8Array(32),
    serverSigAlgs: null,
    fail: (e: Error) => {
      throw e;
    },
  };
  const s = new AuthServer(ctx, {});
  s.handle(encodeServiceRequest('ssh-userauth'));
  s.handle(encodeServiceRequest('ssh-userauth'));
  assert.equal(sent.length, 2);
  assert.ok(sent.every((p) => p[0] === 6), 'both answered with SERVICE_ACCEPT');
});

test('pipelining: an in-process non-RSA key is signed and sent behind SERVICE_REQUEST, before any reply; RSA waits for SERVICE_ACCEPT (server-sig-algs)', () => {
  const ed = rawClient({ keys: [inProcess(key('ssh-ed25519', 1))] });
  run(ed.queue);
  assert.deepEqual(ed.side.sent.map((p) => p[0]), [5, 50], 'SERVICE_REQUEST then USERAUTH_REQUEST, nothing received yet');
  assert.deepEqual(methodsSent(ed.side), ['publickey+sig:ssh-ed25519']);
  ed.client.handle(encodeServiceAccept('ssh-userauth'));
  ed.client.handle(Uint8Array.of(52));
  assert.equal(ed.side.failure, null);
  assert.ok(ed.client.authenticated);

  const rsa = rawClient({ keys: [inProcess(key('ssh-rsa', 2))] });
  run(rsa.queue);
  assert.deepEqual(rsa.side.sent.map((p) => p[0]), [5], 'RSA: the algorithm hangs on EXT_INFO, which may still be on its way');
  rsa.client.handle(encodeServiceAccept('ssh-userauth'));
  run(rsa.queue);
  assert.deepEqual(methodsSent(rsa.side), ['publickey+sig:rsa-sha2-512']);

  const agent = rawClient({ keys: [key('ssh-ed25519', 3)] });
  run(agent.queue);
  assert.deepEqual(agent.side.sent.map((p) => p[0]), [5], 'an agent key is not pipelined (it is queried first, after "none")');
});

for (const [what, reply] of [
  ['SUCCESS', Uint8Array.of(52)],
  ['FAILURE', encodeUserauthFailure({ methods: ['publickey'], partialSuccess: false })],
  ['BANNER', new Writer().byte(53).string('hi').string('').toBytes()],
] as const) {
  test(`pipelining: ${what} before SERVICE_ACCEPT is out of state even with a request already sent; a second SERVICE_ACCEPT too`, () => {
    const c = rawClient({ keys: [inProcess(key('ssh-ed25519', 1))] });
    run(c.queue);
    c.client.handle(reply);
    assert.ok(c.side.failure instanceof ProtocolError, `got ${c.side.failure?.constructor.name}`);
    const d = rawClient({ keys: [inProcess(key('ssh-ed25519', 1))] });
    run(d.queue);
    d.client.handle(encodeServiceAccept('ssh-userauth'));
    d.client.handle(encodeServiceAccept('ssh-userauth'));
    assert.ok(d.side.failure instanceof ProtocolError);
  });
}
