// Errors: every error is an SSHError with a stable string `code`. This
// prints the code of each class and triggers the common ones against a
// server on 127.0.0.1:0 (knownHosts: null: host key generated here).
import {
  connect, listen, generatePrivateKey, DisconnectReason, OpenFailure,
  SSHError, DisconnectError, ProtocolError, KeyExchangeFailed, MacError, CompressionError, HostKeyNotVerifiable,
  PermissionDenied, ServiceNotAvailable, ConnectionLost, ProtocolNotSupported, TimeoutError, ChannelOpenError,
  ChannelRequestError, ProcessError, KeyImportError, AgentError, InventoryError, importPrivateKey,
} from '../src/index.js';

const samples: SSHError[] = [
  new DisconnectError(DisconnectReason.BY_APPLICATION, 'bye'),
  new ProtocolError('x'), new KeyExchangeFailed('x'), new MacError(), new CompressionError('x'),
  new HostKeyNotVerifiable('x'), new PermissionDenied(), new ServiceNotAvailable('x'), new ConnectionLost(),
  new ProtocolNotSupported('x'), new TimeoutError('x'), new ChannelOpenError(OpenFailure.CONNECT_FAILED, 'x'),
  new ChannelRequestError('x'), new ProcessError('cmd', 1, null, '', ''), new KeyImportError('x'),
];
for (const e of samples) console.log(`${e.name.padEnd(22)} ${e.code}${e instanceof DisconnectError ? `  (reason ${e.reason})` : ''}`);
console.log('AgentError is SSHError:', AgentError.prototype instanceof SSHError, '| InventoryError is SSHError:', InventoryError.prototype instanceof SSHError);

await using server = await listen({
  host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], passwords: { demo: 'secret' },
  processFactory: (p) => { p.stderr.write('boom\n'); p.exit(2); },
});
const base = { port: server.port, username: 'demo', knownHosts: null, config: null, agentPath: null, clientKeys: null } as const;
const show = (what: string) => (err: unknown): void => console.log(`${what}:`, err instanceof SSHError ? err.code : err);

await connect('127.0.0.1', { ...base, password: 'nope' }).catch(show('bad password'));
await connect('127.0.0.1', { ...base, password: 'secret', knownHosts: () => false }).catch(show('host key refused'));
await connect('127.0.0.1', { ...base, port: 1, password: 'secret' }).catch((e: SSHError) => console.log('nothing listening:', e.code, '-', e.message));
try { importPrivateKey('not a key'); } catch (e) { show('bad key text')(e); }
try { await connect('127.0.0.1', { ...base, port: 70000 }); } catch (e) { console.log('bad option:', (e as Error).name, (e as Error).message); }

await using conn = await connect('127.0.0.1', { ...base, password: 'secret' });
await conn.run('x', { check: true }).catch(show('exit status 2 with check'));
await conn.openConnection('127.0.0.1', 1).catch(show('nothing at 127.0.0.1:1'));
