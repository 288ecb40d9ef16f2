// Inventory readers: tables of valid inputs with the HostSpecs they give, and malformed inputs with the file:line they name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHostPattern } from '../../src/orchestrator/inventory/host-ranges.js';
import { parseHostsFile, hostsFromStrings } from '../../src/orchestrator/inventory/hosts-file.js';
import { parseAnsibleIni } from '../../src/orchestrator/inventory/ansible-ini.js';
import { parseAnsibleYaml } from '../../src/orchestrator/inventory/ansible-yaml.js';
import { parseYaml } from '../../src/orchestrator/inventory/yaml-subset.js';
import { parseJsonInventory } from '../../src/orchestrator/inventory/json-inventory.js';
import { parseSshConfigHosts } from '../../src/orchestrator/inventory/ssh-config-hosts.js';
import { detectFormat, parseInventory, selectGroups } from '../../src/orchestrator/inventory/load-inventory.js';
import { InventoryError } from '../../src/orchestrator/inventory/inventory-error.js';
import { parseTarget } from '../../src/orchestrator/target.js';

test('host ranges: pdsh and Ansible syntax, padding, lists, products', () => {
  const table: [string, string[]][] = [
    ['web1', ['web1']],
    ['web[01-03].dc1', ['web01.dc1', 'web02.dc1', 'web03.dc1']],
    ['10.0.0.[1-3]', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['n[1,3,5-7]', ['n1', 'n3', 'n5', 'n6', 'n7']],
    ['n[8-10]', ['n8', 'n9', 'n10']],
    ['n[008-010]', ['n008', 'n009', 'n010']],
    ['r[1-2]c[1-2]', ['r1c1', 'r1c2', 'r2c1', 'r2c2']],
    ['web[01:03]', ['web01', 'web02', 'web03']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['x[0:6:3]', ['x0', 'x3', 'x6']],
    ['[::1]:2222', ['[::1]:2222']],
  ];
  for (const [pattern, want] of table) assert.deepEqual(expandHostPattern(pattern), want, pattern);
  assert.equal(expandHostPattern('h[1-1000]').length, 1000);
});

test('host ranges: malformed patterns are refused', () => {
  for (const bad of ['web[1-', 'web]', 'web[]', 'web[3-1]', 'web[a-b]', 'web[1:2:0]', 'h[1-9999999]', 'x[1:2:x:4]', 'h[1-2000][1-2000]']) {
    assert.throws(() => expandHostPattern(bad), RangeError, bad);
  }
});

test('targets: [user@]host[:port] and IPv6', () => {
  assert.deepEqual(parseTarget('web1'), { host: 'web1' });
  assert.deepEqual(parseTarget('ops@web1:2222'), { host: 'web1', port: 2222, username: 'ops' });
  assert.deepEqual(parseTarget('[::1]:22'), { host: '::1', port: 22 });
  assert.deepEqual(parseTarget('fe80::1'), { host: 'fe80::1' });
  for (const bad of ['', '@h', 'h:0', 'h:70000', 'h:x', 'a b', '[::1']) assert.throws(() => parseTarget(bad), RangeError, bad);
});

test('hosts file: users, ports, comments, ranges, a trailing user column, duplicates dropped', () => {
  const text = `# fleet
web[1-2]            # two web servers
ops@db1:2222
cache1 deploy
web1
`;
  assert.deepEqual(parseHostsFile(text, 'hosts'), [
    { name: 'web1', host: 'web1' },
    { name: 'web2', host: 'web2' },
    { name: 'db1:2222', host: 'db1', port: 2222, username: 'ops' },
    { name: 'cache1', host: 'cache1', username: 'deploy' },
  ]);
  assert.deepEqual(
    hostsFromStrings(['a,b', 'n[1,2]']).map((h) => h.name),
    ['a', 'b', 'n1', 'n2'],
  );
});

function assertInventoryError(fn: () => unknown, file: string, line: number, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InventoryError, String(err));
    assert.equal(err.file, file);
    assert.equal(err.line, line, err.message);
    assert.match(err.message, new RegExp(`^${file.replace('.', '\\.')}(:${line})?: `));
    assert.match(err.reason, re);
    return true;
  });
}

test('hosts file: malformed lines name file and line', () => {
  assertInventoryError(() => parseHostsFile('ok\nweb[1-\n', 'h.txt'), 'h.txt', 2, /unmatched/);
  assertInventoryError(() => parseHostsFile('ok\n\nh:99999\n', 'h.txt'), 'h.txt', 3, /port/);
  assertInventoryError(() => parseHostsFile('a b c\n', 'h.txt'), 'h.txt', 1, /expected/);
});

const ini = `
# Ansible INI
lonely ansible_host=10.9.9.9
[web]
web[01:02].example.com ansible_port=2201
web03.example.com ansible_host=10.0.0.3 ansible_user="web admin"

[db]
db1 ansible_ssh_user=dbops

[web:vars]
ansible_user=deploy
http_port = 8080

[prod:children]
web
db

[prod:vars]
ansible_user=produser
ansible_ssh_common_args='-o ProxyJump=jump@bastion:2200'
`;

test('ansible INI: groups, children, group vars by depth, host vars win', () => {
  const hosts = parseAnsibleIni(ini, 'inv.ini');
  const by = Object.fromEntries(hosts.map((h) => [h.name, h]));
  assert.deepEqual(Object.keys(by).sort(), ['db1', 'lonely', 'web01.example.com', 'web02.example.com', 'web03.example.com']);
  assert.deepEqual(by['lonely'], { name: 'lonely', host: '10.9.9.9', groups: [] });
  // web (depth 2) overrides prod (depth 1); the host line overrides both.
  assert.equal(by['web01.example.com']!.username, 'deploy');
  assert.equal(by['web01.example.com']!.port, 2201);
  assert.equal(by['web01.example.com']!.jump, 'jump@bastion:2200');
  assert.deepEqual(by['web01.example.com']!.groups, ['prod', 'web']);
  assert.equal(by['web01.example.com']!.vars!['http_port'], '8080');
  assert.equal(by['web03.example.com']!.host, '10.0.0.3');
  assert.equal(by['web03.example.com']!.username, 'web admin');
  assert.equal(by['db1']!.username, 'dbops');
  assert.deepEqual(selectGroups(hosts, ['db']).map((h) => h.name), ['db1']);
  assert.equal(selectGroups(hosts, ['prod']).length, 4);
  assert.equal(selectGroups(hosts, ['all']).length, 5);
  assert.deepEqual(selectGroups(hosts, ['lonely', 'db']).map((h) => h.name), ['lonely', 'db1']);
});

test('ansible INI: malformed input names file and line', () => {
  assertInventoryError(() => parseAnsibleIni('[web\nh1\n', 'a.ini'), 'a.ini', 1, /section header/);
  assertInventoryError(() => parseAnsibleIni('[web]\nh1 novalue\n', 'a.ini'), 'a.ini', 2, /key=value/);
  assertInventoryError(() => parseAnsibleIni('[web:vars]\njustakey\n', 'a.ini'), 'a.ini', 2, /key=value/);
  assertInventoryError(() => parseAnsibleIni('[web]\nh1 x="unclosed\n', 'a.ini'), 'a.ini', 2, /unclosed/);
  assertInventoryError(() => parseAnsibleIni('[web]\n\nh1 ansible_port=http\n', 'a.ini'), 'a.ini', 3, /ansible_port/);
  assertInventoryError(() => parseAnsibleIni('[a:children]\nb\n[b:children]\na\n[a]\nh\n', 'a.ini'), 'a.ini', 2, /own ancestor/);
  assertInventoryError(() => parseAnsibleIni('[web]\nh[1-\n', 'a.ini'), 'a.ini', 2, /unmatched/);
});

const yaml = `---
all:
  hosts:
    mail.example.com:
  vars:
    ansible_user: root   # a comment
  children:
    web:
      hosts:
        web[1:2]:
          ansible_port: 2222
        "quoted.example.com":
          ansible_host: '10.1.1.1'
      vars:
        ansible_user: deploy
    db:
      hosts:
        db1: {}
      children:
        replicas:
          hosts:
            db-r1:
              ansible_user: "rep"
`;

test('YAML subset: mappings, sequences, quoting, comments, nulls', () => {
  assert.deepEqual(parseYaml('a:\n  b: c\n  d:\n  e: "x # y"\nlist:\n  - one\n  - k: v\n    k2: v2\n  -\n    - nested\nflow: [1, 2]\nsame:\n- x\n'), {
    a: { b: 'c', d: null, e: 'x # y' },
    list: ['one', { k: 'v', k2: 'v2' }, ['nested']],
    flow: ['1', '2'],
    same: ['x'],
  });
  assert.equal(parseYaml('# only a comment\n'), null);
  assert.deepEqual(parseYaml("k: 'it''s'\n"), { k: "it's" });
});

test('YAML subset: unsupported or malformed input names the line', () => {
  const table: [string, number, RegExp][] = [
    ['a:\n\tb: c\n', 2, /tabs/],
    ['a: b\n  c: d\n', 2, /indentation/],
    ['a: b\na: c\n', 2, /duplicate/],
    ['a: &anchor x\n', 1, /unsupported/],
    ['a: |\n  text\n', 1, /unsupported/],
    ['a: "open\n', 1, /unclosed/],
    ['a:\n  - x\n  y: z\n', 3, /indentation|expected/],
    ['a: b\n---\nc: d\n', 2, /one YAML document/],
  ];
  for (const [text, line, re] of table) assertInventoryError(() => parseAnsibleYaml(text, 'inv.yml'), 'inv.yml', line, re);
});

test('ansible YAML: children, vars precedence, ranges', () => {
  const hosts = parseAnsibleYaml(yaml, 'inv.yml');
  const by = Object.fromEntries(hosts.map((h) => [h.name, h]));
  assert.deepEqual(Object.keys(by).sort(), ['db-r1', 'db1', 'mail.example.com', 'quoted.example.com', 'web1', 'web2']);
  assert.deepEqual(by['mail.example.com'], { name: 'mail.example.com', host: 'mail.example.com', username: 'root', groups: [] });
  assert.deepEqual(by['web1'], { name: 'web1', host: 'web1', port: 2222, username: 'deploy', groups: ['web'] });
  assert.equal(by['quoted.example.com']!.host, '10.1.1.1');
  assert.equal(by['db1']!.username, 'root');
  assert.equal(by['db-r1']!.username, 'rep');
  assert.deepEqual(by['db-r1']!.groups, ['db', 'replicas']);
});

test('ansible YAML: bad structure names the line', () => {
  assertInventoryError(() => parseAnsibleYaml('all:\n  hostz:\n    a:\n', 'i.yml'), 'i.yml', 2, /unknown key "hostz"/);
  assertInventoryError(() => parseAnsibleYaml('all:\n  children:\n    web:\n      hosts:\n        h1:\n          ansible_port: nope\n', 'i.yml'), 'i.yml', 5, /ansible_port/);
});

test('JSON: array form, object form, hosts wrapper, Ansible dynamic inventory', () => {
  assert.deepEqual(parseJsonInventory('["web1", "ops@db1:2222", {"host": "10.0.0.5", "name": "cache", "user": "u", "groups": ["c"]}]', 'i.json'), [
    { name: 'web1', host: 'web1' },
    { name: 'db1:2222', host: 'db1', port: 2222, username: 'ops' },
    { name: 'cache', host: '10.0.0.5', username: 'u', groups: ['c'] },
  ]);
  assert.deepEqual(parseJsonInventory('{"hosts": ["a", "b"]}', 'i.json').map((h) => h.name), ['a', 'b']);
  assert.deepEqual(parseJsonInventory('{"web1": {"host": "10.0.0.1", "port": 2201}, "db1": "ops@10.0.0.2", "bare": null}', 'i.json'), [
    { name: 'web1', host: '10.0.0.1', port: 2201 },
    { name: 'db1', host: '10.0.0.2', username: 'ops' },
    { name: 'bare', host: 'bare' },
  ]);
  const dyn = parseJsonInventory(
    JSON.stringify({ web: { hosts: ['w1', 'w2'], vars: { ansible_user: 'deploy' } }, _meta: { hostvars: { w1: { ansible_port: 2222 } } } }),
    'dyn.json',
  );
  assert.deepEqual(dyn, [
    { name: 'w1', host: 'w1', port: 2222, username: 'deploy', groups: ['web'] },
    { name: 'w2', host: 'w2', username: 'deploy', groups: ['web'] },
  ]);
});

test('JSON: malformed input names file and line', () => {
  assertInventoryError(() => parseJsonInventory('[\n"a",\n]', 'i.json'), 'i.json', 3, /invalid JSON/);
  assertInventoryError(() => parseJsonInventory('[{"host": "a", "prot": 22}]', 'i.json'), 'i.json', 0, /unknown field "prot"/);
  assertInventoryError(() => parseJsonInventory('[{"host": "a", "port": 0}]', 'i.json'), 'i.json', 0, /port/);
  assertInventoryError(() => parseJsonInventory('[42]', 'i.json'), 'i.json', 0, /entry 0/);
  assertInventoryError(() => parseJsonInventory('"x"', 'i.json'), 'i.json', 1, /array or object/);
});

test('ssh config: literal Host names resolved as ssh -G does (first value wins); patterns skipped', () => {
  const text = `Host web1 web2 !bad *.corp
  HostName %h.example.com
  Port 2222
  User = deploy
Host db1
  ProxyJump ops@bastion:22,other
Match host foo
  User nobody
Host *
  User everyone
  Port 2200
`;
  assert.deepEqual(parseSshConfigHosts(text, 'config'), [
    { name: 'web1', host: 'web1.example.com', port: 2222, username: 'deploy' },
    { name: 'web2', host: 'web2.example.com', port: 2222, username: 'deploy' },
    { name: 'db1', host: 'db1', port: 2200, username: 'everyone', jump: 'ops@bastion:22,other' },
  ]);
  assertInventoryError(() => parseSshConfigHosts('Host a\n  Port x\n', 'config'), 'config', 2, /port/i);
});

test('format detection by name and content', () => {
  const table: [string, string, string][] = [
    ['x.json', '', 'json'],
    ['x.yaml', '', 'yaml'],
    ['x.ini', '', 'ansible-ini'],
    ['/home/u/.ssh/config', '', 'ssh-config'],
    ['inv', '[web]\nh1\n', 'ansible-ini'],
    ['inv', '# c\n["a"]\n', 'json'],
    ['inv', 'all:\n  hosts:\n', 'yaml'],
    ['inv', 'Host a\n', 'ssh-config'],
    ['inv', 'web[01-02]\nops@h:22\n', 'hosts'],
    ['inv', 'h1 ansible_host=x\n', 'ansible-ini'],
    ['inv', 'web1 ops jump=gw\nweb2 proxyjump=a,b\n', 'hosts'],
    ['inv', 'web1 jump=gw ansible_port=2\n', 'ansible-ini'],
  ];
  for (const [file, text, want] of table) assert.equal(detectFormat(file, text), want, `${file} ${JSON.stringify(text)}`);
  assert.deepEqual(parseInventory('web[01-02]\n', 'inv').map((h) => h.name), ['web01', 'web02']);
});

test('jump hosts: hosts-file jump= column, JSON jump/proxyJump/bastion, Ansible fleetssh_jump and ssh args', async () => {
  const { jumpFromSshArgs } = await import('../../src/orchestrator/inventory/ansible-model.js');
  assert.deepEqual(parseHostsFile('web[1-2] ops jump=jb@bastion:2200\ndb1 proxyjump=a,b\nplain\nx jump=none\n', 'h.txt'), [
    { name: 'web1', host: 'web1', username: 'ops', jump: 'jb@bastion:2200' },
    { name: 'web2', host: 'web2', username: 'ops', jump: 'jb@bastion:2200' },
    { name: 'db1', host: 'db1', jump: 'a,b' },
    { name: 'plain', host: 'plain' },
    { name: 'x', host: 'x' },
  ]);
  assertInventoryError(() => parseHostsFile('ok\nh jump=a jump=b\n', 'h.txt'), 'h.txt', 2, /expected/);
  assertInventoryError(() => parseHostsFile('jump=a\n', 'h.txt'), 'h.txt', 1, /expected/);
  assertInventoryError(() => parseHostsFile('h jump=\n', 'h.txt'), 'h.txt', 1, /empty jump/);
  const json = parseJsonInventory('[{"host":"a","jump":"b1"},{"host":"c","proxyJump":"u@b2:22"},{"host":"d","bastion":"b3"}]', 'i.json');
  assert.deepEqual(json.map((h) => h.jump), ['b1', 'u@b2:22', 'b3']);
  assertInventoryError(() => parseJsonInventory('[{"host":"a","jump":"b","bastion":"c"}]', 'i.json'), 'i.json', 0, /only one/);
  assertInventoryError(() => parseJsonInventory('[{"host":"a","bastion":7}]', 'i.json'), 'i.json', 0, /bastion/);
  const args: [string, string | undefined][] = [
    ['-o ProxyJump=jump@bastion:2200', 'jump@bastion:2200'],
    ["-o 'ProxyJump=b1'", 'b1'],
    ['-oProxyJump b2 -o StrictHostKeyChecking=no', 'b2'],
    ['-J u@b3:2222', 'u@b3:2222'],
    ['-J b4,b5', 'b4,b5'],
    ['-o ProxyCommand="ssh -W %h:%p -q ops@gw"', 'ops@gw'],
    ["-o ProxyCommand='ssh -p 2200 -l ops -W %h:%p gw.example'", 'ops@gw.example:2200'],
    ['-o ProxyCommand="nc -x proxy:1080 %h %p"', undefined],
    ['-o StrictHostKeyChecking=no', undefined],
  ];
  for (const [a, want] of args) assert.equal(jumpFromSshArgs(a), want, a);
  const ini = `[web]
w1
w2 fleetssh_jump=own@jb
w3 ansible_ssh_extra_args='-J extra@jb2'
[web:vars]
ansible_ssh_common_args='-o ProxyCommand="ssh -W %h:%p -q common@jb3"'
`;
  const by = Object.fromEntries(parseAnsibleIni(ini, 'inv.ini').map((h) => [h.name, h]));
  assert.deepEqual([by['w1']!.jump, by['w2']!.jump, by['w3']!.jump], ['common@jb3', 'own@jb', 'extra@jb2']);
  assert.equal(by['w2']!.vars?.['fleetssh_jump'], undefined);
});
