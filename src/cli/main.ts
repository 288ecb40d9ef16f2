#!/usr/bin/env node
/** The `fleetssh` executable. */
import { main } from './cli.js';

const ac = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts > 1) process.exit(130);
  ac.abort();
});
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

const io = {
  stdout: process.stdout,
  stderr: process.stderr,
  rawStdout: process.stdout,
  rawStderr: process.stderr,
  env: process.env,
};

main(process.argv.slice(2), io, { signal: ac.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fleetssh: internal error: ${String((err as Error)?.stack ?? err)}\n`);
    process.exitCode = 1;
  },
);
