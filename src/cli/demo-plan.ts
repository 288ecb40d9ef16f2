/**
 * Who is who in the embedded demo fleet: host i's address and behaviour,
 * computed the same way in the parent, the child and the tests.
 */

export type DemoBehaviour =
  /** a small Linux host */
  | 'normal'
  /** answers, but each command takes 1-3 s longer */
  | 'slow'
  /** nothing listens: connection refused */
  | 'refuse'
  /** drops the TCP connection in the middle of the command */
  | 'drop'
  /** every command fails with exit status 1 */
  | 'fail'
  /** sends its version line, then stalls the handshake */
  | 'stall-handshake'
  /** accepts TCP and never says anything */
  | 'silent'
  /** runs the command forever */
  | 'hang';

/** demo: a few odd hosts; test: many kinds of failure; bench: all normal. */
export type DemoMix = 'demo' | 'test' | 'bench';

export interface DemoHost {
  name: string;
  host: string;
  port: number;
  behaviour: DemoBehaviour;
}

/** 127.0.X.Y addresses, 250 to a /24, starting at 127.0.<base>.1. */
export function demoAddress(i: number, base = 1): string {
  return `127.0.${base + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

export function demoBehaviour(i: number, mix: DemoMix): DemoBehaviour {
  if (mix === 'bench') return 'normal';
  if (mix === 'demo') {
    if (i % 50 === 7) return 'refuse';
    if (i % 67 === 11) return 'drop';
    if (i % 43 === 5) return 'fail';
    if (i % 30 === 3) return 'slow';
    return 'normal';
  }
  const r = i % 20;
  if (r === 1) return 'refuse';
  if (r === 3) return 'stall-handshake';
  if (r === 5) return 'silent';
  if (r === 7) return 'drop';
  if (r === 9) return 'fail';
  if (r === 11) return 'hang';
  if (r === 13) return 'slow';
  return 'normal';
}

export function demoName(i: number): string {
  return `node${String(i + 1).padStart(3, '0')}`;
}
