/**
 * Exit codes of `fleetssh run`, in the spirit of pssh. When several apply,
 * the first in this order wins: INTERNAL, UNREACHABLE, FAILED, NONZERO.
 */
import type { FleetRunResult } from '../orchestrator/fleet.js';

export const ExitCode = {
  /** Every host ran the command and it exited 0. */
  OK: 0,
  /** fleetssh itself failed (or a host hit an internal error). */
  INTERNAL: 1,
  /** Bad command line or inventory. */
  USAGE: 2,
  /** A command was cut short: timed out, connection lost, killed by a signal. */
  FAILED: 3,
  /** A host could not be reached or logged into (refused, timeout, auth, host key). */
  UNREACHABLE: 4,
  /** A remote command exited with a non-zero status. */
  NONZERO: 5,
  /** Interrupted (SIGINT). */
  INTERRUPTED: 130,
} as const;

export function exitCodeFor(run: Pick<FleetRunResult, 'results'>): number {
  const rs = run.results;
  if (rs.some((r) => r.error?.kind === 'internal')) return ExitCode.INTERNAL;
  if (rs.some((r) => r.outcome === 'aborted')) return ExitCode.INTERRUPTED;
  if (rs.some((r) => r.outcome === 'unreachable')) return ExitCode.UNREACHABLE;
  if (rs.some((r) => r.outcome === 'failed' && (r.error !== null || r.exitSignal !== null))) return ExitCode.FAILED;
  if (rs.some((r) => r.outcome === 'failed')) return ExitCode.NONZERO;
  return ExitCode.OK;
}
