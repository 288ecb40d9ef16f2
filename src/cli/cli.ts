/** Dispatch of `fleetssh` subcommands; main.ts adds the process glue. */
import { createRequire } from 'node:module';
import { parseCliArgs, UsageError } from './args.js';
import { ExitCode } from './exit-codes.js';
import { HELP } from './help.js';
import { runCommand, type CliIO, type RunDeps } from './run-command.js';
import { execCommand, type RawOut } from './exec-command.js';
import { neutralize } from './sanitize.js';

export type FullIO = CliIO & { rawStdout: RawOut; rawStderr: RawOut };

function version(): string {
  try {
    const req = createRequire(import.meta.url);
    for (const p of ['../../package.json', '../../../package.json']) {
      try {
        return (req(p) as { version: string }).version;
      } catch {
        /* try the next layout (src vs dist/src) */
      }
    }
  } catch {
    /* fall through */
  }
  return 'unknown';
}

export async function main(argv: string[], io: FullIO, deps: RunDeps = {}): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`fleetssh: ${neutralize(err.message)}\nTry 'fleetssh --help'.\n`);
    return ExitCode.USAGE;
  }
  switch (args.cmd) {
    case 'help':
      io.stdout.write(HELP);
      return ExitCode.OK;
    case 'version':
      io.stdout.write(`fleetssh ${version()}\n`);
      return ExitCode.OK;
    case 'run':
    case 'put':
    case 'get':
      return runCommand(args, io, deps);
    case 'exec':
      return execCommand(args, io, deps);
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(args, io, deps.signal);
    }
  }
}
