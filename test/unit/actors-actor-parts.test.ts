/**
 * The parts of the connection actor against a fake host and a recording
 * connection layer: incoming global requests are replied in request order
 * whatever order their answers come in; channel ids freed in a batch swallow
 * later calls; session preludes go out before exec; pending work is settled
 * on close; keepalives abort after countMax unanswered beats.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ConnectionLost, ChannelOpenError } from '../../src/protocol/errors.js';
import type { ActorConnectionLayer, ActorCore, ActorEvent, ChannelSink } from '../../src/actors/actor-types.js';
import type { ActorHooks, ActorHost } from '../../src/actors/actor-options.js';
import { ActorGlobalRequests } from '../../src/actors/actor-global-requests.js';
import { ActorChannels, type SessionPrelude } from '../../src/actors/actor-channels.js';
import { ActorKeepalive } from '../../src/actors/actor-keepalive.js';

type Call = [string, ...unknown[]];

function recordingLayer(calls: Call[]): ActorConnectionLayer {
  let nextId = 0;
  return {
    openChannel: (type) => (calls.push(['openChannel', type]), nextId++),
    acceptChannel: (id) => void calls.push(['acceptChannel', id]),
    rejectChannel: (id, reason) => void calls.push(['rejectChannel', id, reason]),
    sendData: (id, data) => (calls.push(['sendData', id, data.length]), data.length),
    sendEof: (id) => void calls.push(['sendEof', id]),
    close: (id) => void calls.push(['close', id]),
    consume: (id, n) => void calls.push(['consume', id, n]),
    sendRequest: (id, type, wantReply) => void calls.push(['sendRequest', id, type, wantReply]),
    replyRequest: (id, ok) => void calls.push(['replyRequest', id, ok]),
    globalRequest: (name, wantReply) => void calls.push(['globalRequest', name, wantReply]),
    replyGlobalRequest: (ok, data) => void calls.push(['replyGlobalRequest', ok, data === undefined ? null : [...data]]),
  };
}

/** A host whose mailbox runs each message at once (no re-entrancy in these tests). */
class FakeHost extends EventEmitter implements ActorHost {
  closed = false;
  error: Error | null = null;
  readonly calls: Call[] = [];
  readonly core = { connection: recordingLayer(this.calls) } as unknown as ActorCore;
  post(fn: () => void): void {
    fn();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function nullSink(log: string[] = []): ChannelSink {
  return {
    onData: (d) => void log.push(`data ${d.length}`),
    onEof: () => void log.push('eof'),
    onClose: (e) => void log.push(`close ${e === null ? 'clean' : e.message}`),
    onWindow: () => void log.push('window'),
    onRequest: (t) => void log.push(`request ${t}`),
  };
}

describe('actor global requests', () => {
  test('deferred answers are replied in request order, with their data', async () => {
    const host = new FakeHost();
    const later: ((ok: boolean) => void)[] = [];
    const hooks: ActorHooks = {
      decide: () => false,
      globalRequest: (name) =>
        name === 'now' ? { ok: true, data: Uint8Array.of(7) } : new Promise<boolean>((r) => later.push(r)),
    };
    const g = new ActorGlobalRequests(host, hooks);
    g.incoming('slow-1', true, new Uint8Array(0));
    g.incoming('slow-2', true, new Uint8Array(0));
    g.incoming('now', true, new Uint8Array(0));
    g.incoming('no-reply', false, new Uint8Array(0));
    assert.deepEqual(host.calls, [], 'nothing may be replied before the oldest request is answered');
    later[1]!(true);
    await tick();
    assert.deepEqual(host.calls, []);
    later[0]!(false);
    await tick();
    assert.deepEqual(host.calls, [
      ['replyGlobalRequest', false, null],
      ['replyGlobalRequest', true, null],
      ['replyGlobalRequest', true, [7]],
    ]);
    later[2]!(true); // the wantReply=false request: its answer is sent nowhere
    await tick();
    assert.equal(host.calls.length, 3);
  });

  test('a throwing or rejecting hook answers failure and says so on debug', async () => {
    const host = new FakeHost();
    const debug: string[] = [];
    host.on('debug', (m: string) => debug.push(m));
    const g = new ActorGlobalRequests(host, {
      decide: () => false,
      globalRequest: (name) => {
        if (name === 'throws') throw new Error('boom');
        return Promise.reject(new Error('nope'));
      },
    });
    g.incoming('throws', true, new Uint8Array(0));
    g.incoming('rejects', true, new Uint8Array(0));
    await tick();
    assert.deepEqual(host.calls, [
      ['replyGlobalRequest', false, null],
      ['replyGlobalRequest', false, null],
    ]);
    assert.equal(debug.length, 2);
    assert.match(debug[0]!, /throws failed: Error: boom/);
    assert.match(debug[1]!, /rejects failed: Error: nope/);
  });

  test('our requests get the replies in order; pending ones fail on close; none are sent once closed', async () => {
    const host = new FakeHost();
    const g = new ActorGlobalRequests(host, { decide: () => false });
    const a = g.send('a', true, new Uint8Array(0));
    const b = g.send('b', true, new Uint8Array(0));
    assert.deepEqual(await g.send('c', false, new Uint8Array(0)), { ok: true });
    g.replied(true, Uint8Array.of(1));
    assert.deepEqual(await a, { ok: true, data: Uint8Array.of(1) });
    const lost = new ConnectionLost('gone');
    g.failPending(() => lost);
    await assert.rejects(b, (e) => e === lost);
    host.closed = true;
    await assert.rejects(g.send('d', true, new Uint8Array(0)), ConnectionLost);
    assert.deepEqual(host.calls.map((c) => c[1]), ['a', 'b', 'c']);
  });
});

describe('actor channels', () => {
  test('calls go to the core while the connection is open; once it is closed they are swallowed', () => {
    const host = new FakeHost();
    const log: string[] = [];
    const ch = new ActorChannels(host, { decide: () => false }, []);
    ch.accept(5, nullSink(log));
    ch.sendEof(5);
    assert.deepEqual(host.calls.at(-1), ['sendEof', 5]);
    host.closed = true;
    assert.equal(ch.sendData(5, new Uint8Array(10)), 10, 'swallowed data counts as taken');
    ch.sendEof(5);
    ch.close(5);
    ch.consume(5, 3);
    assert.deepEqual(host.calls, [
      ['acceptChannel', 5],
      ['sendEof', 5],
    ]);
  });

  test('data and requests for an unknown channel are consumed and refused; open requests without a hook rejected', () => {
    const host = new FakeHost();
    const ch = new ActorChannels(host, { decide: () => false }, []);
    ch.dispatch({ type: 'channelData', id: 9, data: new Uint8Array(4) });
    ch.dispatch({ type: 'channelRequest', id: 9, requestType: 'env', wantReply: true, data: new Uint8Array(0), seq: 0 });
    ch.dispatch({ type: 'channelRequest', id: 9, requestType: 'env', wantReply: false, data: new Uint8Array(0), seq: null });
    ch.dispatch({ type: 'channelOpenRequest', id: 3, channelType: 'x11', typeData: new Uint8Array(0) });
    assert.deepEqual(host.calls, [
      ['consume', 9, 4],
      ['replyRequest', 9, false],
      ['rejectChannel', 3, 1],
    ]);
  });

  test('session preludes go out before exec and their refusals only reach debug', async () => {
    const host = new FakeHost();
    const debug: string[] = [];
    host.on('debug', (m: string) => debug.push(m));
    const preludes: SessionPrelude[] = [() => ({ requestType: 'x11-req', data: new Uint8Array(0) }), () => null];
    const ch = new ActorChannels(host, { decide: () => false }, preludes);
    const opened = ch.open('session', new Uint8Array(0), () => nullSink());
    ch.dispatch({ type: 'channelOpenConfirmed', id: 0 });
    assert.equal(await opened, 0);
    const env = ch.sendRequest(0, 'env', true, new Uint8Array(0));
    const exec = ch.sendRequest(0, 'exec', true, new Uint8Array(0));
    assert.deepEqual(host.calls.slice(1), [
      ['sendRequest', 0, 'env', true],
      ['sendRequest', 0, 'x11-req', true],
      ['sendRequest', 0, 'exec', true],
    ]);
    ch.dispatch({ type: 'channelRequestReply', id: 0, ok: true });
    ch.dispatch({ type: 'channelRequestReply', id: 0, ok: false });
    ch.dispatch({ type: 'channelRequestReply', id: 0, ok: true });
    assert.equal(await env, true);
    assert.equal(await exec, true);
    assert.deepEqual(debug, ['x11-req refused on channel 0']);
  });

  test('on close: opens reject, request replies answer false, every sink hears it even if one throws', async () => {
    const host = new FakeHost();
    const ch = new ActorChannels(host, { decide: () => false }, []);
    const failed = ch.open('direct-tcpip', new Uint8Array(0), () => nullSink());
    ch.dispatch({ type: 'channelOpenFailed', id: 0, reason: 2, description: '' });
    await assert.rejects(failed, (e) => e instanceof ChannelOpenError && /channel open failed/.test(e.message));
    const pending = ch.open('session', new Uint8Array(0), () => nullSink());
    const log: string[] = [];
    ch.accept(7, { ...nullSink(log), onClose: () => { throw new Error('broken handler'); } });
    ch.accept(8, nullSink(log));
    const reply = ch.sendRequest(8, 'shell', true, new Uint8Array(0));
    const lost = new ConnectionLost('gone');
    ch.failPending(() => lost);
    ch.closeAll(lost);
    await assert.rejects(pending, (e) => e === lost);
    assert.equal(await reply, false);
    assert.deepEqual(log, ['close gone']);
  });
});

describe('actor keepalive', () => {
  function setup(countMax: number) {
    const beats: (() => void)[] = [];
    const aborted: Error[] = [];
    const sent: string[] = [];
    const host = {
      closed: false,
      post: (fn: () => void) => fn(),
      abort: (e: Error) => void aborted.push(e),
      globalRequest: (name: string) => (sent.push(name), new Promise<never>(() => undefined)),
      timers: { set: (_name: string, _ms: number, fn: () => void) => void beats.push(fn), clear: () => void beats.splice(0) },
    };
    const k = new ActorKeepalive(host as unknown as ConstructorParameters<typeof ActorKeepalive>[0], 1000, countMax);
    const beat = (): void => beats.shift()!();
    return { k, beat, aborted, sent, beats };
  }

  test('aborts after countMax beats without any reply; a reply resets the count', () => {
    const { k, beat, aborted, sent } = setup(2);
    k.start();
    beat();
    beat();
    k.replied();
    beat();
    beat();
    assert.equal(aborted.length, 0);
    assert.equal(sent.length, 4);
    beat();
    assert.equal(aborted.length, 1);
    assert.match(aborted[0]!.message, /no keepalive response after 2 attempts/);
    assert.equal(sent.length, 4);
  });

  test('configure: new values wait for start() before auth, apply at once after; 0 stops the beats', () => {
    const { k, beat, aborted, sent, beats } = setup(5);
    k.configure(500, 1);
    assert.equal(beats.length, 0, 'no beat before authentication');
    k.start();
    beat();
    beat();
    assert.deepEqual([sent.length, aborted.length], [1, 1], 'the new countMax (1) applies');
    const b = setup(3);
    b.k.start();
    b.beat();
    b.k.configure(0, 3);
    assert.equal(b.beats.length, 0, 'interval 0 clears the pending beat');
    b.k.configure(200, 3);
    assert.equal(b.beats.length, 1, 'a running keepalive re-arms at once');
  });

  test('an interval of 0 arms nothing', () => {
    const beats: unknown[] = [];
    const host = { timers: { set: () => void beats.push(1) } };
    new ActorKeepalive(host as unknown as ConstructorParameters<typeof ActorKeepalive>[0], 0, 3).start();
    assert.equal(beats.length, 0);
  });
});
