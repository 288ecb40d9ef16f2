/**
 * Runs fleetssh's SFTPServer on this process's stdin/stdout, for OpenSSH
 * `sftp -D` and `scp -S`-style tests: `node --import tsx sftp-server-stdio.ts [--root DIR] [--home DIR]`.
 */
import { SFTPServer } from '../../src/actors/sftp-server.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const server = new SFTPServer({ chroot: opt('--root'), home: opt('--home') });
await server.serve({ readable: process.stdin, writable: process.stdout });
process.exit(0);
