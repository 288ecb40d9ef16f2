/** `fleetssh demo`: an embedded fleet in a child process, one fleet run against it. */
import { Fleet } from '../orchestrator/fleet.js';
import type { DemoArgs } from './args.js';
import { startDemoHosts } from './demo-fleet.js';
import { ExitCode } from './exit-codes.js';
import { executeRun, type CliIO } from './run-command.js';

export async function runDemo(args: DemoArgs, io: CliIO, signal?: AbortSignal): Promise<number> {
  io.stderr.write(`fleetssh demo: starting ${args.count} embedded SSH servers in a child process...\n`);
  let demo;
  try {
    demo = await startDemoHosts({ count: args.count, port: 2222, mix: 'demo' });
  } catch (err) {
    io.stderr.write(`fleetssh demo: ${(err as Error).message}\n`);
    return ExitCode.INTERNAL;
  }
  try {
    const counts: Record<string, number> = {};
    for (const h of demo.hosts) counts[h.behaviour] = (counts[h.behaviour] ?? 0) + 1;
    const odd = Object.entries(counts)
      .filter(([b]) => b !== 'normal')
      .map(([b, n]) => `${n} ${b}`)
      .join(', ');
    const first = demo.hosts[0]!;
    const last = demo.hosts.at(-1)!;
    io.stderr.write(
      `fleetssh demo: ${demo.hosts.length} hosts ${first.host}..${last.host} (child pid ${demo.pid}); misbehaving on purpose: ${odd}\n` +
        `fleetssh demo: running ${JSON.stringify(args.command)} with ${args.parallel} in parallel\n`,
    );
    const fleet = new Fleet(
      demo.hosts.map((h) => ({ name: h.name, host: h.host, port: h.port })),
      {
        concurrency: args.parallel,
        retries: 1,
        backoff: { baseMs: 100 },
        connect: { username: 'demo', knownHosts: null, clientKeys: null },
        timeouts: { connect: 5000, command: 15_000, total: 25_000 },
      },
    );
    return await executeRun(fleet, { command: args.command, json: args.json ? 'hosts' : 'none', inline: false, progress: 'auto' }, io, signal);
  } finally {
    await demo.stop();
  }
}
