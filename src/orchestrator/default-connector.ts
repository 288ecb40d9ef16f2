/** The real client as the fleet's default connector. */
import { connect } from '../actors/client.js';
import type { ConnectOptions } from '../actors/client-options.js';
import type { Connector, FleetConnection } from './types.js';

export const defaultConnector: Connector = async (host, options) => {
  const conn = await connect(host, options as ConnectOptions);
  return conn as unknown as FleetConnection;
};
