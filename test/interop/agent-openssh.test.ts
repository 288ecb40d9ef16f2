/**
 * The ssh-agent client against OpenSSH's real `ssh-agent` (started by this
 * test on a socket in a temp dir and killed after): keys added by `ssh-add`
 * are listed and sign verifiably (rsa-sha2-256/512 by flag); keys fleetssh
 * adds and removes are what `ssh-add -l` then reports; connect() uses agent
 * keys to log in to sshd; and OpenSSH `ssh -A` through the fleetssh server
 * reaches the forwarded agent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SSHAgentClient } from '../../src/actors/agent-client.js';
import { generatePrivateKey, importPrivateKey, importPublicKey, type SSHKey } from '../../src/crypto/keys/ssh-key.js';
import { findBinary, keygen, makeTempDir, runProcess, sshArgs, type KeyFiles } from '../helpers/ssh-client.js';
import { listen, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { connect as netConnect } from 'node:net';
import { sshdSkipReason, startSshd, type SshdServer } from '../helpers/openssh.js';
import { waitFor } from '../helpers/interop-matrix.js';
import { connect } from '../../src/actors/client.js';

const agentSkip = findBinary('ssh-agent') && findBinary('ssh-add') ? undefined : 'ssh-agent/ssh-add not installed (openssh-client)';

export interface RealAgent {
  socket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** `ssh-agent -D -a SOCK`, waited for until the socket exists. */
export async function startAgent(): Promise<RealAgent> {
  const dir = makeTempDir('fleetssh-agent-');
  const socket = join(dir, 'agent.sock');
  const proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!existsSync(socket)) {
    proc.kill('SIGKILL');
    throw new Error(`ssh-agent did not create its socket: ${stderr}`);
  }
  return {
    socket,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export function sshAdd(agent: RealAgent, args: readonly string[]): ReturnType<typeof runProcess> {
  return runProcess('ssh-add', args, { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, timeoutMs: 20_000 });
}

/** Fingerprints (SHA256:...) that `ssh-add -l` lists. */
async function listedFingerprints(agent: RealAgent): Promise<string[]> {
  const r = await sshAdd(agent, ['-l']);
  if (r.code === 1 && /no identities/i.test(r.stdout.toString())) return [];
  assert.equal(r.code, 0, `ssh-add -l: ${r.stderr}`);
  return r.stdout
    .toString()
    .split('\n')
    .map((l) => /(SHA256:\S+)/.exec(l)?.[1])
    .filter((f): f is string => f !== undefined);
}

describe('ssh-agent client against OpenSSH ssh-agent', { skip: agentSkip }, () => {
  let agent: RealAgent;
  let client: SSHAgentClient;
  const files: Record<string, KeyFiles> = {};

  before(async () => {
    agent = await startAgent();
    client = new SSHAgentClient(agent.socket);
    files.ed25519 = await keygen('ed25519', undefined, { comment: 'agent-ed25519' });
    files.ecdsa = await keygen('ecdsa', 384, { comment: 'agent-ecdsa384' });
    files.rsa = await keygen('rsa', 2048, { comment: 'agent-rsa' });
  });

  after(async () => {
    client?.close();
    await agent?.stop();
  });

  test('lists keys added by ssh-add, with their comments', async () => {
    for (const f of Object.values(files)) {
      const r = await sshAdd(agent, [f.privatePath]);
      assert.equal(r.code, 0, r.stderr);
    }
    const keys = await client.getKeys();
    const byComment = new Map(keys.map((k) => [k.comment, k]));
    for (const [name, f] of Object.entries(files)) {
      const expected = importPublicKey(f.publicLine);
      const got = byComment.get(`agent-${name === 'ecdsa' ? 'ecdsa384' : name}`);
      assert.ok(got, `agent lists ${name}`);
      assert.deepEqual(got.publicBlob, expected.publicBlob);
      assert.equal(got.keyType, expected.keyType);
    }
  });

  test('signs with each key; signatures verify with the public key, RSA by the asked hash', async () => {
    const data = new TextEncoder().encode('fleetssh agent sign test');
    const cases: [string, string][] = [
      ['ed25519', 'ssh-ed25519'],
      ['ecdsa', 'ecdsa-sha2-nistp384'],
      ['rsa', 'rsa-sha2-256'],
      ['rsa', 'rsa-sha2-512'],
      ['rsa', 'ssh-rsa'],
    ];
    const keys = await client.getKeys();
    for (const [name, alg] of cases) {
      const pub = importPublicKey(files[name]!.publicLine);
      const agentKey = keys.find((k) => Buffer.compare(k.publicBlob, pub.publicBlob) === 0)!;
      const sig = await agentKey.sign(alg, data);
      assert.equal(new TextDecoder().decode(sig.subarray(4, 4 + new DataView(sig.buffer, sig.byteOffset).getUint32(0))), alg);
      assert.ok(pub.verify(alg, sig, data), `${alg} signature verifies`);
      assert.ok(!pub.verify(alg, sig, new TextEncoder().encode('other data')), `${alg} signature is bound to the data`);
    }
  });

  test('signing with a key the agent does not hold is refused with AgentError', async () => {
    const stranger = generatePrivateKey('ssh-ed25519');
    await assert.rejects(client.sign(stranger.publicBlob, new Uint8Array(8), 'ssh-ed25519'), { code: 'ERR_SSH_AGENT_REFUSED' });
  });

  test('keys fleetssh adds (ed25519, ecdsa P-256/384/521, rsa) are listed by ssh-add -l and sign', async () => {
    const mine: SSHKey[] = [
      generatePrivateKey('ssh-ed25519', { comment: 'fleet-ed' }),
      generatePrivateKey('ecdsa-sha2-nistp256', { comment: 'fleet-p256' }),
      generatePrivateKey('ecdsa-sha2-nistp384', { comment: 'fleet-p384' }),
      generatePrivateKey('ecdsa-sha2-nistp521', { comment: 'fleet-p521' }),
      generatePrivateKey('ssh-rsa', { bits: 2048, comment: 'fleet-rsa' }),
    ];
    await client.addKeys(mine);
    const listed = await listedFingerprints(agent);
    for (const k of mine) assert.ok(listed.includes(k.fingerprintSHA256()), `ssh-add -l lists ${k.comment}`);
    const data = new Uint8Array([1, 2, 3]);
    for (const k of mine) {
      const alg = k.keyType === 'ssh-rsa' ? 'rsa-sha2-512' : k.keyType;
      assert.ok(k.verify(alg, await client.sign(k.publicBlob, data, alg), data), `${k.comment} signs in the agent`);
    }
    await client.removeKeys([mine[0]!, mine[4]!]);
    const after1 = await listedFingerprints(agent);
    assert.ok(!after1.includes(mine[0]!.fingerprintSHA256()));
    assert.ok(!after1.includes(mine[4]!.fingerprintSHA256()));
    assert.ok(after1.includes(mine[1]!.fingerprintSHA256()));
    // Removing a key that is not there is refused.
    await assert.rejects(client.removeKeys([mine[0]!]), { code: 'ERR_SSH_AGENT_REFUSED' });
  });

  test('a key added with a lifetime is listed (constrained add accepted)', async () => {
    const k = generatePrivateKey('ssh-ed25519', { comment: 'fleet-lifetime' });
    await client.addKeys([k], { lifetime: 600 });
    assert.ok((await listedFingerprints(agent)).includes(k.fingerprintSHA256()));
  });

  test('close and waitClosed: the socket is released, later calls fail with ERR_SSH_AGENT_CLOSED', async () => {
    const own = new SSHAgentClient(agent.socket);
    assert.ok((await own.getKeys()).length > 0);
    own.close();
    await own.waitClosed();
    await assert.rejects(own.getKeys(), { code: 'ERR_SSH_AGENT_CLOSED' });
    await own.waitClosed(); // again: already settled
  });

  test('removeAll empties the agent', async () => {
    await client.removeAll();
    assert.deepEqual(await listedFingerprints(agent), []);
    assert.deepEqual(await client.getKeys(), []);
    // Put the ssh-add keys back for the suites below.
    for (const f of Object.values(files)) assert.equal((await sshAdd(agent, [f.privatePath])).code, 0);
  });

  test('the key ssh-keygen wrote is the key the agent signs with (private import cross-check)', async () => {
    const priv = importPrivateKey(readFileSync(files.ed25519!.privatePath, 'utf8'));
    const data = new Uint8Array([9, 9, 9]);
    const sig = await client.sign(priv.publicBlob, data, 'ssh-ed25519');
    // Ed25519 is deterministic: the agent's signature equals ours.
    assert.deepEqual(sig, priv.sign('ssh-ed25519', data));
  });
});

describe('connect() with agent keys against OpenSSH sshd', { skip: agentSkip ?? sshdSkipReason() }, () => {
  let agent: RealAgent;
  let sshd: SshdServer;

  before(async () => {
    agent = await startAgent();
    sshd = await startSshd({ hostKeys: ['ed25519'] });
  });

  after(async () => {
    await sshd?.stop();
    await agent?.stop();
  });

  for (const name of ['ed25519', 'ecdsa', 'rsa'] as const) {
    test(`logs in with a ${name} key held only by ssh-agent (added by ssh-add)`, async () => {
      assert.equal((await sshAdd(agent, ['-D'])).code, 0);
      assert.equal((await sshAdd(agent, [sshd.clientKeys[name].privatePath])).code, 0);
      const mark = sshd.logs().length;
      const conn = await connect('127.0.0.1', {
        port: sshd.port, username: 'root', clientKeys: null, agentPath: agent.socket, knownHosts: sshd.knownHostsFile, config: null,
      });
      try {
        const r = await conn.run('echo agent-ok');
        assert.equal(r.stdout, 'agent-ok\n');
      } finally {
        await conn.close();
      }
      const fp = importPublicKey(sshd.clientKeys[name].publicLine).fingerprintSHA256();
      assert.match(sshd.logs().slice(mark), new RegExp(`Accepted publickey for root .*${fp.replace(/[+/]/g, '.')}`));
    });
  }

  test('agentForwarding: ssh-add -l on the sshd side lists our agent through the forwarded channel', async () => {
    assert.equal((await sshAdd(agent, ['-D'])).code, 0);
    assert.equal((await sshAdd(agent, [sshd.clientKeys.ecdsa.privatePath])).code, 0);
    const conn = await connect('127.0.0.1', {
      port: sshd.port, username: 'root', clientKeys: null, agentPath: agent.socket, agentForwarding: true, knownHosts: sshd.knownHostsFile, config: null,
    });
    try {
      const r = await conn.run('ssh-add -l');
      assert.equal(r.exitStatus, 0, String(r.stderr));
      assert.match(String(r.stdout), /\(ECDSA\)/);
      const without = await connect('127.0.0.1', { port: sshd.port, username: 'root', clientKeys: null, agentPath: agent.socket, knownHosts: sshd.knownHostsFile, config: null });
      // No forwarding asked: no SSH_AUTH_SOCK on the remote side (ssh-add exits 2).
      assert.equal((await without.run('ssh-add -l')).exitStatus, 2);
      await without.close();
    } finally {
      await conn.close();
    }
  });

  test('agentIdentities: only the named agent keys are offered (an object, a .pub path); the others are never tried', async () => {
    assert.equal((await sshAdd(agent, ['-D'])).code, 0);
    const dir = makeTempDir('agent-ids-');
    const stranger = generatePrivateKey('ssh-ed25519', { comment: 'stranger' });
    const strangerPath = join(dir, 'stranger');
    writeFileSync(strangerPath, stranger.exportPrivateKey(), { mode: 0o600 });
    assert.equal((await sshAdd(agent, [strangerPath])).code, 0);
    assert.equal((await sshAdd(agent, [sshd.clientKeys.ed25519.privatePath])).code, 0);
    const authorized = importPublicKey(sshd.clientKeys.ed25519.publicLine);
    const base = { port: sshd.port, username: 'root', clientKeys: null, agentPath: agent.socket, knownHosts: sshd.knownHostsFile, config: null } as const;
    const attempts = (log: string): string[] => [...log.matchAll(/publickey (?:have|test pkalg) \S+ (?:signature for|pkblob) \S+ (SHA256:\S+)/g)].map((m) => m[1]!);

    // Only the stranger: refused, and the authorized key held by the same agent never reached sshd.
    let mark = sshd.logs().length;
    await assert.rejects(connect('127.0.0.1', { ...base, agentIdentities: [stranger.publicOnly()] }), { code: 'ERR_SSH_PERMISSION_DENIED' });
    await waitFor(() => /Connection closed|Disconnected|disconnect/.test(sshd.logs().slice(mark)), 5_000);
    assert.deepEqual(attempts(sshd.logs().slice(mark)), [stranger.fingerprintSHA256()]);

    // Only the authorized key, named by its .pub file: the stranger (first in the agent) is skipped.
    mark = sshd.logs().length;
    const conn = await connect('127.0.0.1', { ...base, agentIdentities: [sshd.clientKeys.ed25519.publicPath] });
    await conn.close();
    assert.deepEqual(attempts(sshd.logs().slice(mark)), [authorized.fingerprintSHA256()]);
  });

  test('ssh_config IdentityFile (encrypted, no passphrase) with IdentitiesOnly: the agent signs for that key only', async () => {
    assert.equal((await sshAdd(agent, ['-D'])).code, 0);
    const dir = makeTempDir('agent-idonly-');
    const stranger = generatePrivateKey('ssh-ed25519', { comment: 'stranger' });
    writeFileSync(join(dir, 'stranger'), stranger.exportPrivateKey(), { mode: 0o600 });
    assert.equal((await sshAdd(agent, [join(dir, 'stranger')])).code, 0);
    assert.equal((await sshAdd(agent, [sshd.clientKeys.ed25519.privatePath])).code, 0);
    // The authorized key again, as a passphrase-protected identity file whose passphrase connect() does not get.
    const key = importPrivateKey(readFileSync(sshd.clientKeys.ed25519.privatePath, 'utf8'));
    writeFileSync(join(dir, 'id_enc'), key.exportPrivateKey('openssh', 'secret passphrase'), { mode: 0o600 });
    writeFileSync(join(dir, 'id_enc.pub'), key.exportPublicKey() + '\n');
    const cfg = join(dir, 'config');
    writeFileSync(cfg, `Host *\n  IdentityFile ${join(dir, 'id_enc')}\n  IdentitiesOnly yes\n`);
    const mark = sshd.logs().length;
    const conn = await connect('127.0.0.1', { port: sshd.port, username: 'root', agentPath: agent.socket, knownHosts: sshd.knownHostsFile, config: cfg });
    await conn.close();
    const tried = [...sshd.logs().slice(mark).matchAll(/publickey (?:have|test pkalg) \S+ (?:signature for|pkblob) \S+ (SHA256:\S+)/g)].map((m) => m[1]);
    assert.deepEqual(tried, [key.fingerprintSHA256()], 'only the identity file\'s key, signed by the agent');
  });

  test('without agent keys (agentPath null) the same login is refused', async () => {
    await assert.rejects(
      connect('127.0.0.1', { port: sshd.port, username: 'root', clientKeys: null, agentPath: null, knownHosts: sshd.knownHostsFile, config: null }),
      { code: 'ERR_SSH_PERMISSION_DENIED' },
    );
  });

  test('SSH_AUTH_SOCK is used when agentPath is not given', async () => {
    assert.equal((await sshAdd(agent, ['-D'])).code, 0);
    assert.equal((await sshAdd(agent, [sshd.clientKeys.ed25519.privatePath])).code, 0);
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = agent.socket;
    try {
      const conn = await connect('127.0.0.1', { port: sshd.port, username: 'root', clientKeys: null, knownHosts: sshd.knownHostsFile, config: null });
      assert.equal((await conn.run('echo env-agent')).stdout, 'env-agent\n');
      await conn.close();
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
  });
});

describe('agent forwarding: fleetssh client and OpenSSH ssh -A through the fleetssh server', { skip: agentSkip }, () => {
  let agent: RealAgent;
  let server: SSHServer;
  let plainServer: SSHServer;
  let clientKey: KeyFiles;
  const agentDirs: string[] = [];
  const agentDirModes: number[] = [];

  /** The session lists the forwarded agent with our agent client and with `ssh-add -l`. */
  const factory = async (proc: SSHServerProcess): Promise<void> => {
    if (proc.agentPath === null) {
      proc.stdout.write('no agent\n');
      return proc.exit(2);
    }
    agentDirs.push(dirname(proc.agentPath));
    agentDirModes.push(statSync(dirname(proc.agentPath)).mode & 0o777);
    if (proc.command === 'oversized') {
      // A message over the 256 KiB cap ends that agent connection; the agent itself stays usable.
      const sock = netConnect({ path: proc.agentPath });
      await new Promise((r) => sock.once('connect', r));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(300 * 1024, 0);
      head[4] = 11;
      sock.write(head);
      await new Promise((r) => sock.once('close', r));
      proc.stdout.write('closed\n');
    }
    const fwd = new SSHAgentClient(proc.agentPath);
    const keys = await fwd.getKeys();
    fwd.close();
    proc.stdout.write(keys.map((k) => k.comment).sort().join(',') + '\n');
    const r = await runProcess('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: proc.agentPath } });
    proc.stdout.write(r.stdout);
    proc.exit(r.code ?? 1);
  };

  before(async () => {
    agent = await startAgent();
    clientKey = await keygen('ed25519', undefined, { comment: 'forwarded-key' });
    assert.equal((await sshAdd(agent, [clientKey.privatePath])).code, 0);
    const common = {
      serverHostKeys: [generatePrivateKey('ssh-ed25519')],
      handler: { validatePublicKey: () => true },
      processFactory: factory,
    };
    server = await listen({ ...common, agentForwarding: true });
    plainServer = await listen(common);
  });

  after(async () => {
    await server?.close();
    await plainServer?.close();
    await agent?.stop();
  });

  const connectVia = (s: SSHServer, agentForwarding: boolean) =>
    connect('127.0.0.1', { port: s.port, username: 'u', clientKeys: null, agentPath: agent.socket, agentForwarding, knownHosts: null, config: null });

  test('fleetssh client -> fleetssh server: the session reaches the forwarded agent (our client and ssh-add -l)', async () => {
    const conn = await connectVia(server, true);
    try {
      const r = await conn.run('list');
      assert.equal(r.exitStatus, 0, String(r.stdout));
      const [comments, listing] = String(r.stdout).split('\n');
      assert.equal(comments, 'forwarded-key');
      assert.match(listing!, new RegExp(importPublicKey(clientKey.publicLine).fingerprintSHA256().replace(/[+/]/g, '.')));
      // A second session on the same connection gets its own forwarded socket.
      assert.equal((await conn.run('again')).exitStatus, 0);
    } finally {
      await conn.close();
    }
  });

  test('the forwarded socket dir is private (0700) while the session runs and removed after it', async () => {
    const conn = await connectVia(server, true);
    await conn.run('list');
    await conn.close();
    const dir = agentDirs.at(-1)!;
    assert.equal(agentDirModes.at(-1), 0o700);
    for (let i = 0; i < 100 && existsSync(dir); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(dir), false, `${dir} removed`);
  });

  test('an oversized agent message closes that relay only', async () => {
    const conn = await connectVia(server, true);
    try {
      const r = await conn.run('oversized');
      assert.equal(r.exitStatus, 0);
      assert.match(String(r.stdout), /^closed\nforwarded-key\n/);
    } finally {
      await conn.close();
    }
  });

  test('no forwarding unless both sides enable it', async () => {
    for (const [s, fwd] of [[server, false], [plainServer, true]] as const) {
      const conn = await connectVia(s, fwd);
      try {
        const r = await conn.run('list');
        assert.equal(r.stdout, 'no agent\n');
      } finally {
        await conn.close();
      }
    }
  });

  test('OpenSSH ssh -A through the fleetssh server reaches the forwarded agent', async () => {
    const r = await runProcess(
      'ssh',
      sshArgs({ port: server.port, user: 'u', identityFile: clientKey.privatePath, options: { ForwardAgent: 'yes', IdentityAgent: agent.socket } }).concat(['list']),
      // (ssh 9.2 sends no auth-agent-req for ForwardAgent=<path> with IdentityAgent=none, so the agent is named both ways.)
      { timeoutMs: 20_000, env: { ...process.env, SSH_AUTH_SOCK: agent.socket } },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    const [comments, listing] = r.stdout.toString().split('\n');
    assert.equal(comments, 'forwarded-key');
    assert.match(listing!, /forwarded-key \(ED25519\)/);
  });
});
