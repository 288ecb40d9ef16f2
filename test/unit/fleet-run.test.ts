// Fleet.run / runAll against an injected fake client: outcomes, grouping, concurrency, retries, timeouts, abort, bastions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { Fleet } from '../../src/orchestrator/fleet.js';
import { ConnectionLost, PermissionDenied, HostKeyNotVerifiable } from '../../src/protocol/errors.js';
import type { Connector, FleetConnectOptions, FleetConnection, FleetProcess, HostEvent } from '../../src/orchestrator/types.js';

type Behaviour =
  | { kind: 'ok'; out?: string[]; err?: string[]; status?: number; signal?: string; delayMs?: number }
  | { kind: 'refuse' }
  | { kind: 'auth' }
  | { kind: 'hostkey' }
  | { kind: 'hang-connect' }
  | { kind: 'hang-command'; out?: string[] }
  | { kind: 'drop'; out?: string[] }
  /** The exec request leaves, then the connection dies before its reply. */
  | { kind: 'lost-before-reply' }
  | { kind: 'flaky'; failures: number; code: string };

class FakeClient {
  open = 0;
  maxOpen = 0;
  connects = new Map<string, number>();
  commands = new Map<string, number>();
  options = new Map<string, FleetConnectOptions>();
  constructor(private readonly table: Record<string, Behaviour>) {}

  connector: Connector = (host, options) => {
    const n = (this.connects.get(host) ?? 0) + 1;
    this.connects.set(host, n);
    this.options.set(host, options);
    const b = this.table[host] ?? { kind: 'ok' };
    return new Promise<FleetConnection>((resolve, reject) => {
      const fail = (e: Error): void => reject(e);
      const abort = (): void => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      if (options.signal?.aborted) return abort();
      options.signal?.addEventListener('abort', abort, { once: true });
      if (b.kind === 'refuse') return fail(Object.assign(new Error(`connect ECONNREFUSED ${host}:22`), { code: 'ECONNREFUSED' }));
      if (b.kind === 'auth') return fail(new PermissionDenied());
      if (b.kind === 'hostkey') return fail(new HostKeyNotVerifiable('bad key'));
      if (b.kind === 'hang-connect') return;
      if (b.kind === 'flaky' && n <= b.failures) return setImmediate(() => fail(Object.assign(new Error('reset'), { code: b.code })));
      setImmediate(() => resolve(this.connection(host, b)));
    });
  };

  private connection(host: string, b: Behaviour): FleetConnection {
    this.open += 1;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    let closed = false;
    const procs: (() => void)[] = [];
    return {
      createProcess: (command, options) => {
        this.commands.set(host, (this.commands.get(host) ?? 0) + 1);
        options.onStartRequested?.();
        if (b.kind === 'lost-before-reply') return new Promise((_, reject) => setImmediate(() => reject(new ConnectionLost('reset before the exec reply'))));
        return this.process(command, b, procs);
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.open -= 1;
        for (const p of procs) p();
      },
    };
  }

  private process(_command: string, b: Behaviour, procs: (() => void)[]): FleetProcess {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let settle: (v: { exitStatus: number | null; exitSignal: string | null }) => void = () => undefined;
    let fail: (e: Error) => void = () => undefined;
    const done = new Promise<{ exitStatus: number | null; exitSignal: string | null }>((res, rej) => ((settle = res), (fail = rej)));
    const kill = (): void => {
      stdout.end();
      stderr.end();
      fail(new ConnectionLost('closed'));
    };
    procs.push(kill);
    setImmediate(() => {
      if (b.kind === 'ok' || b.kind === 'flaky') {
        const ok = b.kind === 'ok' ? b : { out: ['hello\n'] };
        for (const c of ok.out ?? ['hello\n']) stdout.write(c);
        for (const c of (b.kind === 'ok' ? b.err : undefined) ?? []) stderr.write(c);
        const finish = (): void => {
          stdout.end();
          stderr.end();
          settle({ exitStatus: b.kind === 'ok' && b.signal ? null : b.kind === 'ok' ? (b.status ?? 0) : 0, exitSignal: b.kind === 'ok' ? (b.signal ?? null) : null });
        };
        if (b.kind === 'ok' && b.delayMs) setTimeout(finish, b.delayMs);
        else finish();
      } else if (b.kind === 'hang-command') {
        for (const c of b.out ?? []) stdout.write(c);
      } else if (b.kind === 'drop') {
        for (const c of b.out ?? []) stdout.write(c);
        setImmediate(kill);
      }
    });
    return { stdout, stderr, wait: () => done, close: kill };
  }
}

const byHost = async (fleet: Fleet, cmd = 'uptime') => {
  const r = await fleet.runAll(cmd);
  return { r, by: Object.fromEntries(r.results.map((x) => [x.host, x])) };
};

test('runAll: every host gets the right outcome and error kind; groups and summary add up', async () => {
  const fake = new FakeClient({
    good: { kind: 'ok', out: ['up 3 days\n'] },
    nonzero: { kind: 'ok', status: 3, err: ['nope\n'] },
    killed: { kind: 'ok', signal: 'KILL' },
    refused: { kind: 'refuse' },
    denied: { kind: 'auth' },
    badkey: { kind: 'hostkey' },
    dropped: { kind: 'drop', out: ['partial'] },
  });
  const fleet = new Fleet(Object.keys({ good: 1, nonzero: 1, killed: 1, refused: 1, denied: 1, badkey: 1, dropped: 1 }), {
    connector: fake.connector,
    retries: 0,
  });
  const { r, by } = await byHost(fleet);
  assert.equal(by['good']!.outcome, 'succeeded');
  assert.equal(by['good']!.stdout, 'up 3 days\n');
  assert.deepEqual([by['nonzero']!.outcome, by['nonzero']!.exitStatus, by['nonzero']!.stderr], ['failed', 3, 'nope\n']);
  assert.deepEqual([by['killed']!.outcome, by['killed']!.exitSignal], ['failed', 'KILL']);
  assert.deepEqual([by['refused']!.outcome, by['refused']!.error?.kind], ['unreachable', 'unreachable']);
  assert.deepEqual([by['denied']!.outcome, by['denied']!.error?.kind], ['unreachable', 'auth-failed']);
  assert.deepEqual([by['badkey']!.outcome, by['badkey']!.error?.kind], ['unreachable', 'host-key-refused']);
  assert.deepEqual([by['dropped']!.outcome, by['dropped']!.error?.kind, by['dropped']!.stdout], ['failed', 'connection-lost', 'partial']);
  assert.deepEqual(
    [r.summary.total, r.summary.succeeded, r.summary.failed, r.summary.unreachable],
    [7, 1, 3, 3],
  );
  assert.deepEqual(r.succeeded.map((x) => x.host), ['good']);
  assert.deepEqual(r.summary.errors, { unreachable: 1, 'auth-failed': 1, 'host-key-refused': 1, 'connection-lost': 1 });
  assert.equal(fake.open, 0, 'every connection closed');
});

test('run: per host, queued comes first and exactly one done comes last', async () => {
  const fake = new FakeClient({ b: { kind: 'refuse' } });
  const events = await lastValueFrom(new Fleet(['a', 'b', 'c'], { connector: fake.connector, retries: 1, backoff: { baseMs: 1 } }).run('x').pipe(toArray()));
  for (const h of ['a', 'b', 'c']) {
    const mine = events.filter((e) => e.host === h).map((e) => e.type);
    assert.equal(mine[0], 'queued');
    assert.equal(mine.at(-1), 'done');
    assert.equal(mine.filter((t) => t === 'done').length, 1);
  }
  assert.deepEqual(events.slice(0, 3).map((e) => e.type), ['queued', 'queued', 'queued']);
  assert.deepEqual(
    events.filter((e) => e.host === 'b').map((e) => e.type),
    ['queued', 'connecting', 'retry', 'connecting', 'error', 'done'],
  );
  assert.deepEqual(
    events.filter((e) => e.host === 'a').map((e) => e.type),
    ['queued', 'connecting', 'connected', 'started', 'stdout', 'exit', 'done'],
  );
});

test('concurrency: never more than the limit in flight', async () => {
  const table: Record<string, Behaviour> = {};
  const names = Array.from({ length: 30 }, (_, i) => `h${i}`);
  for (const n of names) table[n] = { kind: 'ok', delayMs: 5 };
  const fake = new FakeClient(table);
  const r = await new Fleet(names, { connector: fake.connector, concurrency: 4 }).runAll('x');
  assert.equal(r.summary.succeeded, 30);
  assert.equal(fake.maxOpen, 4);
});

test('retries: pre-start failures are retried; a started command is not re-run unless idempotent', async () => {
  const fake = new FakeClient({
    flaky: { kind: 'flaky', failures: 2, code: 'ECONNRESET' },
    denied: { kind: 'auth' },
    dropped: { kind: 'drop' },
  });
  const fleet = new Fleet(['flaky', 'denied', 'dropped'], { connector: fake.connector, retries: 3, backoff: { baseMs: 1, maxMs: 4 } });
  const { by } = await byHost(fleet);
  assert.deepEqual([by['flaky']!.outcome, by['flaky']!.attempts, fake.connects.get('flaky')], ['succeeded', 3, 3]);
  assert.equal(fake.connects.get('denied'), 1, 'auth failures are not retried');
  assert.deepEqual([by['dropped']!.outcome, fake.commands.get('dropped')], ['failed', 1]);
  // The connection died after the exec request left but before its reply: the command may be running.
  const cut = new FakeClient({ cut: { kind: 'lost-before-reply' } });
  const r3 = await new Fleet(['cut'], { connector: cut.connector, retries: 3, backoff: { baseMs: 1 } }).runAll('x');
  assert.deepEqual([r3.results[0]!.outcome, r3.results[0]!.commandStarted, r3.results[0]!.attempts, cut.commands.get('cut')], ['failed', true, 1, 1]);
  const fake2 = new FakeClient({ dropped: { kind: 'drop' } });
  const r2 = await new Fleet(['dropped'], { connector: fake2.connector, retries: 2, backoff: { baseMs: 1 } }).runAll('x', { idempotent: true });
  assert.equal(fake2.commands.get('dropped'), 3);
  assert.equal(r2.results[0]!.attempts, 3);
});

test('timeouts: connect, command and idle phases end the host with kind timeout and close it', async () => {
  const fake = new FakeClient({
    stuck: { kind: 'hang-connect' },
    slow: { kind: 'hang-command', out: ['a'] },
  });
  // The connect limit is far above the command's: an event loop stalled by a busy machine must not
  // let the fake's instant connect of 'slow' miss it (it did once, at 30 ms, with the suite running).
  const fleet = new Fleet(['stuck', 'slow'], { connector: fake.connector, retries: 0, timeouts: { connect: 600, command: 60 } });
  const { by } = await byHost(fleet);
  assert.deepEqual([by['stuck']!.error?.kind, by['stuck']!.error?.phase, by['stuck']!.outcome], ['timeout', 'connect', 'unreachable']);
  assert.deepEqual([by['slow']!.error?.kind, by['slow']!.error?.phase, by['slow']!.outcome], ['timeout', 'command', 'failed']);
  assert.equal(fake.options.get('stuck')!.connectTimeout, 600, 'the client gets its own connect limit (ms)');
  const idle = await new Fleet(['slow'], { connector: fake.connector, retries: 0, timeouts: { idle: 20, command: 5000 } }).runAll('x');
  assert.equal(idle.results[0]!.error?.phase, 'idle');
  const total = await new Fleet(['stuck'], { connector: fake.connector, retries: 5, backoff: { baseMs: 1 }, timeouts: { connect: 10, total: 35 } }).runAll('x');
  assert.equal(total.results[0]!.error?.phase, 'total');
  assert.equal(fake.open, 0);
});

test('unsubscribe closes every connection at once', async () => {
  const names = ['a', 'b', 'c'];
  const fake = new FakeClient({ a: { kind: 'hang-command' }, b: { kind: 'hang-command' }, c: { kind: 'hang-connect' } });
  const fleet = new Fleet(names, { connector: fake.connector });
  const sub = fleet.run('sleep 100').subscribe();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.open, 2);
  sub.unsubscribe();
  assert.equal(fake.open, 0);
});

test('AbortSignal: in-flight and queued hosts end as aborted, connections closed', async () => {
  const names = ['a', 'b', 'c', 'd'];
  const fake = new FakeClient({ a: { kind: 'hang-command' }, b: { kind: 'hang-connect' } });
  const ac = new AbortController();
  const fleet = new Fleet(names, { connector: fake.connector, concurrency: 2 });
  const p = fleet.runAll('sleep 100', { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  const r = await p;
  assert.deepEqual(r.results.map((x) => x.outcome), ['aborted', 'aborted', 'aborted', 'aborted']);
  assert.equal(fake.open, 0);
});

test('lines: output split into lines across chunk boundaries, CRLF and a last partial line', async () => {
  const fake = new FakeClient({ a: { kind: 'ok', out: ['one\r\ntw', 'o\nthr', 'ee'] } });
  const events = await lastValueFrom(new Fleet(['a'], { connector: fake.connector }).run('x', { lines: true }).pipe(toArray()));
  const lines = events.filter((e): e is Extract<HostEvent, { type: 'stdout' | 'stderr' }> => e.type === 'stdout').map((e) => e.data);
  assert.deepEqual(lines, ['one', 'two', 'three']);
});

test('per-host options override fleet-wide ones', async () => {
  const fake = new FakeClient({});
  await new Fleet([{ name: 'x', host: '10.0.0.1', port: 2222, username: 'ops' }, 'y'], {
    connector: fake.connector,
    connect: { username: 'fleet', port: 22, knownHosts: null },
  }).runAll('x');
  assert.deepEqual([fake.options.get('10.0.0.1')!.username, fake.options.get('10.0.0.1')!.port], ['ops', 2222]);
  assert.deepEqual([fake.options.get('y')!.username, fake.options.get('y')!.port, fake.options.get('y')!.knownHosts], ['fleet', 22, null]);
});

test('bastion: targets behind one jump host share one bastion connection', async () => {
  let bastionConnects = 0;
  const opened: string[] = [];
  const targets = new FakeClient({});
  const bastionOptions: FleetConnectOptions[] = [];
  const connector: Connector = async (host, options) => {
    if (host === 'bastion') {
      bastionConnects += 1;
      bastionOptions.push(options);
      return {
        createProcess: () => {
          throw new Error('not used');
        },
        openConnection: (h: string, p: number) => {
          opened.push(`${h}:${p}`);
          return new PassThrough();
        },
        close: () => undefined,
      };
    }
    const tunnel = options.tunnel as FleetConnection | undefined;
    assert.ok(tunnel?.openConnection, 'target connects through the bastion connection');
    assert.equal(options.sock, undefined);
    await tunnel.openConnection(host, (options.port as number | undefined) ?? 22);
    return targets.connector(host, options);
  };
  const hosts = Array.from({ length: 5 }, (_, i) => ({ name: `t${i}`, host: `10.0.0.${i}`, jump: 'ops@bastion:2200' }));
  const r = await new Fleet(hosts, { connector, concurrency: 5, connect: { port: 22, username: 'fleet' } }).runAll('x');
  assert.equal(r.summary.succeeded, 5);
  assert.equal(bastionConnects, 1);
  assert.deepEqual([bastionOptions[0]!.port, bastionOptions[0]!.username, bastionOptions[0]!.tunnel], [2200, 'ops', undefined]);
  assert.deepEqual(opened.sort(), ['10.0.0.0:22', '10.0.0.1:22', '10.0.0.2:22', '10.0.0.3:22', '10.0.0.4:22']);
  const noFwd: Connector = async () => ({ createProcess: () => Promise.reject(new Error('x')), close: () => undefined });
  const r2 = await new Fleet([{ name: 't', host: 't', jump: 'b' }], { connector: noFwd, retries: 0 }).runAll('x');
  assert.deepEqual([r2.results[0]!.error?.kind, r2.results[0]!.error?.code], ['internal', 'ERR_FLEET_NO_FORWARDING']);
});

test('bastion: a chain a,b dials b through a; a bastion that is down makes its hosts unreachable, others unaffected', async () => {
  const seen: [string, unknown][] = [];
  const targets = new FakeClient({});
  const connector: Connector = async (host, options) => {
    if (host === 'down') {
      seen.push([host, options.tunnel]);
      throw Object.assign(new Error('connect ECONNREFUSED 10.9.9.9:22'), { code: 'ECONNREFUSED' });
    }
    if (host === 'b') {
      seen.push([host, options.tunnel]);
      return { createProcess: () => Promise.reject(new Error('x')), openConnection: () => new PassThrough(), close: () => undefined };
    }
    return targets.connector(host, options);
  };
  const hosts = [
    ...Array.from({ length: 4 }, (_, i) => ({ name: `behind${i}`, host: `10.1.0.${i}`, jump: 'down' })),
    ...Array.from({ length: 3 }, (_, i) => ({ name: `chain${i}`, host: `10.2.0.${i}`, jump: 'u@a:2201,b' })),
    { name: 'direct', host: '10.3.0.1' },
  ];
  const r = await new Fleet(hosts, { connector, retries: 1, backoff: { baseMs: 1, maxMs: 2 } }).runAll('x');
  assert.equal(r.summary.succeeded, 4);
  assert.deepEqual(r.unreachable.map((x) => x.host).sort(), ['behind0', 'behind1', 'behind2', 'behind3']);
  for (const u of r.unreachable) {
    assert.equal(u.error?.kind, 'unreachable');
    assert.equal(u.error?.code, 'ECONNREFUSED');
    assert.match(u.error!.message, /^bastion down: /);
  }
  // One connect to the chain's last hop (with the earlier hops as its tunnel); the dead bastion is dialled once: its hosts and their retries within bastionFailureHoldMs share the failure.
  assert.deepEqual(seen.filter(([h]) => h === 'b'), [['b', 'u@a:2201']]);
  assert.equal(seen.filter(([h]) => h === 'down').length, 1);
});

test('bastion: a jump resolver (the ssh_config hook) routes hosts without `jump` through the shared pool', async () => {
  let bastionConnects = 0;
  const targets = new FakeClient({});
  const connector: Connector = async (host, options) => {
    if (host === 'jumpbox') {
      bastionConnects += 1;
      assert.equal(options.config, null);
      return { createProcess: () => Promise.reject(new Error('x')), openConnection: () => new PassThrough(), close: () => undefined };
    }
    if (host.startsWith('10.5.')) assert.ok(options.tunnel, `${host} goes through the bastion`);
    else assert.equal(options.tunnel, undefined);
    return targets.connector(host, options);
  };
  const hosts = ['10.5.0.1', '10.5.0.2', '10.5.0.3', '10.6.0.1'];
  const r = await new Fleet(hosts, {
    connector,
    jumpResolver: (h) => (h.startsWith('10.5.') ? { jump: 'ops@jumpbox:22', options: { config: null } } : undefined),
  }).runAll('x');
  assert.equal(r.summary.succeeded, 4);
  assert.equal(bastionConnects, 1);
});

test('Fleet: bad arguments throw naming the argument', () => {
  assert.throws(() => new Fleet([{ name: 'a', host: 'x' }, { name: 'a', host: 'y' }]), /appears twice/);
  assert.throws(() => new Fleet(['a'], { concurrency: 0 }), /concurrency/);
  assert.throws(() => new Fleet(['a'], { retries: -1 }), /retries/);
  assert.throws(() => new Fleet(['a']).run(''), /command/);
});

test('classifyError: error kinds from the client, sockets and the fleet', async () => {
  const { classifyError, PhaseTimeoutError } = await import('../../src/orchestrator/classify-error.js');
  const { TimeoutError, DisconnectError, ProtocolError } = await import('../../src/protocol/errors.js');
  const errno = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:22`), { code });
  const table: [unknown, string][] = [
    [errno('ECONNREFUSED'), 'unreachable'],
    [errno('EHOSTUNREACH'), 'unreachable'],
    [errno('ENOTFOUND'), 'unreachable'],
    [new ConnectionLost('connect ECONNREFUSED 127.0.1.8:2222'), 'unreachable'],
    [new ConnectionLost('read ECONNRESET'), 'connection-lost'],
    [new ConnectionLost(), 'connection-lost'],
    [errno('ECONNRESET'), 'connection-lost'],
    [new DisconnectError(11, 'bye'), 'connection-lost'],
    [new ProtocolError('bad packet'), 'connection-lost'],
    [new PermissionDenied(), 'auth-failed'],
    [new HostKeyNotVerifiable('mismatch'), 'host-key-refused'],
    [new TimeoutError('slow'), 'timeout'],
    [new PhaseTimeoutError('idle', 5), 'timeout'],
    [errno('ETIMEDOUT'), 'timeout'],
    [Object.assign(new Error('x'), { name: 'AbortError' }), 'aborted'],
    [new TypeError('bug'), 'internal'],
    ['a string', 'internal'],
  ];
  for (const [err, kind] of table) assert.equal(classifyError(err).kind, kind, String(err));
  assert.equal(classifyError(new PhaseTimeoutError('idle', 5)).phase, 'idle');
});

test('connect rate: global and per-address limits pace the connector calls (virtual time)', async () => {
  const { VirtualTimeScheduler, VirtualAction } = await import('rxjs');
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const calls: string[] = [];
  const connector: Connector = (host, options) => {
    calls.push(`${host}:${options.port}`);
    return new Promise(() => undefined); // never connects; we only count attempts
  };
  const hosts = [
    { name: 'a1', host: '10.0.0.1', port: 22 },
    { name: 'a2', host: '10.0.0.1', port: 23 },
    { name: 'b', host: '10.0.0.2', port: 22 },
    { name: 'c', host: '10.0.0.3', port: 22 },
  ];
  const fleet = new Fleet(hosts, {
    connector,
    scheduler,
    connectRate: { global: { perSecond: 100, burst: 2 }, perTarget: { perSecond: 10 } },
  });
  const sub = fleet.run('x').subscribe();
  const at = (ms: number): string[] => {
    scheduler.maxFrames = ms;
    scheduler.flush();
    return [...calls];
  };
  // a1 and b share the burst of 2 (a2 waits for 10.0.0.1's own bucket: 100 ms).
  assert.deepEqual(at(0), ['10.0.0.1:22', '10.0.0.2:22']);
  assert.deepEqual(at(9), ['10.0.0.1:22', '10.0.0.2:22']);
  assert.deepEqual(at(10), ['10.0.0.1:22', '10.0.0.2:22', '10.0.0.3:22']);
  assert.deepEqual(at(99), ['10.0.0.1:22', '10.0.0.2:22', '10.0.0.3:22']);
  assert.deepEqual(at(100), ['10.0.0.1:22', '10.0.0.2:22', '10.0.0.3:22', '10.0.0.1:23']);
  sub.unsubscribe();
});
