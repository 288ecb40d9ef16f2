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
  const inherited = process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--input-type'));
  const hasTsx = inherited.some((a, i) => (a === '--import' || a === '--loader') && /tsx/.test(inherited[i + 1] ?? '')) || inherited.some((a) => /^--import=.*tsx/.test(a));
  return { filename, execArgv: ts && !hasTsx ? [...inherited, '--import', 'tsx'] : inherited };
}
