// createSession()/openSession(): the channel-level API; Buffers with
// encoding: null; a pty; backpressure on stdin (write() returning false, 'drain').
// Self-contained (own server on 127.0.0.1:0; knownHosts: null because its host
// key is generated here).
import { createHash } from 'node:crypto';
import { connect, listen, generatePrivateKey } from '../src/index.js';

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [generatePrivateKey('ssh-ed25519')],
  passwords: { demo: 'secret' },
  encoding: null, // server-side streams carry Buffers
  processFactory: (proc) => {
    if (proc.command === 'sha256') {
      const h = createHash('sha256');
      let n = 0;
      proc.stdin.on('data', (d: Buffer) => { h.update(d); n += d.length; });
      proc.stdin.on('end', () => { proc.stdout.write(`${n} ${h.digest('hex')}\n`); proc.exit(0); });
    } else {
      proc.stdout.write(`term=${proc.termType} size=${JSON.stringify(proc.termSize)}\n`);
      proc.exit(0);
    }
  },
});

await using conn = await connect('127.0.0.1', { port: server.port, username: 'demo', password: 'secret', knownHosts: null });

// A pty: termType and termSize reach the server process.
const chan = await conn.createSession('tty', { termType: 'xterm', termSize: [100, 30] });
chan.stdin.end();
for await (const chunk of chan.stdout) process.stdout.write(`pty session: ${chunk}`);
await chan.waitClosed();
console.log('exitStatus', chan.exitStatus);

// openSession: AsyncSSH's (stdin, stdout, stderr) triple plus the channel.
// 8 MiB through stdin, honouring backpressure: when write() returns false the
// channel window is full, so wait for 'drain'.
const { stdin, stdout, channel } = await conn.openSession('sha256', { encoding: null });
const block = Buffer.alloc(64 * 1024, 7);
const expected = createHash('sha256');
let waits = 0;
for (let i = 0; i < 128; i++) {
  expected.update(block);
  if (!stdin.write(block)) {
    waits++;
    await new Promise((resolve) => stdin.once('drain', resolve));
  }
}
stdin.end();
const out: Buffer[] = [];
for await (const c of stdout) out.push(c as Buffer);
await channel.waitClosed();
const [bytes, digest] = Buffer.concat(out).toString().trim().split(' ');
console.log(`sent ${bytes} bytes, waited for drain ${waits} times, digest matches: ${digest === expected.digest('hex')}`);
