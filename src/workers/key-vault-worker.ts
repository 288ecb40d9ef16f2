/**
 * Worker entry that owns a KeyVault. comlink's role: the vault is a stateful
 * object (a map of decrypted keys) that must stay in this thread, which a
 * stateless piscina task cannot model; comlink exposes it as a remote object
 * over the MessagePort handed in through workerData, so callers await
 * vault.sign(id, ...) as if it were local and private keys never leave here.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { KeyVault } from './key-vault.js';

const port = (workerData as { port: MessagePort }).port;
// Node's MessagePort is an EventTarget with postMessage/start, which is comlink's Endpoint shape.
Comlink.expose(new KeyVault(), port as unknown as Comlink.Endpoint);
