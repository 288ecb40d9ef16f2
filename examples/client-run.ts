// connect(), run(), createProcess(), readline(), check/ProcessError, timeout, `await using`.
// Self-contained: starts its own server on 127.0.0.1 (port 0) and exits.
// knownHosts: null is used because the server's host key is generated a line
// above; see known-hosts.ts for real checking.
import { connect, listen, generatePrivateKey, ProcessError, TimeoutError } from '../src/index.js';

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  passwords: { demo: 'secret' },
  processFactory: (proc) => {
    if (proc.command === 'upper') {
      // Echo stdin upper-cased, then exit 0 at EOF.
      proc.stdin.on('data', (d: string) => proc.stdout.write(d.toUpperCase()));
      proc.stdin.on('end', () => proc.exit(0));
    } else if (proc.command === 'fail') {
      proc.stderr.write('it failed\n');
      proc.exit(3);
    } else if (proc.command === 'sleep') {
      // never exits: the client's timeout closes the channel
    } else {
      proc.stdout.write(`one\ntwo\nGREETING=${proc.env.GREETING ?? ''}\n`);
      proc.exit(0);
    }
  },
});

await using conn = await connect('127.0.0.1', { port: server.port, username: 'demo', password: 'secret', knownHosts: null });
console.log('server version:', conn.serverVersion, 'cipher:', conn.algorithms?.kex, conn.algorithms?.cipherCS);

const r = await conn.run('greet', { env: { GREETING: 'hi' } });
console.log('run:', JSON.stringify(r.stdout), 'exitStatus', r.exitStatus);

const up = await conn.run('upper', { input: 'hello\n' });
console.log('input:', JSON.stringify(up.stdout));

try {
  await conn.run('fail', { check: true });
} catch (err) {
  if (err instanceof ProcessError) console.log('check:', err.code, 'exitStatus', err.exitStatus, 'stderr', JSON.stringify(err.stderr));
}

try {
  await conn.run('sleep', { timeout: 200 });
} catch (err) {
  if (err instanceof TimeoutError) console.log('timeout:', err.code);
}

const proc = await conn.createProcess('greet');
proc.stdin.end();
for (let line = await proc.readline(); line !== null; line = await proc.readline()) console.log('readline:', line);
console.log('wait:', (await proc.wait()).exitStatus);
