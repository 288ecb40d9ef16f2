/**
 * Paramiko (python3-paramiko, a second independent implementation) against the
 * fleetssh server: password and publickey (ed25519, ECDSA, RSA keys written by
 * ssh-keygen), exec with binary stdin, stdout/stderr and exit status, host key
 * checked against a known_hosts file with RejectPolicy, and every kex, cipher,
 * MAC and host key algorithm paramiko 2.12 shares with us, one at a time.
 * All cases of a test run in one python process (one interpreter start).
 */
import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listen, type SSHServer } from '../../src/actors/server.js';
import type { SSHServerProcess } from '../../src/actors/server-process.js';
import { generatePrivateKey, importPublicKey } from '../../src/crypto/keys/ssh-key.js';
import { CIPHER_ALGORITHMS, KEX_ALGORITHMS, MAC_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../../src/protocol/algorithms.js';
import { announceSkip, findBinary, keygen, makeTempDir, runProcess, type KeyFiles } from '../helpers/ssh-client.js';

const PYTHON = '/usr/bin/python3';

function paramikoSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!findBinary(PYTHON)) reason = `SKIPPED: needs ${PYTHON} (Debian package python3)`;
  else {
    const r = spawnSyncPython('import paramiko');
    if (r !== 0) reason = 'SKIPPED: needs python3 paramiko (Debian package python3-paramiko)';
  }
  if (reason) announceSkip(reason);
  return reason;
}

function spawnSyncPython(code: string): number | null {
  return spawnSync(PYTHON, ['-c', code], { timeout: 15_000, stdio: 'ignore' }).status;
}

const skip = paramikoSkipReason() ?? (findBinary('ssh-keygen') ? undefined : 'SKIPPED: needs ssh-keygen (Debian package openssh-client)');

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Runs each case as a fresh SSHClient; prints one JSON result per case. */
const PARAMIKO_CASES = String.raw`
import json, logging, sys, paramiko
cfg = json.load(sys.stdin)
# paramiko logs the agreed kex ("Kex: <name>") at DEBUG; keep the last one.
agreed = {}
class KexLog(logging.Handler):
    def emit(self, rec):
        m = rec.getMessage()
        if m.startswith('Kex: '): agreed['kex'] = m[5:]
logging.getLogger('paramiko').setLevel(logging.DEBUG)
logging.getLogger('paramiko').addHandler(KexLog())
T = paramiko.Transport
out = []
for c in cfg['cases']:
    r = {'name': c['name']}
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(cfg['knownHosts'])
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        disabled = {}
        for family, keep in c.get('only', {}).items():
            disabled[family] = [a for a in getattr(T, '_preferred_' + family) if a != keep]
        kw = dict(hostname='127.0.0.1', port=cfg['port'], username=c.get('user', 'bob'), allow_agent=False,
                  look_for_keys=False, timeout=10, banner_timeout=10, auth_timeout=10, disabled_algorithms=disabled)
        if 'password' in c: kw['password'] = c['password']
        if 'keyFile' in c: kw['key_filename'] = c['keyFile']
        client.connect(**kw)
        t = client.get_transport()
        r['kex'] = agreed.pop('kex', None)
        r['cipher'] = [t.local_cipher, t.remote_cipher]
        r['mac'] = [t.local_mac, t.remote_mac]
        r['hostKey'] = t.host_key_type
        stdin, stdout, stderr = client.exec_command(c.get('command', 'echo'), timeout=10)
        stdin.write(bytes.fromhex(c.get('inputHex', '')))
        stdin.channel.shutdown_write()
        r['stdout'] = stdout.read().hex()
        r['stderr'] = stderr.read().decode()
        r['status'] = stdout.channel.recv_exit_status()
    except Exception as e:
        r['error'] = type(e).__name__ + ': ' + str(e)
    finally:
        client.close()
    out.append(r)
print(json.dumps(out))
`;

interface CaseResult {
  name: string;
  kex?: string;
  cipher?: [string, string];
  mac?: [string, string];
  hostKey?: string;
  stdout?: string;
  stderr?: string;
  status?: number;
  error?: string;
}

interface Case {
  name: string;
  user?: string;
  password?: string;
  keyFile?: string;
  command?: string;
  inputHex?: string;
  only?: Partial<Record<'kex' | 'ciphers' | 'macs' | 'keys', string>>;
}

/** Echoes `<command>|<stdin as hex>` to stdout, `err` to stderr, and exits 9. */
function echoProcess(p: SSHServerProcess): void {
  const chunks: Buffer[] = [];
  p.stdin.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
  p.stdin.on('end', () => {
    p.stdout.write(`${p.command}|${Buffer.concat(chunks).toString('hex')}`);
    p.stderr.write('err');
    p.exit(9);
  });
}

describe('paramiko -> fleetssh server', { skip, timeout: 150_000 }, () => {
  const hostKeys = (['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const).map((t) => generatePrivateKey(t));
  let server: SSHServer;
  let knownHosts: string;
  let clientKeys: Record<'ed25519' | 'ecdsa' | 'rsa', KeyFiles>;
  let stranger: KeyFiles;

  before(async () => {
    const dir = makeTempDir('fleetssh-paramiko-');
    const [ed, ec, rsa, other] = await within(60_000, 'ssh-keygen', Promise.all([
      keygen('ed25519', undefined, { dir, name: 'id_ed25519' }),
      keygen('ecdsa', 256, { dir, name: 'id_ecdsa' }),
      keygen('rsa', 2048, { dir, name: 'id_rsa' }),
      keygen('ed25519', undefined, { dir, name: 'id_other' }),
    ]));
    clientKeys = { ed25519: ed!, ecdsa: ec!, rsa: rsa! };
    stranger = other!;
    server = await within(10_000, 'listen', listen({
      serverHostKeys: hostKeys,
      passwords: { bob: 'pw-bob' },
      authorizedClientKeys: Object.values(clientKeys).map((k) => importPublicKey(k.publicLine)),
      kexAlgs: [...KEX_ALGORITHMS],
      encryptionAlgs: [...CIPHER_ALGORITHMS],
      macAlgs: [...MAC_ALGORITHMS],
      serverHostKeyAlgs: [...SIGNATURE_ALGORITHMS],
      processFactory: echoProcess,
      encoding: null,
    }));
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, hostKeys.map((k) => `[127.0.0.1]:${server.port} ${k.exportPublicKey()}\n`).join(''));
  });
  after(async () => {
    await within(10_000, 'server close', server?.close() ?? Promise.resolve());
  });

  async function runCases(cases: Case[]): Promise<Map<string, CaseResult>> {
    const r = await runProcess(PYTHON, ['-c', PARAMIKO_CASES], {
      input: JSON.stringify({ port: server.port, knownHosts, cases }),
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout.toString()) as CaseResult[];
    return new Map(results.map((x) => [x.name, x]));
  }

  function assertRan(r: CaseResult | undefined, command: string, input: Buffer): void {
    assert.ok(r, 'case ran');
    assert.equal(r.error, undefined);
    assert.equal(Buffer.from(r.stdout ?? '', 'hex').toString(), `${command}|${input.toString('hex')}`);
    assert.equal(r.stderr, 'err');
    assert.equal(r.status, 9);
  }

  test('password and publickey (ed25519, ecdsa, rsa) authentication, exec with binary stdin', async () => {
    const input = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x0d, 0x80]);
    const base = { command: 'run it', inputHex: input.toString('hex') };
    const res = await runCases([
      { name: 'password', password: 'pw-bob', ...base },
      { name: 'ed25519', keyFile: clientKeys.ed25519.privatePath, ...base },
      { name: 'ecdsa', keyFile: clientKeys.ecdsa.privatePath, ...base },
      { name: 'rsa', keyFile: clientKeys.rsa.privatePath, ...base },
      { name: 'wrong password', password: 'nope', ...base },
      { name: 'unknown key', keyFile: stranger.privatePath, ...base },
    ]);
    for (const name of ['password', 'ed25519', 'ecdsa', 'rsa']) assertRan(res.get(name), 'run it', input);
    assert.match(res.get('wrong password')?.error ?? '', /^AuthenticationException/);
    assert.match(res.get('unknown key')?.error ?? '', /^AuthenticationException/);
  });

  test('a refused key, then the password, on one transport (paramiko sends SERVICE_REQUEST before each attempt)', {
    // Regression: sshd accepts a repeated SERVICE_REQUEST before success; paramiko relies on it.
  }, async () => {
    const input = Buffer.from('second method');
    const res = await runCases([{ name: 'key then password', keyFile: stranger.privatePath, password: 'pw-bob', command: 'two', inputHex: input.toString('hex') }]);
    assertRan(res.get('key then password'), 'two', input);
  });

  // Paramiko's algorithms that we implement too (it has no GCM, chacha20 or curve25519-sha256 without @libssh.org).
  const paramikoKex = ['curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
    'diffie-hellman-group16-sha512', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1'];
  const paramikoGex = ['diffie-hellman-group-exchange-sha256', 'diffie-hellman-group-exchange-sha1'];
  const paramikoCiphers = ['aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'];
  const paramikoMacs = ['hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1'];
  const paramikoHostKeys = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

  test('every shared kex, cipher, MAC and host key algorithm, one at a time', async () => {
    const input = Buffer.from('paramiko matrix');
    const base = { password: 'pw-bob', command: 'm', inputHex: input.toString('hex') };
    const cases: Case[] = [
      ...paramikoKex.map((a) => ({ name: `kex ${a}`, only: { kex: a }, ...base })),
      ...paramikoCiphers.map((a) => ({ name: `cipher ${a}`, only: { ciphers: a }, ...base })),
      ...paramikoMacs.map((a) => ({ name: `mac ${a}`, only: { macs: a }, ...base })),
      ...paramikoHostKeys.map((a) => ({ name: `hostkey ${a}`, only: { keys: a }, ...base })),
    ];
    const res = await runCases(cases);
    for (const a of paramikoKex) {
      const r = res.get(`kex ${a}`);
      assertRan(r, 'm', input);
      assert.equal(r!.kex, a);
    }
    for (const a of paramikoCiphers) assert.deepEqual(res.get(`cipher ${a}`)?.cipher, [a, a], JSON.stringify(res.get(`cipher ${a}`)));
    for (const a of paramikoMacs) assert.deepEqual(res.get(`mac ${a}`)?.mac, [a, a], JSON.stringify(res.get(`mac ${a}`)));
    for (const a of paramikoHostKeys) {
      assertRan(res.get(`hostkey ${a}`), 'm', input);
      assert.equal(res.get(`hostkey ${a}`)?.hostKey, a);
    }
  });

  test('group exchange (sha256, sha1)', async () => {
    const input = Buffer.from('gex');
    const res = await runCases(paramikoGex.map((a) => ({ name: a, only: { kex: a }, password: 'pw-bob', command: 'g', inputHex: input.toString('hex') })));
    for (const a of paramikoGex) {
      assertRan(res.get(a), 'g', input);
      assert.equal(res.get(a)?.kex, a);
    }
  });
});
