/**
 * The real client, loaded lazily so the orchestrator can be used (and
 * tested) with an injected connector before or without it.
 */
import type { Connector, FleetConnection } from './types.js';

type ConnectFn = (host: string, options: object) => Promise<FleetConnection>;

let loaded: Promise<ConnectFn> | null = null;

async function load(): Promise<ConnectFn> {
  const specifier = '../index.js';
  const mod = (await import(specifier)) as { connect?: ConnectFn };
  if (typeof mod.connect !== 'function') throw new Error('fleetssh: connect() is not available in this build');
  return mod.connect;
}

export const defaultConnector: Connector = async (host, options) => {
  loaded ??= load();
  const connect = await loaded;
  return connect(host, options);
};
