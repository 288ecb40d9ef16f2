// Run one command on a host, with the user's keys and known_hosts.
// Usage: node --import tsx examples/simple-client.ts HOST [COMMAND]
import { connect } from '../src/index.js';

const [host = 'localhost', command = 'uname -a'] = process.argv.slice(2);
await using conn = await connect(host);
const result = await conn.run(command);
process.stdout.write(result.stdout as string);
process.stderr.write(result.stderr as string);
process.exitCode = result.exitStatus ?? 255;
