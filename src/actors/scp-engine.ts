/**
 * The three roles of an SCP transfer, as OpenSSH's scp.c plays them, over
 * an ScpReader/Writable pair and the SFTP server's file layer
 * (`SFTPFileSystem` + `PathMapper`, so a chroot confines SCP exactly as it
 * confines SFTP):
 *  - source (`scp -f`): waits for the sink's first 0, then sends T/C/D/E
 *    lines and file data, each answered by one ack byte;
 *  - sink (`scp -t`): checks every line (names, nesting, only what was asked
 *    for) before it creates anything;
 *  - relay: a third-party copy, source lines checked as a sink would and
 *    passed on to a remote sink, data streamed through.
 * Per-file problems travel as a warning (byte 1 + message) and the transfer
 * goes on; protocol errors end it with a fatal message (byte 2).
 */
import type { Writable } from 'node:stream';
import { posix } from 'node:path';
import { isDirAttrs, isRegularAttrs, type SFTPAttrs } from '../protocol/sftp-attrs.js';
import { FxfFlag } from '../protocol/sftp-constants.js';
import { decodeScpCommand, encodeScpCommand, ScpSinkState, SCP_FATAL, SCP_WARNING, type ScpCommand } from '../protocol/scp-codec.js';
import { ProtocolError } from '../protocol/errors.js';
import { ScpError } from './scp-errors.js';
import { ScpReader, writeAll } from './scp-stream.js';
import { LocalFileSystem, PathMapper, type SFTPFileSystem, type SFTPOpenFile } from './sftp-server-fs.js';

/** The file layer an SCP end works on: paths are as its user sees them, mapped (and confined) by `paths`. */
export interface ScpFiles {
  fs: SFTPFileSystem;
  paths: PathMapper;
}

export function localScpFiles(): ScpFiles {
  return { fs: new LocalFileSystem(), paths: new PathMapper({}) };
}

export interface ScpRunOptions {
  recurse: boolean;
  preserve: boolean;
  blockSize: number;
  /** A per-file problem (sent or received as a warning); the transfer continues. */
  warn: (err: ScpError) => void;
  progress?: (srcPath: string, dstPath: string, bytesDone: number, totalBytes: number) => void;
}

export interface ScpPeer {
  reader: ScpReader;
  writer: Writable;
}

const NUL = new Uint8Array(1);

function messageOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'No such file or directory';
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return 'Permission denied';
  if (err?.code === 'ENOTDIR') return 'Not a directory';
  if (err?.code === 'EISDIR') return 'Is a directory';
  return err instanceof Error ? err.message : String(e);
}

type Ack = { ok: true } | { ok: false; fatal: boolean; message: string };

/** Reads one reply byte (and its message). End of stream is fatal. */
export async function readAck(r: ScpReader): Promise<Ack> {
  const b = await r.readByte();
  if (b === null) return { ok: false, fatal: true, message: 'scp: connection closed while waiting for a reply' };
  if (b === 0) return { ok: true };
  const message = (await r.readLineRest()).trim();
  return { ok: false, fatal: b !== SCP_WARNING, message: b === SCP_WARNING || b === SCP_FATAL ? message : String.fromCharCode(b) + message };
}

async function expectAck(peer: ScpPeer, o: ScpRunOptions): Promise<boolean> {
  const a = await readAck(peer.reader);
  if (a.ok) return true;
  if (a.fatal) throw new ScpError(a.message || 'scp: fatal error from the peer');
  o.warn(new ScpError(a.message, false));
  return false;
}

function sendStatus(w: Writable, level: number, message: string): Promise<void> {
  return writeAll(w, String.fromCharCode(level) + message.replace(/\n/g, ' ') + '\n');
}

/** Reports a problem to the peer as a warning and locally through `warn`. */
async function warnPeer(peer: ScpPeer, o: ScpRunOptions, message: string): Promise<void> {
  o.warn(new ScpError(message, false));
  await sendStatus(peer.writer, SCP_WARNING, message);
}

// ---- source ----

/** Plays `scp -f`: sends `paths` (as the file layer names them). */
export async function runSource(peer: ScpPeer, files: ScpFiles, paths: readonly string[], o: ScpRunOptions): Promise<void> {
  if (!(await expectAck(peer, o))) throw new ScpError('scp: the sink refused the transfer');
  for (const p of paths) {
    const name = posix.basename(p.replace(/\/+$/, '')) || p;
    let attrs: SFTPAttrs;
    try {
      attrs = await files.fs.stat(await files.paths.local(p, true));
    } catch (e) {
      await warnPeer(peer, o, `scp: ${p}: ${messageOf(e)}`);
      continue;
    }
    await sendEntry(peer, files, p, name, attrs, o);
  }
}

async function sendEntry(peer: ScpPeer, files: ScpFiles, path: string, name: string, attrs: SFTPAttrs, o: ScpRunOptions): Promise<void> {
  if (isDirAttrs(attrs)) {
    if (!o.recurse) return warnPeer(peer, o, `scp: ${path}: not a regular file`);
    return sendDir(peer, files, path, name, attrs, o);
  }
  if (!isRegularAttrs(attrs)) return warnPeer(peer, o, `scp: ${path}: not a regular file`);
  return sendFile(peer, files, path, name, attrs, o);
}

async function sendTimes(peer: ScpPeer, attrs: SFTPAttrs, o: ScpRunOptions): Promise<boolean> {
  if (!o.preserve) return true;
  await writeAll(peer.writer, encodeScpCommand({ kind: 'times', mtime: attrs.mtime ?? 0, atime: attrs.atime ?? 0 }));
  return expectAck(peer, o);
}

async function sendDir(peer: ScpPeer, files: ScpFiles, path: string, name: string, attrs: SFTPAttrs, o: ScpRunOptions): Promise<void> {
  let entries: string[];
  try {
    entries = (await files.fs.listdir(await files.paths.local(path, true))).map((n) => n.filename).filter((n) => n !== '.' && n !== '..').sort();
  } catch (e) {
    return warnPeer(peer, o, `scp: ${path}: ${messageOf(e)}`);
  }
  if (!(await sendTimes(peer, attrs, o))) return;
  await writeAll(peer.writer, encodeScpCommand({ kind: 'dir', mode: attrs.permissions ?? 0o755, name }));
  if (!(await expectAck(peer, o))) return;
  for (const entry of entries) {
    const child = posix.join(path, entry);
    let a: SFTPAttrs;
    try {
      a = await files.fs.stat(await files.paths.local(child, true));
    } catch (e) {
      await warnPeer(peer, o, `scp: ${child}: ${messageOf(e)}`);
      continue;
    }
    await sendEntry(peer, files, child, entry, a, o);
  }
  await writeAll(peer.writer, encodeScpCommand({ kind: 'end' }));
  await expectAck(peer, o);
}

async function sendFile(peer: ScpPeer, files: ScpFiles, path: string, name: string, attrs: SFTPAttrs, o: ScpRunOptions): Promise<void> {
  const fs = files.fs;
  let file: SFTPOpenFile;
  try {
    file = await fs.open(await files.paths.local(path, true), FxfFlag.READ, {});
  } catch (e) {
    return warnPeer(peer, o, `scp: ${path}: ${messageOf(e)}`);
  }
  try {
    if (!(await sendTimes(peer, attrs, o))) return;
    const size = attrs.size ?? 0;
    await writeAll(peer.writer, encodeScpCommand({ kind: 'file', mode: attrs.permissions ?? 0o644, size, name }));
    if (!(await expectAck(peer, o))) return;
    let readError: string | null = null;
    const readBlock = (at: number): Promise<Uint8Array> => {
      const len = Math.min(o.blockSize, size - at);
      if (len <= 0 || readError !== null) return Promise.resolve(new Uint8Array(0));
      return fs.read(file, at, len).catch((e: unknown) => {
        readError = messageOf(e);
        return new Uint8Array(0);
      });
    };
    let at = 0;
    let next = readBlock(0);
    while (at < size) {
      let data = await next;
      const want = Math.min(o.blockSize, size - at);
      if (data.length < want) {
        // The file shrank or failed: keep the stream in step with zeros, as scp.c does, and report it after.
        readError ??= 'file changed size while being sent';
        const padded = new Uint8Array(want);
        padded.set(data);
        data = padded;
      }
      at += data.length;
      next = readBlock(at);
      await writeAll(peer.writer, data);
      o.progress?.(path, name, at, size);
    }
    if (size === 0) o.progress?.(path, name, 0, 0);
    if (readError === null) await writeAll(peer.writer, NUL);
    else await warnPeer(peer, o, `scp: ${path}: ${readError}`);
    await expectAck(peer, o);
  } finally {
    await fs.close(file).catch(() => undefined);
  }
}

// ---- sink ----

export interface SinkOptions extends ScpRunOptions {
  /** Top-level names the peer may send (patterns); null = anything safe (a server's `scp -t`). */
  requested: readonly string[] | null;
  /** The target must be an existing directory (`scp -t -d`, or several sources). */
  targetIsDir?: boolean;
}

async function readCommand(peer: ScpPeer, first: number): Promise<ScpCommand> {
  if (first === 10) throw new ProtocolError('scp: unexpected <newline>');
  const rest = await peer.reader.readLineRest();
  return decodeScpCommand(String.fromCharCode(first) + rest);
}

/** Plays `scp -t`: receives into `target` (a directory, or the name of the one file/directory to create). */
export async function runSink(peer: ScpPeer, files: ScpFiles, target: string, o: SinkOptions): Promise<void> {
  const { fs, paths } = files;
  const fatal = async (message: string, cause?: unknown): Promise<never> => {
    await sendStatus(peer.writer, SCP_FATAL, message).catch(() => undefined);
    throw new ScpError(message, true, { cause });
  };
  const targetAttrs = await fs.stat(await paths.local(target, true)).catch(() => null);
  const targetIsDir = targetAttrs !== null && isDirAttrs(targetAttrs);
  if (o.targetIsDir && !targetIsDir) await fatal(`scp: ${target}: Not a directory`);
  const state = new ScpSinkState(o.requested);
  const stack: Array<{ path: string; mode: number; times?: { mtime: number; atime: number } }> = [];
  const destFor = (name: string): string => (stack.length ? posix.join(stack.at(-1)!.path, name) : targetIsDir ? posix.join(target, name) : target);
  await writeAll(peer.writer, NUL);
  for (;;) {
    const first = await peer.reader.readByte();
    if (first === null) {
      if (state.done) return;
      await fatal('scp: connection closed inside a directory');
    }
    if (first === SCP_WARNING || first === SCP_FATAL) {
      const message = (await peer.reader.readLineRest()).trim();
      if (first === SCP_FATAL) throw new ScpError(message || 'scp: fatal error from the peer');
      o.warn(new ScpError(message, false));
      continue;
    }
    let cmd: ReturnType<ScpSinkState['accept']>;
    try {
      cmd = state.accept(await readCommand(peer, first!));
    } catch (e) {
      if (e instanceof ProtocolError) return fatal(e.message, e);
      throw e;
    }
    if (cmd.kind === 'times') {
      await writeAll(peer.writer, NUL);
    } else if (cmd.kind === 'end') {
      const dir = stack.pop()!;
      if (o.preserve) {
        const local = await paths.local(dir.path, true);
        await fs.setstat(local, { permissions: dir.mode, ...(dir.times ?? {}) }).catch((e: unknown) => o.warn(new ScpError(`scp: ${dir.path}: ${messageOf(e)}`, false)));
      }
      await writeAll(peer.writer, NUL);
    } else if (cmd.kind === 'dir') {
      if (!o.recurse) await fatal('scp: received directory without -r');
      const path = destFor(cmd.name);
      try {
        const local = await paths.local(path, true);
        const existing = await fs.stat(local).catch(() => null);
        if (existing && !isDirAttrs(existing)) throw Object.assign(new Error('Not a directory'), { code: 'ENOTDIR' });
        if (!existing) await fs.mkdir(local, { permissions: cmd.mode | 0o700 });
      } catch (e) {
        // The source skips this directory's contents when it gets a warning.
        await warnPeer(peer, o, `scp: ${path}: ${messageOf(e)}`);
        state.accept({ kind: 'end' });
        continue;
      }
      stack.push({ path, mode: cmd.mode, times: cmd.times });
      await writeAll(peer.writer, NUL);
    } else {
      await receiveFile(peer, files, destFor(cmd.name), cmd, o);
    }
  }
}

async function receiveFile(peer: ScpPeer, files: ScpFiles, path: string, cmd: Extract<ScpCommand, { kind: 'file' }> & { times?: { mtime: number; atime: number } }, o: SinkOptions): Promise<void> {
  const fs = files.fs;
  let file: SFTPOpenFile;
  try {
    file = await fs.open(await files.paths.local(path, true), FxfFlag.WRITE | FxfFlag.CREAT | FxfFlag.TRUNC, { permissions: cmd.mode });
  } catch (e) {
    return warnPeer(peer, o, `scp: ${path}: ${messageOf(e)}`);
  }
  let writeError: string | null = null;
  try {
    await writeAll(peer.writer, NUL);
    // Coalesce channel-sized chunks into blocks; one block is written while the next fills.
    let pending: Buffer[] = [];
    let pendingLen = 0;
    let offset = 0;
    let done = 0;
    let inflight: Promise<void> = Promise.resolve();
    const flush = async (): Promise<void> => {
      if (pendingLen === 0) return;
      const block = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
      const at = offset;
      offset += pendingLen;
      pending = [];
      pendingLen = 0;
      await inflight;
      inflight = writeError !== null ? Promise.resolve() : fs.write(file, at, block).catch((e: unknown) => {
        writeError ??= messageOf(e);
      });
    };
    await peer.reader.readExact(cmd.size, async (chunk) => {
      pending.push(chunk);
      pendingLen += chunk.length;
      done += chunk.length;
      if (pendingLen >= o.blockSize) await flush();
      o.progress?.(cmd.name, path, done, cmd.size);
    });
    await flush();
    await inflight;
    if (cmd.size === 0) o.progress?.(cmd.name, path, 0, 0);
    const trailer = await readAck(peer.reader);
    if (!trailer.ok) {
      if (trailer.fatal) throw new ScpError(trailer.message);
      o.warn(new ScpError(trailer.message, false));
    }
    if (o.preserve && writeError === null) {
      await fs.fsetstat(file, { permissions: cmd.mode, ...(cmd.times ?? {}) }).catch((e: unknown) => {
        writeError = messageOf(e);
      });
    }
  } finally {
    await fs.close(file).catch((e: unknown) => {
      writeError ??= messageOf(e);
    });
  }
  if (writeError !== null) await warnPeer(peer, o, `scp: ${path}: ${writeError}`);
  else await writeAll(peer.writer, NUL);
}

// ---- relay (third-party copy) ----

/** Streams a remote source into a remote sink, checking the source's lines as a sink would. */
/**
 * Relays a remote source to a remote sink. A top-level directory the source
 * names '.' (it was asked for `dir/.`) goes to the sink as `topName`, since
 * a sink refuses '.'.
 */
export async function runRelay(source: ScpPeer, sink: ScpPeer, requested: readonly string[] | null, o: ScpRunOptions, topName = '.'): Promise<void> {
  const passAck = async (from: ScpPeer, to: ScpPeer): Promise<boolean> => {
    const a = await readAck(from.reader);
    if (a.ok) {
      await writeAll(to.writer, NUL);
      return true;
    }
    await sendStatus(to.writer, a.fatal ? SCP_FATAL : SCP_WARNING, a.message).catch(() => undefined);
    if (a.fatal) throw new ScpError(a.message);
    o.warn(new ScpError(a.message, false));
    return false;
  };
  if (!(await passAck(sink, source))) throw new ScpError('scp: the destination refused the transfer');
  const state = new ScpSinkState(requested);
  for (;;) {
    const first = await source.reader.readByte();
    if (first === null) {
      if (state.done) return;
      throw new ScpError('scp: the source closed inside a directory');
    }
    if (first === SCP_WARNING || first === SCP_FATAL) {
      const message = (await source.reader.readLineRest()).trim();
      if (first === SCP_FATAL) throw new ScpError(message);
      o.warn(new ScpError(message, false));
      continue;
    }
    let cmd: ReturnType<ScpSinkState['accept']>;
    try {
      cmd = state.accept(await readCommand(source, first));
      if (cmd.kind === 'dir' && !o.recurse) throw new ProtocolError('scp: received directory without -r');
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      await sendStatus(source.writer, SCP_FATAL, e.message).catch(() => undefined);
      await sendStatus(sink.writer, SCP_FATAL, e.message).catch(() => undefined);
      throw new ScpError(e.message, true, { cause: e });
    }
    const { times: _t, ...plain } = cmd as ScpCommand & { times?: unknown };
    if (plain.kind === 'dir' && plain.name === '.') plain.name = topName;
    await writeAll(sink.writer, encodeScpCommand(plain as ScpCommand));
    const accepted = await passAck(sink, source);
    if (!accepted && cmd.kind === 'dir') state.accept({ kind: 'end' });
    else if (accepted && cmd.kind === 'file') {
      let done = 0;
      await source.reader.readExact(cmd.size, async (chunk) => {
        await writeAll(sink.writer, chunk);
        done += chunk.length;
        o.progress?.(cmd.name, cmd.name, done, cmd.size);
      });
      await passAck(source, sink);
      await passAck(sink, source);
    }
  }
}
