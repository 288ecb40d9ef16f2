// The Fleet: run one command on many hosts; fleet.run() is an Observable of
// per-host events, fleet.runAll() collects results. Inventories come from
// strings, HostSpec objects, or files (loadInventory). Self-contained: five
// embedded servers on 127.0.0.1 (one of them refuses the password), plus a
// port with nothing listening. knownHosts: null because the host keys are
// generated here.
import { listen, generatePrivateKey, Fleet, parseInventory, type SSHServer } from '../src/index.js';

const servers: SSHServer[] = [];
for (let i = 0; i < 5; i++) {
  servers.push(await listen({
    host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    passwords: { deploy: i === 3 ? 'other' : 'secret' },
    processFactory: (p) => { p.stdout.write(`host${i}: ${p.command}\n`); p.exit(i === 4 ? 1 : 0); },
  }));
}
// An inventory in hosts-file syntax: [user@]host[:port] per line.
const text = servers.map((s) => `deploy@127.0.0.1:${s.port}`).join('\n') + '\n127.0.0.1:1\n';
const inventory = parseInventory(text, 'hosts.txt');

const fleet = new Fleet(inventory, {
  concurrency: 3,
  retries: 0,
  timeouts: { connect: 5_000, command: 5_000 },
  connect: { username: 'deploy', password: 'secret', knownHosts: null, config: null, agentPath: null, clientKeys: null },
});

// Streaming: one event per step per host.
await new Promise<void>((resolve) =>
  fleet.run('uptime', { lines: true }).subscribe({
    next: (ev) => {
      if (ev.type === 'stdout') console.log(`[${ev.host}] ${ev.data}`);
      if (ev.type === 'exit') console.log(`[${ev.host}] exit ${ev.exitStatus}`);
      if (ev.type === 'error') console.log(`[${ev.host}] error ${ev.kind}: ${ev.message}`);
    },
    complete: resolve,
  }));

// Collected: results grouped by outcome, and a summary.
const { summary, failed, unreachable } = await fleet.runAll('hostname');
console.log('summary:', summary.total, 'hosts,', summary.succeeded, 'ok,', summary.failed, 'failed,', summary.unreachable, 'unreachable', summary.errors);
console.log('failed:', failed.map((r) => `${r.host} (${r.error?.kind ?? `exit ${r.exitStatus}`})`).join(', '));
console.log('unreachable:', unreachable.map((r) => r.host).join(', '));

await Promise.all(servers.map((s) => s.close()));
