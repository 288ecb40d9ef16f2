/** `fleetssh run`: inventory -> Fleet -> reporters, progress bar, exit code. */
import { Fleet, summarize, type FleetOptions } from '../orchestrator/fleet.js';
import { loadInventory, selectGroups } from '../orchestrator/inventory/load-inventory.js';
import { hostsFromStrings } from '../orchestrator/inventory/hosts-file.js';
import { InventoryError } from '../orchestrator/inventory/inventory-error.js';
import type { Connector, FleetConnectOptions, HostEvent, HostResult, HostSpec } from '../orchestrator/types.js';
import type { PutArgs, RunArgs } from './args.js';
import type { Observable } from 'rxjs';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { ProgressBar, type ProgressCounts } from './progress.js';
import { GroupedReporter, InlineReporter, JsonReporter, OutdirReporter, Reporters, type Reporter, type Writer } from './reporters.js';
import { neutralize } from './sanitize.js';

export interface TtyWriter extends Writer {
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: TtyWriter;
  stderr: TtyWriter;
  env: Record<string, string | undefined>;
}

export interface RunDeps {
  connector?: Connector;
  signal?: AbortSignal;
  /** Extra fleet options (tests, demo). */
  fleet?: Partial<FleetOptions>;
}

export async function resolveHosts(args: Pick<RunArgs, 'inventories' | 'hosts' | 'groups'>): Promise<HostSpec[]> {
  const all: HostSpec[] = [];
  const seen = new Set<string>();
  for (const file of args.inventories) {
    for (const h of await loadInventory(file)) if (!seen.has(h.name)) seen.add(h.name), all.push(h);
  }
  let hosts = selectGroups(all, args.groups);
  if (args.groups.length > 0 && hosts.length === 0) throw new InventoryError(args.inventories.join(', ') || '-H', 0, `no host in group(s) ${args.groups.join(', ')}`);
  for (const h of hostsFromStrings(args.hosts)) if (!seen.has(h.name)) seen.add(h.name), hosts = [...hosts, h];
  return hosts;
}

export function connectOptionsFrom(args: { user?: string; port?: number; insecure: boolean; keys: string[] }, env: CliIO['env']): Partial<FleetConnectOptions> {
  const o: Partial<FleetConnectOptions> = {};
  if (args.user !== undefined) o.username = args.user;
  if (args.port !== undefined) o.port = args.port;
  if (args.insecure) o.knownHosts = null;
  if (args.keys.length > 0) o.clientKeys = args.keys;
  if (env['FLEETSSH_PASSWORD'] !== undefined) o.password = env['FLEETSSH_PASSWORD'];
  return o;
}

export async function runCommand(args: RunArgs | PutArgs, io: CliIO, deps: RunDeps = {}): Promise<number> {
  let hosts: HostSpec[];
  try {
    hosts = await resolveHosts(args);
  } catch (err) {
    io.stderr.write(`fleetssh: ${neutralize((err as Error).message)}\n`);
    return err instanceof InventoryError || err instanceof RangeError ? ExitCode.USAGE : ExitCode.INTERNAL;
  }
  if (hosts.length === 0) {
    io.stderr.write('fleetssh: the inventory has no hosts\n');
    return ExitCode.USAGE;
  }
  // -J: the bastion of every host the inventory gives none.
  const jump = args.jump;
  if (jump !== undefined) hosts = hosts.map((h) => (h.jump === undefined ? { ...h, jump } : h));
  const options: FleetOptions = {
    concurrency: args.parallel,
    retries: args.retries,
    connect: connectOptionsFrom(args, io.env),
    timeouts: {
      ...(args.connectTimeout > 0 ? { connect: args.connectTimeout * 1000 } : {}),
      ...(args.timeout > 0 ? { total: args.timeout * 1000 } : {}),
    },
    ...(args.rate > 0 ? { connectRate: { global: { perSecond: args.rate, burst: Math.max(1, Math.round(args.rate / 10)) } } } : {}),
    ...(deps.connector ? { connector: deps.connector } : {}),
    ...deps.fleet,
  };
  let fleet: Fleet;
  try {
    fleet = new Fleet(hosts, options);
  } catch (err) {
    io.stderr.write(`fleetssh: ${neutralize((err as Error).message)}\n`);
    return ExitCode.USAGE;
  }
  if (args.cmd === 'put' || args.cmd === 'get') {
    const signal = deps.signal;
    const o = { recurse: args.recursive, preserve: args.preserve, ...(signal ? { signal } : {}) };
    // get: REMOTE... LOCALDIR (sources then the directory, as put's LOCAL... REMOTE).
    return executeRun(fleet, args, io, signal, () => (args.cmd === 'put' ? fleet.put(args.sources, args.remote, o) : fleet.get(args.sources, args.remote, o)));
  }
  return executeRun(fleet, args, io, deps.signal);
}

/** Runs a prepared fleet with the reporters `args` asks for; resolves to the exit code. */
export function executeRun(
  fleet: Fleet,
  args: Pick<RunArgs, 'command' | 'json' | 'inline' | 'outdir' | 'progress'>,
  io: CliIO,
  signal?: AbortSignal,
  /** The events to report (default: run args.command). */
  events?: () => Observable<HostEvent>,
): Promise<number> {
  const counts: ProgressCounts = { total: fleet.hosts.length, succeeded: 0, failed: 0, unreachable: 0, running: 0 };
  const showBar = args.progress === true || (args.progress === 'auto' && io.stderr.isTTY === true);
  let bar = showBar ? new ProgressBar(io.stderr, () => counts) : null;
  const stopBar = (): void => {
    bar?.stop();
    bar = null;
  };
  const guard = (w: Writer): Writer => ({
    write: (t: string) => {
      bar?.clear();
      w.write(t);
      bar?.draw();
    },
  });
  const out = guard(io.stdout);
  const err = guard(io.stderr);
  const list: Reporter[] = [];
  if (args.json !== 'none') list.push(new JsonReporter(out, args.json));
  else if (args.inline) list.push(new InlineReporter(out, err));
  else list.push(new GroupedReporter(out, { colour: io.stdout.isTTY === true && io.env['NO_COLOR'] === undefined, showOutput: true }));
  if (args.outdir) list.push(new OutdirReporter(args.outdir));
  const reporter = new Reporters(list);
  const results: HostResult[] = [];
  const t0 = Date.now();
  return new Promise<number>((resolve) => {
    (events ? events() : fleet.run(args.command, { lines: args.inline && args.json === 'none', collect: args.inline && !args.outdir ? 0 : 1 << 20, ...(signal ? { signal } : {}) }))
      .subscribe({
        next: (e) => {
          if (e.type === 'connecting' && e.attempt === 1) counts.running += 1;
          if (e.type === 'done') {
            if (e.result.attempts > 0) counts.running -= 1;
            results.push(e.result);
            if (e.result.outcome === 'succeeded') counts.succeeded += 1;
            else if (e.result.outcome === 'unreachable') counts.unreachable += 1;
            else counts.failed += 1;
          }
          reporter.onEvent(e);
        },
        error: (e: unknown) => {
          stopBar();
          io.stderr.write(`fleetssh: internal error: ${neutralize(String((e as Error)?.stack ?? e))}\n`);
          resolve(ExitCode.INTERNAL);
        },
        complete: () => {
          stopBar();
          const run = summarize(results, Date.now() - t0);
          reporter.onSummary(run.summary);
          resolve(exitCodeFor(run));
        },
      });
  });
}
