// An SSH server on 127.0.0.1:8022 that accepts password "secret" for any
// user and answers every command with a greeting.
// Try it: ssh -p 8022 -o StrictHostKeyChecking=no user@127.0.0.1 hello
import { listen, generatePrivateKey } from '../src/index.js';

const server = await listen({
  host: '127.0.0.1',
  port: 8022,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  handler: {
    beginAuth: () => true,
    validatePassword: (_user: string, password: string) => password === 'secret',
  },
  processFactory: (proc) => {
    proc.stdout.write(`Welcome ${proc.username}, you ran: ${proc.command ?? '(a shell)'}\n`);
    proc.exit(0);
  },
});
console.log(`listening on 127.0.0.1:${server.port}; Ctrl-C to stop`);
process.once('SIGINT', () => void server.close());
