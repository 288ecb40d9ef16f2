/**
 * `--fleetssh=before=DIR1,after=DIR2` for the benches whose fleetssh runs in a
 * child (fan-out, handshake): each build becomes one labelled implementation,
 * its directory made absolute here because the compiled child resolves paths
 * from dist/bench. Without the flag: the build compiled with the child.
 */
import { isAbsolute, join } from 'node:path';
import { ROOT } from './common.js';

export interface FleetsshBuild {
  label: string;
  /** Absolute directory laid out like src/, or undefined for the child's own build. */
  lib?: string;
}

export function fleetsshBuilds(flag: string | boolean | undefined): FleetsshBuild[] {
  if (typeof flag !== 'string') return [{ label: 'fleetssh' }];
  return flag.split(',').map((b) => {
    const eq = b.indexOf('=');
    const dir = eq < 0 ? b : b.slice(eq + 1);
    return { label: eq < 0 ? 'fleetssh' : `fleetssh:${b.slice(0, eq)}`, lib: isAbsolute(dir) ? dir : join(ROOT, dir) };
  });
}
