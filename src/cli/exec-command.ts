/** `fleetssh exec HOST COMMAND`: one host, output passed through as-is (like ssh). */
import { parseTarget } from '../orchestrator/target.js';
import { defaultConnector } from '../orchestrator/default-connector.js';
import { classifyError } from '../orchestrator/classify-error.js';
import type { Connector, FleetConnection, FleetConnectOptions } from '../orchestrator/types.js';
import type { ExecArgs } from './args.js';
import { connectOptionsFrom, type CliIO } from './run-command.js';
import { neutralize } from './sanitize.js';

export interface RawOut {
  write(chunk: Buffer | string): unknown;
}

/** Exit code: the remote status; 128+n for a known signal; 255 when the connection failed (as ssh does). */
export async function execCommand(
  args: ExecArgs,
  io: CliIO & { rawStdout: RawOut; rawStderr: RawOut },
  deps: { connector?: Connector; signal?: AbortSignal } = {},
): Promise<number> {
  let conn: FleetConnection | null = null;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = args.timeout > 0 ? setTimeout(() => ac.abort(), args.timeout * 1000) : null;
  try {
    const t = parseTarget(args.target);
    const options: FleetConnectOptions = { ...connectOptionsFrom(args, io.env), signal: ac.signal };
    if (t.port !== undefined) options.port = t.port;
    if (t.username !== undefined) options.username = t.username;
    if (args.jump !== undefined) options.tunnel = args.jump;
    conn = await (deps.connector ?? defaultConnector)(t.host, options);
    const proc = await conn.createProcess(args.command, { encoding: null, signal: ac.signal });
    proc.stdout.on('data', (c: Buffer) => io.rawStdout.write(c));
    proc.stderr.on('data', (c: Buffer) => io.rawStderr.write(c));
    proc.stdout.on('error', () => undefined);
    proc.stderr.on('error', () => undefined);
    proc.stdin?.end();
    const ended = (s: NodeJS.ReadableStream & { readableEnded?: boolean }): Promise<void> =>
      new Promise((resolve) => {
        if (s.readableEnded) return resolve();
        s.once('end', resolve);
        s.once('close', resolve);
        s.once('error', () => resolve());
      });
    const [exit] = await Promise.all([proc.wait(), ended(proc.stdout), ended(proc.stderr)]);
    if (exit.exitStatus !== null) return exit.exitStatus & 0xff;
    const sig = exit.exitSignal === null ? null : typeof exit.exitSignal === 'string' ? exit.exitSignal : exit.exitSignal.signal;
    const numbers: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
    return sig !== null && numbers[sig] !== undefined ? 128 + numbers[sig]! : 255;
  } catch (err) {
    const c = classifyError(ac.signal.aborted && timer !== null && !deps.signal?.aborted ? Object.assign(new Error(`timed out after ${args.timeout} s`), { code: 'ERR_SSH_TIMEOUT' }) : err);
    io.stderr.write(`fleetssh: ${neutralize(args.target)}: ${c.kind}: ${neutralize(c.message)}\n`);
    return 255;
  } finally {
    if (timer) clearTimeout(timer);
    deps.signal?.removeEventListener('abort', onAbort);
    try {
      const r = conn?.close();
      if (r instanceof Promise) r.catch(() => undefined);
    } catch {
      /* closed */
    }
  }
}
