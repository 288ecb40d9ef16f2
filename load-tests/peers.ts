/**
 * The three clients the benchmarks compare, behind one small interface:
 * fleetssh (our client), ssh2 (npm, native addon) and OpenSSH `ssh` (a child
 * process per command). Each opens one connection and runs commands on it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { Client as Ssh2Client, type ClientChannel } from 'ssh2';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '../src/actors/client.js';
import { importPrivateKey } from '../src/crypto/keys/ssh-key.js';
import { ROOT, withTimeout } from './common.js';

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

/** The two entry points a bench needs from one copy of fleetssh (the sources, or a build). */
export interface FleetsshLib {
  connect: typeof connect;
  importPrivateKey: typeof importPrivateKey;
}

/** The sources this process was started with (through tsx). */
export const SOURCE_LIB: FleetsshLib = { connect, importPrivateKey };

/**
 * Loads fleetssh from a directory laid out like `src/` (`dist/src` after
 * `npm run build`, or a copy of an older build for a before/after run in one
 * process); relative paths are from the repository root.
 */
export async function loadFleetssh(dir: string): Promise<FleetsshLib> {
  if (dir === 'src') return SOURCE_LIB;
  const root = isAbsolute(dir) ? dir : join(ROOT, dir);
  const client = (await import(pathToFileURL(join(root, 'actors/client.js')).href)) as { connect: typeof connect };
  const keys = (await import(pathToFileURL(join(root, 'crypto/keys/ssh-key.js')).href)) as { importPrivateKey: typeof importPrivateKey };
  return { connect: client.connect, importPrivateKey: keys.importPrivateKey };
}

export async function openFleetssh(t: Target, spec: ConnectSpec, lib: FleetsshLib = SOURCE_LIB): Promise<OpenConn> {
  const key = lib.importPrivateKey(readFileSync(t.keyPath, 'utf8'));
  const conn = await lib.connect(t.host, {
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
