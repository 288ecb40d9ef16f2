// A ProxyCommand for tests: carries stdin/stdout to host:port (argv[2], argv[3]), as `nc` would.
// With PROXY_PID_FILE set it writes its pid there first, so a test can check it is gone afterwards.
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';

if (process.env.PROXY_PID_FILE) writeFileSync(process.env.PROXY_PID_FILE, String(process.pid));
const socket = connect({ host: process.argv[2], port: Number(process.argv[3]) });
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', (err) => {
  process.stderr.write(`proxy: ${err.message}\n`);
  process.exit(2);
});
socket.on('close', () => process.exit(0));
