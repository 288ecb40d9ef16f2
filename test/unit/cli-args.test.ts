// fleetssh argument parsing: accepted forms and usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs, UsageError, type RunArgs } from '../../src/cli/args.js';

test('run: all options', () => {
  const a = parseCliArgs([
    'run', '-i', 'inv.ini', '-i', 'more.json', '-H', 'web[1-2]', '-H', 'ops@db:2222', '-g', 'web', '-l', 'deploy', '-P', '2200',
    '-p', '50', '-t', '30', '--connect-timeout', '5', '--retries', '0', '--rate', '20', '--json', '-o', 'out', '--insecure', '-k', 'id_ed25519',
    'uname', '-a',
  ]) as RunArgs;
  assert.deepEqual(a, {
    cmd: 'run', inventories: ['inv.ini', 'more.json'], hosts: ['web[1-2]', 'ops@db:2222'], groups: ['web'], user: 'deploy', port: 2200,
    parallel: 50, timeout: 30, connectTimeout: 5, retries: 0, rate: 20, json: 'hosts', outdir: 'out', inline: false, progress: 'auto',
    insecure: true, keys: ['id_ed25519'], command: 'uname -a',
  });
});

test('run: defaults, --json-events, --inline, progress switches, -- before the command', () => {
  const a = parseCliArgs(['run', '-H', 'h', '--json-events', '--no-progress', '--', 'ls', '-l']) as RunArgs;
  assert.deepEqual([a.parallel, a.timeout, a.connectTimeout, a.retries, a.rate, a.json, a.progress, a.command], [32, 0, 10, 2, 0, 'events', false, 'ls -l']);
  const b = parseCliArgs(['run', '-H', 'h', '--inline', '--progress', 'uptime']) as RunArgs;
  assert.deepEqual([b.inline, b.progress], [true, true]);
});

test('exec and demo', () => {
  assert.deepEqual(parseCliArgs(['exec', '--insecure', 'ops@h:22', 'cat', '/etc/hostname']), {
    cmd: 'exec', target: 'ops@h:22', timeout: 0, insecure: true, keys: [], command: 'cat /etc/hostname',
  });
  assert.deepEqual(parseCliArgs(['demo']), { cmd: 'demo', count: 200, parallel: 64, command: 'uptime', json: false });
  assert.deepEqual(parseCliArgs(['demo', '-n', '10', 'uname', '-a']), { cmd: 'demo', count: 10, parallel: 64, command: 'uname -a', json: false });
});

test('help and version', () => {
  for (const argv of [[], ['--help'], ['-h'], ['help']]) assert.equal(parseCliArgs(argv).cmd, 'help');
  assert.deepEqual(parseCliArgs(['run', '--help']), { cmd: 'help', topic: 'run' });
  assert.equal(parseCliArgs(['--version']).cmd, 'version');
});

test('usage errors name the problem', () => {
  const table: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['run', 'uptime'], /inventory \(-i FILE\) or hosts/],
    [['run', '-H', 'h'], /missing COMMAND/],
    [['run', '-H', 'h', '-p', '0', 'x'], /-p\/--parallel/],
    [['run', '-H', 'h', '-p', '2.5', 'x'], /-p\/--parallel: expected an integer/],
    [['run', '-H', 'h', '-t', 'soon', 'x'], /-t\/--timeout/],
    [['run', '-H', 'h', '-P', '70000', 'x'], /-P\/--port/],
    [['run', '-H', 'h', '--json', '--json-events', 'x'], /exclusive/],
    [['run', '-H', 'h', '--bogus', 'x'], /bogus/],
    [['run', '-H'], /argument missing|-H/],
    [['exec'], /missing HOST/],
    [['exec', 'h'], /missing COMMAND/],
    [['demo', '-n', '0'], /-n\/--count/],
  ];
  for (const [argv, re] of table) assert.throws(() => parseCliArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
});

test('options stop at the command: its own flags are passed through', () => {
  const a = parseCliArgs(['run', '-H', 'h', 'ls', '-l', '-p', '3']) as RunArgs;
  assert.deepEqual([a.command, a.parallel], ['ls -l -p 3', 32]);
  assert.equal((parseCliArgs(['run', '-H', 'h', 'grep', '-h', 'x']) as RunArgs).command, 'grep -h x');
  assert.equal((parseCliArgs(['exec', 'h', 'ls', '-t', '5']) as { command: string }).command, 'ls -t 5');
});

test('-J/--jump: a ProxyJump list for run and exec; malformed lists are usage errors', () => {
  assert.equal((parseCliArgs(['run', '-H', 'h', '-J', 'ops@bastion:2200', 'id']) as RunArgs).jump, 'ops@bastion:2200');
  assert.equal((parseCliArgs(['run', '-H', 'h', '--jump', 'a, b', 'id']) as RunArgs).jump, 'a,b');
  assert.deepEqual(parseCliArgs(['exec', '-J', 'gw', 'h', 'id']), { cmd: 'exec', target: 'h', timeout: 0, insecure: false, keys: [], jump: 'gw', command: 'id' });
  assert.throws(() => parseCliArgs(['run', '-H', 'h', '-J', 'a,,b', 'id']), (e: unknown) => e instanceof UsageError && /-J\/--jump/.test(e.message));
});
