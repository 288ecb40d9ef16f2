/**
 * One SFTP transfer in its own process, for sftp-ssh-bench.ts:
 *   sftp-ssh-client.ts fleetssh|ssh2 get|put <from> <to> --port=N --key=PATH --known=PATH
 * Connects (curve25519, aes128-gcm), times only the transfer, and prints
 * {"seconds": s, "peakMiB": VmHWM of this process}.
 */
import { readFileSync, statSync } from 'node:fs';
import { Client as Ssh2Client, type SFTPWrapper } from 'ssh2';
import { connect } from '../src/actors/client.js';
import { importPrivateKey } from '../src/crypto/keys/ssh-key.js';
import { parseFlags } from './common.js';

const { names, flags } = parseFlags(process.argv.slice(2));
const [impl, op, from, to] = names as [string, 'get' | 'put', string, string];
const port = Number(flags.get('port'));
const keyPath = String(flags.get('key'));
const known = String(flags.get('known'));

function peakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

async function fleetssh(): Promise<number> {
  const conn = await connect('127.0.0.1', {
    port, username: 'root', clientKeys: [importPrivateKey(readFileSync(keyPath, 'utf8'))], knownHosts: known,
    kexAlgs: ['curve25519-sha256'], encryptionAlgs: ['aes128-gcm@openssh.com'], agentPath: null, config: null,
  });
  const sftp = await conn.startSftpClient();
  const recurse = op === 'put' ? statSync(from).isDirectory() : await sftp.isdir(from);
  const t0 = process.hrtime.bigint();
  if (op === 'get') await sftp.get(from, to, { recurse });
  else await sftp.put(from, to, { recurse });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  sftp.exit();
  conn.close();
  return secs;
}

function ssh2(): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = new Ssh2Client();
    c.once('error', reject);
    c.once('ready', () => {
      c.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) return reject(err);
        const t0 = process.hrtime.bigint();
        const done = (e?: Error | null): void => {
          if (e) return reject(e);
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          c.end();
          resolve(secs);
        };
        if (op === 'get') sftp.fastGet(from, to, {}, done);
        else sftp.fastPut(from, to, {}, done);
      });
    });
    c.connect({
      host: '127.0.0.1', port, username: 'root', privateKey: readFileSync(keyPath),
      algorithms: { kex: ['curve25519-sha256'], cipher: ['aes128-gcm@openssh.com'] } as never, readyTimeout: 20_000,
    });
  });
}

const seconds = impl === 'ssh2' ? await ssh2() : await fleetssh();
console.log(JSON.stringify({ seconds, peakMiB: peakMiB() }));
process.exit(0);
