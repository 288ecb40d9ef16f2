/**
 * The three clients the benchmarks compare, behind one small interface:
 * fleetssh (our client), ssh2 (npm, native addon) and OpenSSH `ssh` (a child
 * process per command). Each opens one connection and runs commands on it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { Client as Ssh2Client, type ClientChannel } from 'ssh2';
import { connect } from '../src/actors/client.js';
import { importPrivateKey } from '../src/crypto/keys/ssh-key.js';
import { withTimeout } from './common.js';

export type ImplName = 'fleetssh' | 'ssh2' | 'openssh';

export interface Target {
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key file (PEM/openssh format). */
  keyPath: string;
  /** known_hosts file for `ssh`, or null to skip checking. */
  knownHostsFile: string | null;
}

/** A started remote command: its stdin/stdout and a promise of its end. */
export interface RemoteProc {
  stdin: Writable;
  stdout: Readable;
  done: Promise<void>;
}

export interface OpenConn {
  exec(command: string): Promise<RemoteProc>;
  close(): Promise<void>;
}

export interface ConnectSpec {
  kex?: string;
  cipher?: string;
}

export async function openFleetssh(t: Target, spec: ConnectSpec): Promise<OpenConn> {
  const key = importPrivateKey(readFileSync(t.keyPath, 'utf8'));
  const conn = await connect(t.host, {
    port: t.port,
    username: t.username,
    clientKeys: [key],
    knownHosts: null,
    ...(spec.kex ? { kexAlgs: [spec.kex] } : {}),
    ...(spec.cipher ? { encryptionAlgs: [spec.cipher] } : {}),
  });
  return {
    async exec(command) {
      // The channel's close, not p.wait(): wait() also collects all of stdout
      // into one Buffer, which the other clients here do not do.
      const p = await conn.createProcess(command, { encoding: null });
      return { stdin: p.stdin, stdout: p.stdout, done: p.channel.waitClosed().then(() => undefined) };
    },
    close: () => conn.close(),
  };
}

export function openSsh2(t: Target, spec: ConnectSpec): Promise<OpenConn> {
  const client = new Ssh2Client();
  const algorithms: Record<string, string[]> = {};
  if (spec.kex) algorithms.kex = [spec.kex];
  if (spec.cipher) algorithms.cipher = [spec.cipher];
  return new Promise((resolve, reject) => {
    client.once('error', reject);
    client.once('ready', () => {
      client.off('error', reject);
      client.on('error', () => undefined);
      resolve({
        exec: (command) =>
          new Promise((res, rej) => {
            client.exec(command, (err: Error | undefined, ch: ClientChannel) => {
              if (err) return rej(err);
              const done = new Promise<void>((d) => ch.once('close', () => d()));
              res({ stdin: ch, stdout: ch, done });
            });
          }),
        close: () =>
          new Promise<void>((r) => {
            client.once('close', () => r());
            client.end();
          }),
      });
    });
    client.connect({
      host: t.host,
      port: t.port,
      username: t.username,
      privateKey: readFileSync(t.keyPath),
      algorithms: algorithms as never,
      readyTimeout: 20_000,
    });
  });
}

/** `ssh` arguments for one command against the target (batch mode, no tty). */
export function sshArgv(t: Target, spec: ConnectSpec, command: string): string[] {
  const a = ['-T', '-p', String(t.port), '-i', t.keyPath, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR'];
  if (t.knownHostsFile) a.push('-o', `UserKnownHostsFile=${t.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes');
  else a.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no');
  if (spec.kex) a.push('-o', `KexAlgorithms=${spec.kex}`);
  if (spec.cipher) a.push('-c', spec.cipher);
  a.push(`${t.username}@${t.host}`, command);
  return a;
}

/** OpenSSH `ssh`: each exec is one `ssh` child process (its own connection). */
export function openOpenssh(t: Target, spec: ConnectSpec): Promise<OpenConn> {
  return Promise.resolve({
    exec(command) {
      const child = spawn('ssh', sshArgv(t, spec, command), { stdio: ['pipe', 'pipe', 'inherit'] });
      const done = new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited with ${code}`))));
      });
      return Promise.resolve({ stdin: child.stdin!, stdout: child.stdout!, done });
    },
    close: () => Promise.resolve(),
  });
}

export function openImpl(impl: ImplName, t: Target, spec: ConnectSpec): Promise<OpenConn> {
  const p = impl === 'fleetssh' ? openFleetssh(t, spec) : impl === 'ssh2' ? openSsh2(t, spec) : openOpenssh(t, spec);
  return withTimeout(p, 30_000, `${impl} connect`);
}
