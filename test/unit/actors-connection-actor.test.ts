/**
 * The connection actor against a scripted fake core: one socket write per
 * message, errors end only that connection, decisions are answered later
 * (never inside the core's own call), timers cleared on close; and the
 * known_hosts verifier against ssh-keygen's fingerprints and hashed names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { ConnectionActor } from '../../src/actors/connection-actor.js';
import type { ActorConnectionLayer, ActorCore } from '../../src/actors/actor-types.js';
import { fingerprintSha256, loadHostKeyVerifier } from '../../src/actors/host-key-check.js';
import type { CoreEventBase } from '../../src/protocol/layer.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';

class FakeSocket extends Duplex {
  writes: Buffer[] = [];
  noDelay = false;
  setNoDelay(on: boolean): void {
    this.noDelay = on;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push(chunk);
    cb();
  }
  override _read(): void {}
}

class FakeCore implements ActorCore {
  out: Uint8Array[] = [];
  events: CoreEventBase[] = [];
  closed = false;
  remoteVersion = null;
  decided: [number, unknown][] = [];
  inCall = false;
  onReceive: (b: Uint8Array) => void = () => undefined;
  connection = {} as ActorConnectionLayer;
  start(): void {
    this.out.push(Buffer.from('SSH-2.0-fake\r\n'));
  }
  receiveLent(b: Uint8Array): void {
    this.receive(new Uint8Array(b));
  }
  receive(b: Uint8Array): void {
    this.inCall = true;
    try {
      this.onReceive(b);
    } finally {
      this.inCall = false;
    }
  }
  takeOutbound(): Uint8Array[] {
    return this.out.splice(0);
  }
  takeEvents(): CoreEventBase[] {
    return this.events.splice(0);
  }
  tick(): void {}
  nextDeadline(): number | null {
    return null;
  }
  completeWork(): void {}
  decide(id: number, answer: unknown): void {
    assert.equal(this.inCall, false, 'decide() re-entered the core');
    this.decided.push([id, answer]);
  }
  disconnect(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.push(Buffer.from('BYE'));
    this.events.push({ type: 'closed', error: null, local: true } as CoreEventBase);
  }
  socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.push({ type: 'closed', error: null, local: false } as CoreEventBase);
  }
  rekey(): void {}
}

function setup(decide: (r: { kind: string }) => unknown = () => true) {
  const socket = new FakeSocket();
  const core = new FakeCore();
  const actor = new ConnectionActor(socket, core, { work: { run: () => Promise.reject(new Error('unused')) }, hooks: { decide } });
  return { socket, core, actor };
}

describe('connection actor', () => {
  test('sets TCP_NODELAY and writes all packets of one turn in one write; a later turn writes again', async () => {
    const { socket, core, actor } = setup();
    assert.equal(socket.noDelay, true);
    actor.start();
    core.onReceive = () => core.out.push(Buffer.from('a'), Buffer.from('bb'), Buffer.from('ccc'));
    socket.push(Buffer.from('x'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    // The version line (start) and the packets of the chunk: the same turn, one write.
    assert.deepEqual(socket.writes.map(String), ['SSH-2.0-fake\r\nabbccc']);
    core.onReceive = () => core.out.push(Buffer.from('d'));
    socket.push(Buffer.from('y'));
    socket.push(Buffer.from('z'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(socket.writes.map(String), ['SSH-2.0-fake\r\nabbccc', 'dd'], 'two chunks of one turn: one write');
  });

  test('an exception while handling a message closes this connection with that error', async () => {
    const { socket, core, actor } = setup();
    actor.start();
    core.onReceive = () => {
      throw new Error('parser blew up');
    };
    socket.push(Buffer.from('x'));
    const err = await actor.waitClosed();
    assert.equal(err?.message, 'parser blew up');
    assert.equal(actor.closed, true);
    assert.equal(actor.timers.size, 0);
    assert.ok(socket.writes.map(String).join('').endsWith('BYE'), 'disconnect sent');
  });

  test('decisions are answered after the current message, sync or async, and failures answer no', async () => {
    let n = 0;
    const { socket, core, actor } = setup((r) => {
      n++;
      if (r.kind === 'sync') return 'yes';
      if (r.kind === 'throws') throw new Error('handler bug');
      if (r.kind === 'password') return Promise.reject(new Error('rejected'));
      return Promise.resolve(42);
    });
    actor.start();
    core.onReceive = () => {
      core.events.push(
        { type: 'decision', id: 1, request: { kind: 'sync' } } as CoreEventBase,
        { type: 'decision', id: 2, request: { kind: 'async' } } as CoreEventBase,
        { type: 'decision', id: 3, request: { kind: 'throws' } } as CoreEventBase,
        { type: 'decision', id: 4, request: { kind: 'password' } } as CoreEventBase,
      );
    };
    socket.push(Buffer.from('x'));
    await new Promise((r) => setImmediate(r));
    assert.equal(n, 4);
    assert.deepEqual(
      core.decided.sort((a, b) => a[0] - b[0]),
      [
        [1, 'yes'],
        [2, 42],
        [3, false],
        [4, null],
      ],
    );
    await actor.close();
  });

  test('socket end closes the connection and clears every timer', async () => {
    const { socket, actor } = setup();
    actor.start();
    actor.timers.set('x', 60_000, () => assert.fail('timer fired after close'));
    socket.push(null);
    await actor.waitClosed();
    assert.equal(actor.timers.size, 0);
  });
});

describe('host key verifier', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-hk-'));
  const run = (args: string[]) => spawnSync('ssh-keygen', args, { encoding: 'utf8' });
  const keygen = run(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  const haveKeygen = keygen.status === 0;

  test('fingerprints match ssh-keygen -l', { skip: !haveKeygen && 'ssh-keygen not available' }, () => {
    const pub = importPublicKey(readFileSync(join(dir, 'k.pub'), 'utf8'));
    const line = run(['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')]).stdout;
    assert.equal(line.split(' ')[1], fingerprintSha256(pub.publicBlob));
  });

  test('hashed known_hosts (ssh-keygen -H) trusts the key for its [host]:port only', { skip: !haveKeygen && 'ssh-keygen not available' }, async () => {
    const pubLine = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
    const kh = join(dir, 'known_hosts');
    writeFileSync(kh, `[example.org]:2222 ${pubLine}\n`);
    assert.equal(run(['-H', '-f', kh]).status, 0);
    assert.match(readFileSync(kh, 'utf8'), /^\|1\|/);
    const verify = (await loadHostKeyVerifier(kh))!;
    const pub = importPublicKey(pubLine);
    const key = { keyType: pub.keyType, publicBlob: pub.publicBlob, fingerprint: '' };
    assert.equal(await verify('example.org', 2222, key), true);
    assert.equal(await verify('example.org', 22, key), false);
    assert.equal(await verify('other.org', 2222, key), false);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a known_hosts file is parsed once while unchanged, and read again once it changed', async () => {
    const d = mkdtempSync(join(tmpdir(), 'fleetssh-khc-'));
    try {
      const a = generatePrivateKey('ssh-ed25519');
      const b = generatePrivateKey('ssh-ed25519');
      const kh = join(d, 'known_hosts');
      const asKey = (k: typeof a) => ({ keyType: k.keyType, publicBlob: k.publicBlob, fingerprint: '' });
      writeFileSync(kh, `host.example ${a.keyType} ${Buffer.from(a.publicBlob).toString('base64')}\n`);
      const first = (await loadHostKeyVerifier(kh))!;
      assert.equal(await loadHostKeyVerifier(kh), first, 'unchanged file: the parsed verifier is shared');
      assert.equal(await first('host.example', 22, asKey(a)), true);
      writeFileSync(kh, `host.example ${b.keyType} ${Buffer.from(b.publicBlob).toString('base64')}\n# changed\n`);
      const second = (await loadHostKeyVerifier(kh))!;
      assert.notEqual(second, first);
      assert.equal(await second('host.example', 22, asKey(a)), false, 'the old key is no longer trusted');
      assert.equal(await second('host.example', 22, asKey(b)), true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('null disables checking; a missing named file is a TypeError', async () => {
    assert.equal(await loadHostKeyVerifier(null), null);
    await assert.rejects(loadHostKeyVerifier('/nonexistent/known_hosts'), TypeError);
    await assert.rejects(loadHostKeyVerifier(42 as unknown as string), /knownHosts/);
  });
});
