/**
 * The commands an embedded demo host understands, enough to look like a
 * small Linux box: hostname, uptime, uname, cat, echo, sleep, exit, true,
 * false, whoami, id, date; `;` and `&&` sequences.
 */
import type { Readable, Writable } from 'node:stream';

export interface ShellContext {
  hostname: string;
  username: string;
  index: number;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Extra delay before each command (slow hosts). */
  delayMs: number;
  /** Resolves when the client goes away (stops sleeps). */
  closed: Promise<void>;
}

function write(w: Writable, text: string): void {
  if (!w.destroyed && !w.writableEnded) w.write(text);
}

function words(cmd: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:\\.|[^"])*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(cmd))) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return out;
}

function sleep(ms: number, closed: Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    void closed.then(() => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

function uptime(i: number): string {
  const now = new Date();
  const days = 3 + (i % 90);
  const load = ((i * 7) % 100) / 100;
  return ` ${now.toTimeString().slice(0, 8)} up ${days} days,  ${(i * 13) % 24}:${String((i * 17) % 60).padStart(2, '0')},  1 user,  load average: ${load.toFixed(2)}, ${(load / 2).toFixed(2)}, ${(load / 3).toFixed(2)}\n`;
}

async function simple(argv: string[], ctx: ShellContext): Promise<number | 'exit'> {
  const [name, ...args] = argv;
  const out = (t: string): void => write(ctx.stdout, t);
  const err = (t: string): void => write(ctx.stderr, t);
  switch (name) {
    case undefined:
      return 0;
    case 'hostname':
      out(ctx.hostname + '\n');
      return 0;
    case 'uptime':
      out(uptime(ctx.index));
      return 0;
    case 'uname': {
      const all = `Linux ${ctx.hostname} 6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03) x86_64 GNU/Linux`;
      const flag = args[0] ?? '-s';
      const parts: Record<string, string> = { '-a': all, '-s': 'Linux', '-n': ctx.hostname, '-r': '6.1.0-21-amd64', '-m': 'x86_64' };
      if (parts[flag] === undefined) {
        err(`uname: invalid option -- '${flag.replace(/^-/, '')}'\n`);
        return 1;
      }
      out(parts[flag] + '\n');
      return 0;
    }
    case 'echo':
      if (args[0] === '-n') out(args.slice(1).join(' '));
      else out(args.join(' ') + '\n');
      return 0;
    case 'true':
      return 0;
    case 'false':
      return 1;
    case 'whoami':
      out(ctx.username + '\n');
      return 0;
    case 'id':
      out(`uid=1000(${ctx.username}) gid=1000(${ctx.username}) groups=1000(${ctx.username})\n`);
      return 0;
    case 'date':
      out(new Date().toUTCString() + '\n');
      return 0;
    case 'cat': {
      if (args.length === 0) {
        await new Promise<void>((resolve) => {
          ctx.stdin.on('data', (c: Buffer | string) => write(ctx.stdout, c.toString()));
          ctx.stdin.once('end', resolve);
          ctx.stdin.once('close', resolve);
          void ctx.closed.then(resolve);
        });
        return 0;
      }
      let status = 0;
      for (const f of args) {
        if (f === '/etc/hostname') out(ctx.hostname + '\n');
        else if (f === '/etc/os-release') out('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
        else {
          err(`cat: ${f}: No such file or directory\n`);
          status = 1;
        }
      }
      return status;
    }
    case 'sleep': {
      const s = Number(args[0]);
      if (!Number.isFinite(s) || s < 0) {
        err(`sleep: invalid time interval '${args[0] ?? ''}'\n`);
        return 1;
      }
      return (await sleep(s * 1000, ctx.closed)) ? 0 : 'exit';
    }
    case 'exit':
      return Number.parseInt(args[0] ?? '0', 10) & 0xff;
    default:
      err(`sh: 1: ${name}: not found\n`);
      return 127;
  }
}

/** Runs a command line; resolves to the exit status (null if the client went away). */
export async function runShell(command: string, ctx: ShellContext): Promise<number | null> {
  let status = 0;
  // `a && b ; c`: split on ; first, then && inside each part.
  for (const part of command.split(';')) {
    let first = true;
    for (const step of part.split('&&')) {
      if (!first && status !== 0) break;
      first = false;
      if (ctx.delayMs > 0 && !(await sleep(ctx.delayMs, ctx.closed))) return null;
      const argv = words(step.trim());
      const r = await simple(argv, ctx);
      if (r === 'exit') return null;
      status = r;
      if (argv[0] === 'exit') return status;
    }
  }
  return status;
}
