// ssh-agent: SSHAgentClient (list, add, sign, remove), `agentPath` for
// authentication (default $SSH_AUTH_SOCK), and `agentForwarding` (the server
// side gets proc.agentPath). Starts a private OpenSSH ssh-agent on a temp
// socket and stops it at the end; skips itself if ssh-agent is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, listen, generatePrivateKey, SSHAgentClient } from '../src/index.js';

if (spawnSync('ssh-agent', ['-h']).error) {
  console.log('ssh-agent is not installed (Debian: openssh-client); skipping');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'fleetssh-agent-'));
const sock = join(dir, 'agent.sock');
const agentProc = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(20);

try {
  const key = generatePrivateKey('ssh-ed25519', { comment: 'from-agent' });
  const agent = new SSHAgentClient(sock);
  await agent.addKeys([key], { lifetime: 600 });
  console.log('agent holds:', (await agent.getKeys()).map((k) => k.comment));

  await using server = await listen({
    host: '127.0.0.1',
    port: 0,
    serverHostKeys: [generatePrivateKey('ssh-ed25519')],
    authorizedClientKeys: [key.publicOnly()],
    agentForwarding: true, // accept auth-agent-req@openssh.com
    processFactory: async (p) => {
      // The forwarded agent, seen from the server: list its keys through proc.agentPath.
      const forwarded = p.agentPath ? new SSHAgentClient(p.agentPath) : null;
      const keys = forwarded ? await forwarded.getKeys() : [];
      forwarded?.close();
      p.stdout.write(`forwarded agent at ${p.agentPath ? 'a temp socket' : 'none'} with ${keys.length} key(s)\n`);
      p.exit(0);
    },
  });
  // No clientKeys: the only key is in the agent. knownHosts: null (host key generated above).
  await using conn = await connect('127.0.0.1', {
    port: server.port, username: 'ops', clientKeys: null, agentPath: sock, agentForwarding: true, knownHosts: null, config: null,
  });
  console.log('authenticated with the agent key;', (await conn.run('ssh-add -l')).stdout.toString().trim());
  await agent.removeAll();
  console.log('after removeAll:', (await agent.getKeys()).length);
  agent.close();
} finally {
  agentProc.kill();
  rmSync(dir, { recursive: true, force: true });
}
