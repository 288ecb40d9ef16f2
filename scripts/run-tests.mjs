#!/usr/bin/env node
// Runs the test suites on Node's own test runner (node:test) through tsx.
// Usage: node scripts/run-tests.mjs [unit|interop|<path-substring>...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { makeReportDir, removeReportDir, reportEnv, startWatchdog } from './test-watchdog.mjs';

const root = new URL('..', import.meta.url).pathname;
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
const filters = process.argv.slice(2);
let files = walk(join(root, 'test')).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
// Suites that load the machine (hundreds of embedded hosts, timing-bound
// fleet runs) run alone after the rest, so a neighbour cannot starve them.
const alone = (f) => f.startsWith('test/fleet/');
const TIMEOUT_S = 180;
// A file still running 30 s before its timeout gets its threads, stacks and
// ref'd handles printed (scripts/test-watchdog.mjs), so a hang names its cause.
const run = async (list, concurrency) => {
  if (list.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, `--test-timeout=${TIMEOUT_S * 1000}`, ...list];
  const reportDir = makeReportDir();
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: reportEnv(reportDir) });
  const stop = startWatchdog(child.pid, { afterSeconds: TIMEOUT_S - 30, reportDir });
  const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  stop();
  removeReportDir(reportDir);
  return status;
};
// The whole suite also typechecks the tests, helpers and benchmarks (tsx
// strips types without checking them).
let typecheck = 0;
if (filters.length === 0) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  typecheck = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' }).status ?? 1;
  console.log(typecheck === 0 ? '# typecheck (tsconfig.test.json): ok' : '# typecheck (tsconfig.test.json): FAILED');
}
const first = await run(files.filter((f) => !alone(f)), 2);
const second = await run(files.filter(alone), 1);
process.exit(first || second || typecheck);
