#!/usr/bin/env node
// Runs the test suites on Node's own test runner (node:test) through tsx.
// Usage: node scripts/run-tests.mjs [unit|interop|<path-substring>...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const run = (list, concurrency) => {
  if (list.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...list];
  return spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
};
// The whole suite also typechecks the tests, helpers and benchmarks (tsx
// strips types without checking them).
let typecheck = 0;
if (filters.length === 0) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  typecheck = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' }).status ?? 1;
  console.log(typecheck === 0 ? '# typecheck (tsconfig.test.json): ok' : '# typecheck (tsconfig.test.json): FAILED');
}
const first = run(files.filter((f) => !alone(f)), 2);
const second = run(files.filter(alone), 1);
process.exit(first || second || typecheck);
