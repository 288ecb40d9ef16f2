/** Starts a KeyVault in its own thread and returns a comlink proxy to it. */
import { MessageChannel, Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import * as Comlink from 'comlink';
import type { KeyVault } from './key-vault.js';
import { workerFile } from './worker-file.js';

export interface RemoteKeyVault {
  readonly vault: Comlink.Remote<KeyVault>;
  close(): Promise<void>;
}

export function openKeyVault(): RemoteKeyVault {
  const { filename, execArgv } = workerFile('key-vault-worker');
  const { port1, port2 } = new MessageChannel();
  // A .ts entry (running under tsx) is loaded through tsx's API: a Worker's own
  // `--import tsx` hooks are not in place yet when its entry module loads.
  const url = JSON.stringify(pathToFileURL(filename).href);
  const entry = filename.endsWith('.ts') ? `import('tsx/esm/api').then((api) => api.tsImport(${url}, ${url}))` : filename;
  const worker = new Worker(entry, { eval: filename.endsWith('.ts'), execArgv, workerData: { port: port2 }, transferList: [port2] });
  // The vault must not keep the process alive on its own.
  worker.unref();
  const remote = Comlink.wrap<KeyVault>(port1 as unknown as Comlink.Endpoint);
  // Idle, the vault keeps nothing alive; while a call is pending its port is ref'd so the answer arrives.
  port1.unref();
  let pending = 0;
  const track = <T>(p: Promise<T>): Promise<T> => {
    if (pending++ === 0) port1.ref();
    return p.finally(() => {
      if (--pending === 0) port1.unref();
    });
  };
  const vault = new Proxy(remote, {
    get(target, prop) {
      if (typeof prop === 'symbol') return Reflect.get(target, prop);
      const method = Reflect.get(target, prop) as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => track(method(...args));
    },
  });
  return {
    vault,
    async close() {
      remote[Comlink.releaseProxy]();
      port1.close();
      await worker.terminate();
    },
  };
}
