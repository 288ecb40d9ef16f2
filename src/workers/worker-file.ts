/**
 * Resolves a worker entry next to this module: `.ts` under tsx (then the
 * worker needs `--import tsx` in its execArgv), `.js` when running from dist/.
 */
import { fileURLToPath } from 'node:url';

export interface WorkerFile {
  readonly filename: string;
  readonly execArgv: string[];
}

export function workerFile(baseName: string): WorkerFile {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const filename = fileURLToPath(new URL(`./${baseName}${ts ? '.ts' : '.js'}`, import.meta.url));
  const inherited = workerExecArgv(process.execArgv);
  const hasTsx = inherited.some((a, i) => (a === '--import' || a === '--loader') && /tsx/.test(inherited[i + 1] ?? '')) || inherited.some((a) => /^--import=.*tsx/.test(a));
  return { filename, execArgv: ts && !hasTsx ? [...inherited, '--import', 'tsx'] : inherited };
}

/** Options taking a separate value argument that a worker may inherit. */
const WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '--conditions', '-C']);

/**
 * The parent's execArgv that a Worker accepts: module loaders and hooks,
 * conditions, experimental and warning flags. Per-process options
 * (--expose-gc, --cpu-prof, --max-old-space-size, --test, ...) make
 * `new Worker` throw ERR_WORKER_INVALID_EXEC_ARGV, so they are left out.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const name = a.split('=')[0]!;
    if (WITH_VALUE.has(a) && i + 1 < execArgv.length) {
      out.push(a, execArgv[++i]!);
    } else if (WITH_VALUE.has(name) || /^--(experimental-|no-experimental-|no-warnings|no-deprecation|enable-source-maps)/.test(name)) {
      if (name !== '--experimental-test-coverage') out.push(a);
    }
  }
  return out;
}
