// Jump hosts end to end, all in this process: one fleetssh server as the bastion (default forwarding, direct-tcpip
// counted by its connectionRequested handler) in front of 50 embedded targets on 127.0.3.x. The fleet must reach every
// target through exactly one bastion connection; a bastion that is down makes exactly its hosts unreachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fleet } from '../../src/orchestrator/fleet.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import { generatePrivateKey } from '../../src/crypto/keys/ssh-key.js';
import { freePort } from '../helpers/ssh-client.js';

const TARGETS = 50;
const hostKey = generatePrivateKey('ssh-ed25519');
const auth = { beginAuth: () => true, validatePassword: (_u: string, p: string) => p === 'pw' };

async function startTarget(host: string): Promise<SSHServer> {
  return listen({
    host,
    port: 0,
    serverHostKeys: [hostKey],
    handler: auth,
    processFactory: (proc) => {
      proc.stdout.write(`${host} ran ${proc.command}\n`);
      proc.exit(0);
    },
  });
}

interface Bastion {
  server: SSHServer;
  connections: number;
  opens: string[];
}

async function startBastion(): Promise<Bastion> {
  const b: Bastion = { server: null!, connections: 0, opens: [] };
  b.server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [hostKey],
    handler: {
      ...auth,
      connectionRequested: (host, port) => {
        b.opens.push(`${host}:${port}`);
        return true;
      },
    },
    processFactory: (proc) => proc.exit(1),
  });
  b.server.on('connection', () => (b.connections += 1));
  return b;
}

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('50 targets behind one fleetssh bastion: all succeed over exactly one bastion connection', { timeout: 120_000 }, async () => {
  const targets = await Promise.all(Array.from({ length: TARGETS }, (_, i) => startTarget(`127.0.3.${i + 1}`)));
  const bastion = await startBastion();
  const deadPort = await freePort();
  try {
    const jump = `jumper@127.0.0.1:${bastion.server.port}`;
    const hosts = [
      ...targets.map((t, i) => ({ name: `t${i + 1}`, host: `127.0.3.${i + 1}`, port: t.port, jump })),
      // The bastion cannot reach this one: its direct-tcpip open fails.
      { name: 'closed-port', host: '127.0.3.200', port: deadPort, jump },
    ];
    const fleet = new Fleet(hosts, {
      concurrency: 64,
      retries: 1,
      backoff: { baseMs: 20, maxMs: 40 },
      connect: { username: 'fleet', password: 'pw', knownHosts: null, clientKeys: null, agentPath: null, config: null },
      timeouts: { connect: 20_000, command: 20_000 },
      bastionLingerMs: 50,
    });
    const r = await fleet.runAll('hostname');
    assert.equal(r.summary.total, TARGETS + 1);
    assert.equal(r.summary.succeeded, TARGETS, JSON.stringify(r.results.filter((x) => x.outcome !== 'succeeded').map((x) => [x.host, x.error])));
    for (const s of r.succeeded) assert.match(s.stdout, /^127\.0\.3\.\d+ ran hostname\n$/);
    const bad = r.results.find((x) => x.host === 'closed-port')!;
    assert.deepEqual([bad.outcome, bad.error?.kind, bad.error?.code], ['unreachable', 'unreachable', 'ERR_SSH_CHANNEL_OPEN_CONNECT_FAILED']);
    // One connection to the bastion, one direct-tcpip channel per target attempt (the closed port was tried twice).
    assert.equal(bastion.connections, 1);
    assert.equal(bastion.opens.length, TARGETS + 2);
    assert.equal(new Set(bastion.opens).size, TARGETS + 1);
    // The run ended: the shared bastion connection is closed, and so is every target connection.
    await waitFor('bastion connection closed', () => bastion.server.connectionCount === 0);
    await waitFor('target connections closed', () => targets.every((t) => t.connectionCount === 0));
  } finally {
    await Promise.all([bastion.server.close(), ...targets.map((t) => t.close())]);
  }
});

test('a bastion that is down: every host behind it unreachable with a typed error, the others unaffected', { timeout: 60_000 }, async () => {
  const targets = await Promise.all(Array.from({ length: 6 }, (_, i) => startTarget(`127.0.4.${i + 1}`)));
  const bastion = await startBastion();
  const downPort = await freePort();
  try {
    const good = `127.0.0.1:${bastion.server.port}`;
    const down = `ops@127.0.0.1:${downPort}`;
    const hosts = targets.map((t, i) => ({ name: `h${i + 1}`, host: `127.0.4.${i + 1}`, port: t.port, ...(i < 3 ? { jump: down } : i < 5 ? { jump: good } : {}) }));
    const r = await new Fleet(hosts, {
      retries: 2,
      backoff: { baseMs: 10, maxMs: 20 },
      connect: { username: 'fleet', password: 'pw', knownHosts: null, clientKeys: null, agentPath: null, config: null },
      timeouts: { connect: 20_000, command: 20_000 },
    }).runAll('id');
    assert.deepEqual(r.succeeded.map((x) => x.host).sort(), ['h4', 'h5', 'h6']);
    assert.deepEqual(r.unreachable.map((x) => x.host).sort(), ['h1', 'h2', 'h3']);
    for (const u of r.unreachable) {
      assert.equal(u.error?.kind, 'unreachable');
      assert.equal(u.error?.code, 'ECONNREFUSED');
      assert.match(u.error!.message, new RegExp(`^bastion ${down.replace(/\./g, '\\.')}: `));
      assert.equal(u.commandStarted, false);
    }
    assert.equal(bastion.connections, 1);
  } finally {
    await Promise.all([bastion.server.close(), ...targets.map((t) => t.close())]);
  }
});

test('ssh_config ProxyJump: hosts without a jump go through the config\'s bastion, all sharing one connection', { timeout: 60_000 }, async () => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { makeTempDir, removeTempDir } = await import('../helpers/ssh-client.js');
  const targets = await Promise.all(Array.from({ length: 10 }, (_, i) => startTarget(`127.0.5.${i + 1}`)));
  const direct = await startTarget('127.0.6.1');
  const bastion = await startBastion();
  const dir = makeTempDir();
  try {
    const config = join(dir, 'config');
    writeFileSync(config, `Host jumpbox\n  HostName 127.0.0.1\n  Port ${bastion.server.port}\n  User jumper\nHost 127.0.5.*\n  ProxyJump jumpbox\n`);
    const hosts = [...targets.map((t, i) => ({ name: `c${i + 1}`, host: `127.0.5.${i + 1}`, port: t.port })), { name: 'direct', host: '127.0.6.1', port: direct.port }];
    // One host at a time: connect()'s own ProxyJump would close the hop between hosts; the fleet's pool keeps it.
    const r = await new Fleet(hosts, {
      concurrency: 1,
      connect: { username: 'fleet', password: 'pw', knownHosts: null, clientKeys: null, agentPath: null, config },
      timeouts: { connect: 20_000, command: 20_000 },
      bastionLingerMs: 5000,
    }).runAll('hostname');
    assert.equal(r.summary.succeeded, 11, JSON.stringify(r.results.filter((x) => x.outcome !== 'succeeded').map((x) => [x.host, x.error])));
    assert.equal(bastion.connections, 1);
    assert.deepEqual(bastion.opens.sort(), targets.map((t, i) => `127.0.5.${i + 1}:${t.port}`).sort());
    await waitFor('bastion connection closed at the end of the run', () => bastion.server.connectionCount === 0);
  } finally {
    removeTempDir(dir);
    await Promise.all([bastion.server.close(), direct.close(), ...targets.map((t) => t.close())]);
  }
});

test('OpenSSH sshd as the bastion (AllowTcpForwarding yes) in front of embedded fleetssh targets: one login on sshd', { timeout: 90_000 }, async (t) => {
  const { sshdSkipReason, startSshd } = await import('../helpers/openssh.js');
  const skip = sshdSkipReason();
  if (skip) return t.skip(skip);
  const sshd = await startSshd({ hostKeys: ['ed25519'], config: { AllowTcpForwarding: 'yes' } });
  const targets = await Promise.all(Array.from({ length: 8 }, (_, i) => startTarget(`127.0.7.${i + 1}`)));
  try {
    const hosts = targets.map((x, i) => ({ name: `s${i + 1}`, host: `127.0.7.${i + 1}`, port: x.port, jump: `root@127.0.0.1:${sshd.port}` }));
    const r = await new Fleet(hosts, {
      concurrency: 8,
      // The bastion logs in with a key; the targets take a password (fleet-wide options serve both, each takes what it accepts).
      connect: { username: 'fleet', password: 'pw', clientKeys: [sshd.clientKeys.ed25519.privatePath], knownHosts: null, agentPath: null, config: null },
      timeouts: { connect: 20_000, command: 20_000 },
    }).runAll('uname -a');
    assert.equal(r.summary.succeeded, 8, JSON.stringify(r.results.filter((x) => x.outcome !== 'succeeded').map((x) => [x.host, x.error])));
    for (const s of r.succeeded) assert.match(s.stdout, /^127\.0\.7\.\d+ ran uname -a\n$/);
    // sshd accepted one login, and forwarded one direct-tcpip channel to each target.
    const log = sshd.logs();
    assert.equal(log.match(/Accepted publickey for root/g)?.length, 1, log);
    for (let i = 1; i <= 8; i++) assert.match(log, new RegExp(`server_request_direct_tcpip: originator \\S+ port \\d+, target 127\\.0\\.7\\.${i} port ${targets[i - 1]!.port}\\b`), `sshd forwarded to 127.0.7.${i}`);
    assert.ok(targets.every((x) => x.connectionCount <= 1));
  } finally {
    await sshd.stop();
    await Promise.all(targets.map((x) => x.close()));
  }
});
