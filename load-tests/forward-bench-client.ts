/**
 * The fleetssh side of forward-bench.ts, in its own process (as `ssh` is):
 * one connection straight to sshd B and one to B through a connection to
 * sshd A (`tunnel: bastion`), each with a local port forward to the hash
 * server. It loads the compiled library (dist/) when it is at least as new as
 * every source file, else the TypeScript sources (through tsx).
 *
 * Configuration in FLEETSSH_FWD_ARGS (JSON, see Args). Prints
 * {"lib","direct","tunnelled"} once both forwards listen, then answers stdin
 * lines: "cpu" -> {"cpuMs"}, "stop" -> closes everything and exits.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { ROOT } from './common.js';

interface Args {
  a: { port: number; knownHosts: string };
  b: { port: number; knownHosts: string };
  keyPath: string;
  hashPort: number;
  /** Which build: auto, dist, src, or the path of another build's index.js. */
  lib: string;
  encryptionAlgs: string[];
  kexAlgs: string[];
}

type Lib = typeof import('../src/index.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** 'dist' when the build is present and not older than any source file. */
function pickLib(want: string): string {
  if (want !== 'auto') return want;
  const built = join(ROOT, 'dist/src/index.js');
  if (!existsSync(built)) return 'src';
  const oldest = Math.min(statSync(built).mtimeMs, statSync(join(ROOT, 'dist/src/actors/client.js')).mtimeMs);
  return oldest >= newestMtime(join(ROOT, 'src')) ? 'dist' : 'src';
}

const args = JSON.parse(process.env.FLEETSSH_FWD_ARGS ?? '{}') as Args;
const which = pickLib(args.lib);
const entry = which === 'dist' ? join(ROOT, 'dist/src/index.js') : which === 'src' ? join(ROOT, 'src/index.ts') : which;
const lib = (await import(pathToFileURL(entry).href)) as Lib;
const key = lib.importPrivateKey(readFileSync(args.keyPath, 'utf8'));
const common = { username: 'root', clientKeys: [key], kexAlgs: args.kexAlgs, encryptionAlgs: args.encryptionAlgs };
const to = (s: Args['a']) => ({ ...common, port: s.port, knownHosts: s.knownHosts });

const direct = await lib.connect('127.0.0.1', to(args.b));
const bastion = await lib.connect('127.0.0.1', to(args.a));
const tunnelled = await lib.connect('127.0.0.1', { ...to(args.b), tunnel: bastion });
const fwdDirect = await direct.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', args.hashPort);
const fwdTunnelled = await tunnelled.forwardLocalPort('127.0.0.1', 0, '127.0.0.1', args.hashPort);
console.log(JSON.stringify({ lib: which, direct: fwdDirect.port, tunnelled: fwdTunnelled.port }));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'cpu') {
    const u = process.cpuUsage();
    console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000 }));
  } else if (line === 'stop') {
    rl.close();
    void (async () => {
      for (const c of [tunnelled, bastion, direct]) await c.close().catch(() => undefined);
      process.exit(0);
    })();
  }
});
rl.once('close', () => setTimeout(() => process.exit(0), 2000).unref());
