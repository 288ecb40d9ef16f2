/**
 * ProxyJump from the user's ssh_config, resolved by the fleet rather than by
 * each connect(), so that every target behind the same jump host shares the
 * fleet's one connection to it (BastionPool) and its per-bastion rate limit.
 * Hops come back resolved through the config (`user@hostname:port,...`); the
 * bastion is then dialled with the target's config-derived options and
 * `config: null`, as connect() does for its own hops (no ProxyJump loops).
 */
import { applySshConfig } from '../actors/client-options.js';
import type { ConnectOptions } from '../actors/client-options.js';
import type { FleetConnectOptions } from './types.js';

export interface ConfigJump {
  jump: string;
  /** Connect options for the bastion. */
  options: Partial<FleetConnectOptions>;
}

export type JumpResolver = (host: string, options: Partial<FleetConnectOptions>) => ConfigJump | undefined;

export const jumpFromSshConfig: JumpResolver = (host, options) => {
  if (options.config === null || options.sock !== undefined || options.tunnel !== undefined) return undefined;
  const { signal: _s, ...rest } = options;
  const applied = applySshConfig(host, rest as ConnectOptions).options;
  const jump = applied.tunnel;
  if (typeof jump !== 'string' || jump === '' || jump.toLowerCase() === 'none') return undefined;
  const { tunnel: _t, sock: _k, x11Forwarding: _x, ...hop } = applied;
  return { jump, options: { ...(hop as Partial<FleetConnectOptions>), config: null } };
};
