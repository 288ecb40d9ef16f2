import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSshConfig, localResolveOptions } from '../../src/actors/config-loader.js';
import { matchPattern } from '../../src/protocol/host-pattern.js';
import { parseSshConfig, resolveSshConfig, type ResolvedSshConfig } from '../../src/protocol/ssh-config.js';
import { applyAlgorithmList, expandTokens, parseTime, splitArgs } from '../../src/protocol/ssh-config-tokens.js';

const hasSsh = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).error === undefined;
const SKIP_SSH = hasSsh ? false : 'SKIPPED: needs Debian package openssh-client (ssh)';

const COMPARED = [
  'hostname', 'port', 'user', 'identityfile', 'identitiesonly', 'certificatefile', 'proxyjump', 'proxycommand',
  'userknownhostsfile', 'stricthostkeychecking', 'connecttimeout', 'serveraliveinterval', 'serveralivecountmax',
  'ciphers', 'kexalgorithms', 'macs', 'hostkeyalgorithms', 'compression', 'forwardagent', 'sendenv', 'setenv',
  'rekeylimit', 'identityagent', 'batchmode',
];

function sshG(cfg: string, host: string, user?: string, port?: number): Map<string, string[]> | string {
  const args = ['-G', '-F', cfg, ...(user ? ['-l', user] : []), ...(port ? ['-p', String(port)] : []), host];
  const r = spawnSync('ssh', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return r.stderr;
  const out = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const k = line.slice(0, sp);
    if (COMPARED.includes(k)) out.set(k, [...(out.get(k) ?? []), line.slice(sp + 1)]);
  }
  return out;
}

/** Renders our resolution the way ssh -G prints it, with ssh's defaults for unset options. */
function asSshG(r: ResolvedSshConfig, defaults: Map<string, string[]>, home: string): Map<string, string[]> {
  const yn = (v: boolean | undefined) => [v ? 'yes' : 'no'];
  const algs = (v: string | undefined, k: string) =>
    [v === undefined ? defaults.get(k)![0]! : applyAlgorithmList(v, defaults.get(k)![0]!.split(','), matchPattern).join(',')];
  const m = new Map<string, string[]>([
    ['hostname', [r.hostName]], ['port', [String(r.port)]], ['user', [r.user]],
    ['identityfile', r.identityFile.length ? r.identityFile : defaults.get('identityfile')!],
    ['identitiesonly', yn(r.identitiesOnly)], ['batchmode', yn(r.batchMode)], ['compression', yn(r.compression)],
    ['userknownhostsfile', [(r.userKnownHostsFile ?? [`${home}/.ssh/known_hosts`, `${home}/.ssh/known_hosts2`]).join(' ')]],
    ['stricthostkeychecking', [{ yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[r.strictHostKeyChecking ?? 'ask']]],
    ['connecttimeout', [r.connectTimeout === undefined ? 'none' : String(r.connectTimeout)]],
    ['serveraliveinterval', [String(r.serverAliveInterval ?? 0)]], ['serveralivecountmax', [String(r.serverAliveCountMax ?? 3)]],
    ['ciphers', algs(r.ciphers, 'ciphers')], ['kexalgorithms', algs(r.kexAlgorithms, 'kexalgorithms')],
    ['macs', algs(r.macs, 'macs')], ['hostkeyalgorithms', algs(r.hostKeyAlgorithms, 'hostkeyalgorithms')],
    ['forwardagent', [typeof r.forwardAgent === 'string' ? r.forwardAgent : yn(r.forwardAgent)[0]!]],
    ['rekeylimit', [`${r.rekeyLimit?.bytes ?? 0} ${r.rekeyLimit?.seconds ?? 0}`]],
  ]);
  if (r.certificateFile.length) m.set('certificatefile', r.certificateFile);
  if (r.proxyJump) m.set('proxyjump', [r.proxyJump]);
  if (r.proxyCommand) m.set('proxycommand', [r.proxyCommand]);
  if (r.identityAgent) m.set('identityagent', [r.identityAgent]);
  if (r.sendEnv.length) m.set('sendenv', r.sendEnv);
  const env = Object.entries(r.setEnv).map(([k, v]) => `${k}=${v}`);
  if (env.length) m.set('setenv', env);
  return m;
}

interface Case { name: string; cfg: string; host: string; user?: string; port?: number; files?: Record<string, string> }

const CASES: Case[] = [
  { name: 'Host alias with HostName/Port/User', host: 'web', cfg: 'Host web\n  HostName web.example.com\n  Port 2200\n  User deploy\n' },
  { name: 'wildcards, first obtained value wins', host: 'db1.example', cfg: 'Host db?.example\n Port 5\nHost *.example\n Port 6\n User star\nHost *\n User last\n' },
  { name: 'negated Host pattern', host: 'bastion.corp', cfg: 'Host *.corp !bastion.corp\n User inner\nHost *\n User outer\n' },
  { name: 'negation does not block other hosts', host: 'app.corp', cfg: 'Host *.corp !bastion.corp\n User inner\n' },
  { name: 'Host patterns are case-sensitive on the argument', host: 'FOO', cfg: 'Host foo\n Port 1\nHost FOO\n Port 2\n' },
  { name: 'multi-valued IdentityFile and CertificateFile', host: 'h', cfg: 'Host h\n IdentityFile ~/.ssh/a\n CertificateFile ~/.ssh/a-cert.pub\nHost *\n IdentityFile /keys/b\n IdentitiesOnly yes\n' },
  { name: 'SendEnv accumulates, SetEnv first line wins', host: 'h', cfg: 'SendEnv LANG LC_*\nSendEnv FOO\nSetEnv A=1 "B=two words"\nSetEnv C=3\n' },
  { name: 'Match user with -l', host: 'h', user: 'alice', cfg: 'Match user alice,bob\n Port 5\nMatch user carol\n Port 6\n' },
  { name: 'Match user sees User set earlier', host: 'h', cfg: 'Host h\n User carol\nMatch user c*\n Port 7\n' },
  { name: 'Match host uses the HostName', host: 'short', cfg: 'Host short\n HostName Long.Example.Org\nMatch host *.example.org\n User m\nMatch originalhost short\n Port 8\n' },
  { name: 'Match all and negated Match', host: 'x', cfg: 'Match !host x\n Port 1\nMatch all\n Port 2\n' },
  { name: 'Match final re-reads with the final host name', host: 'foo', cfg: 'Host foo\n HostName bar\nHost bar\n Port 7\nMatch final host bar\n User u1\nMatch final originalhost foo\n Port 9\n' },
  { name: 'Match canonical holds in the final pass', host: 'foo', cfg: 'Match canonical\n User c\nMatch final\n Compression yes\n' },
  { name: 'Match localuser', host: 'h', cfg: `Match localuser ${localResolveOptions().localUser}\n User fromlocal\n` },
  { name: 'Include with a glob, inside a Host block', host: 'inc', files: { 'conf.d/10-a.conf': 'Port 1010\nHost other\n Port 1\n', 'conf.d/20-b.conf': 'User incuser\nHost *\n Compression yes\n' }, cfg: 'Host inc\n Include $DIR/conf.d/*.conf\n BatchMode yes\nHost nope\n Include $DIR/conf.d/*.conf\n' },
  { name: 'Include is skipped in inactive blocks; state restored after it', host: 'zzz', files: { 'x.conf': 'Port 3333\n' }, cfg: 'Host inc\n Include $DIR/x.conf\nHost zzz\n Include $DIR/missing-*.conf\n User z\n' },
  { name: 'tokens in UserKnownHostsFile and IdentityAgent', host: 'Tok', user: 'ru', port: 2022, cfg: 'Host Tok\n HostName real-%h.example\n UserKnownHostsFile ~/kh_%h_%p_%r_%n_%u_%d_%%_%l_%L_%i_%k /x/%C\n IdentityAgent ~/agent-%r\n ForwardAgent ~/fwd-%h.sock\n' },
  { name: 'algorithm lists: + - ^ and replace', host: 'h', cfg: 'Ciphers +aes128-cbc\nMACs -hmac-sha1*,umac-64*\nKexAlgorithms ^curve25519-sha256\nHostKeyAlgorithms ssh-ed25519,rsa-sha2-256\n' },
  { name: 'key=value and quoted forms', host: 'h', cfg: 'Port=33\nUser = "al ice"\nHostName\t=  "q.example"\nIdentityFile "/p a/t h"\n' },
  { name: 'ProxyJump beats a later ProxyCommand', host: 'h', cfg: 'ProxyJump u@j1:2222,j2\nProxyCommand nc %h %p\n' },
  { name: 'ProxyCommand kept raw, beats a later ProxyJump', host: 'h', cfg: 'ProxyCommand ssh -W "%h:%p" jump # not a comment\nProxyJump j\n' },
  { name: 'ProxyJump none still blocks a later ProxyCommand', host: 'h', cfg: 'Host h\n ProxyJump none\nHost *\n ProxyCommand nc %h %p\n' },
  { name: 'ProxyCommand none still blocks a later ProxyJump', host: 'h', cfg: 'Host h\n ProxyCommand none\nHost *\n ProxyJump j\n' },
  { name: 'misc scalar options', host: 'h', cfg: 'StrictHostKeyChecking accept-new\nConnectTimeout 1m30s\nServerAliveInterval 15\nServerAliveCountMax 5\nRekeyLimit 1G 1h\nIdentityAgent none\nForwardAgent yes\nBatchMode yes\n' },
  { name: 'StrictHostKeyChecking off, RekeyLimit size only', host: 'h', cfg: 'StrictHostKeyChecking off\nRekeyLimit 500K\nConnectTimeout 0\n' },
  { name: '-p and -l win over the config', host: 'h', user: 'cli', port: 2222, cfg: 'Host h\n User cfg\n Port 1\n' },
];

test('resolution matches ssh -G for a table of configs', { skip: SKIP_SSH }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-cfg-'));
  try {
    const home = localResolveOptions().homeDir;
    writeFileSync(join(dir, 'empty'), '');
    const defaults = sshG(join(dir, 'empty'), 'h');
    assert.ok(typeof defaults !== 'string', String(defaults));
    assert.ok(CASES.length >= 15);
    for (const c of CASES) {
      for (const [name, text] of Object.entries(c.files ?? {})) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      const cfg = join(dir, 'cfg');
      writeFileSync(cfg, c.cfg.replaceAll('$DIR', dir));
      const theirs = sshG(cfg, c.host, c.user, c.port);
      assert.ok(typeof theirs !== 'string', `${c.name}: ssh -G failed: ${theirs}`);
      const config = loadSshConfig(cfg);
      assert.deepEqual(config.errors, [], c.name);
      const r = resolveSshConfig(config, c.host, localResolveOptions({ user: c.user, port: c.port }));
      assert.deepEqual(Object.fromEntries(asSshG(r, defaults, home)), Object.fromEntries(theirs), c.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed config lines are reported with file and line, others still apply', () => {
  const rows: [string, RegExp][] = [
    ['Port', /no argument/],
    ['Port abc', /bad port/],
    ['Port 22 23', /extra arguments/],
    ['Port 70000', /bad port/],
    ['User "unterminated', /unterminated quote/],
    ['Compression maybe', /yes or no/],
    ['StrictHostKeyChecking sometimes', /unsupported value/],
    ['ConnectTimeout 5x', /invalid time/],
    ['ServerAliveCountMax -1', /invalid number/],
    ['RekeyLimit 1Q', /bad size/],
    ['RekeyLimit 1G 1h 2', /extra arguments/],
    ['SetEnv NOEQUALS', /NAME=VALUE/],
    ['Match', /no argument/],
    ['Match all host x', /cannot be combined/],
    ['Match host', /needs an argument/],
    ['Match tagged x', /unsupported Match attribute/],
    ['IdentityFile a b', /extra arguments/],
  ];
  const text = ['# comment', '', ...rows.map((r) => r[0]), 'User fine'].join('\n');
  const cfg = parseSshConfig(text, 'test.cfg');
  assert.equal(cfg.errors.length, rows.length);
  rows.forEach(([, re], i) => {
    assert.equal(cfg.errors[i]!.line, i + 3, rows[i]![0]);
    assert.equal(cfg.errors[i]!.file, 'test.cfg');
    assert.match(cfg.errors[i]!.message, re, rows[i]![0]);
  });
  const r = resolveSshConfig(cfg, 'h', { localUser: 'me', homeDir: '/home/me' });
  assert.equal(r.user, 'fine');
  assert.equal(r.port, 22);
  assert.throws(() => resolveSshConfig(cfg, '', { localUser: 'me', homeDir: '/h' }), TypeError);
  assert.throws(() => parseSshConfig(null as unknown as string), TypeError);
});

test('Match exec runs only through an injected function', () => {
  const cfg = parseSshConfig('Match exec "test %h = x"\n Port 9\nMatch !exec "false %r"\n User n\n');
  const off = resolveSshConfig(cfg, 'x', { localUser: 'me', homeDir: '/h' });
  assert.equal(off.port, 22);
  assert.equal(off.user, 'me', 'a negated exec does not apply when exec is disabled');
  assert.equal(off.warnings.length, 2);
  const ran: string[] = [];
  const on = resolveSshConfig(cfg, 'x', { localUser: 'me', homeDir: '/h', exec: (c) => (ran.push(c), c.startsWith('test')) });
  assert.deepEqual(ran, ['test x = x', 'false me']);
  assert.equal(on.port, 9);
  assert.equal(on.user, 'n');
});

test('token, time and argument helpers', () => {
  assert.equal(expandTokens('%h:%p %%', { h: 'a', p: '1' }), 'a:1 %');
  assert.deepEqual(expandTokens('%z', { h: 'a' }), { error: '"%z": unknown token %z' });
  assert.deepEqual(expandTokens('%p', { p: '1' }, 'h'), { error: '"%p": unknown token %p' });
  assert.deepEqual(expandTokens('50%', {}), { error: '"50%": trailing %' });
  assert.equal(parseTime('1h30m'), 5400);
  assert.equal(parseTime('2W'), 1209600);
  assert.equal(parseTime('1.5h'), null);
  assert.deepEqual(splitArgs(`a "b c" 'd\\'e' f\\ g # tail`), ['a', 'b c', "d'e", 'f g']);
  assert.deepEqual(splitArgs('x#y z'), ['x#y', 'z']);
  assert.deepEqual(applyAlgorithmList('-a*', ['ab', 'b', 'ac'], matchPattern), ['b']);
  assert.deepEqual(applyAlgorithmList('^c,b', ['a', 'b'], matchPattern), ['c', 'b', 'a']);
  assert.deepEqual(applyAlgorithmList('+a,c', ['a', 'b'], matchPattern), ['a', 'b', 'c']);
});

test('Include depth is bounded and missing files are ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetssh-inc-'));
  try {
    writeFileSync(join(dir, 'loop'), `Include ${join(dir, 'loop')}\nPort 4\n`);
    const cfg = loadSshConfig(join(dir, 'loop'), { homeDir: dir });
    let depth = 0;
    let c = cfg;
    for (;;) {
      const inc = c.items.find((i) => i.kind === 'include');
      if (!inc || inc.kind !== 'include' || inc.configs.length === 0) break;
      c = inc.configs[0]!;
      depth++;
    }
    assert.equal(depth, 16);
    assert.match(c.errors[0]!.message, /nested more than 16/);
    assert.equal(resolveSshConfig(cfg, 'h', { localUser: 'me', homeDir: dir }).port, 4);
    const missing = loadSshConfig(join(dir, 'nope'), { homeDir: dir });
    assert.match(missing.errors[0]!.message, /cannot read: ENOENT/);
    assert.deepEqual(loadSshConfig(undefined, { homeDir: dir }).errors, [], 'a missing default file is empty');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
