/**
 * Payloads of the OpenSSH streamlocal extensions (OpenSSH PROTOCOL §2.4,
 * §2.5):
 *
 *   direct-streamlocal@openssh.com     string path, string reserved, uint32 reserved
 *   forwarded-streamlocal@openssh.com  string path, string reserved
 *   streamlocal-forward@openssh.com    string path   (cancel-streamlocal-forward@openssh.com too)
 */
import { Reader, Writer } from './wire.js';

export const DIRECT_STREAMLOCAL = 'direct-streamlocal@openssh.com';
export const FORWARDED_STREAMLOCAL = 'forwarded-streamlocal@openssh.com';
export const STREAMLOCAL_FORWARD = 'streamlocal-forward@openssh.com';
export const CANCEL_STREAMLOCAL_FORWARD = 'cancel-streamlocal-forward@openssh.com';

/** The longest socket path we accept from a peer (sun_path is 108 bytes on Linux). */
const MAX_PATH = 4096;

export function encodeDirectStreamlocal(path: string): Uint8Array {
  return new Writer(64).string(path).string('').uint32(0).toBytes();
}

export function decodeDirectStreamlocal(data: Uint8Array): string {
  const r = new Reader(data, DIRECT_STREAMLOCAL);
  const path = r.utf8('socket path', MAX_PATH);
  r.string('reserved', 1024);
  r.uint32('reserved');
  r.end();
  return path;
}

export function encodeForwardedStreamlocal(path: string): Uint8Array {
  return new Writer(64).string(path).string('').toBytes();
}

export function decodeForwardedStreamlocal(data: Uint8Array): string {
  const r = new Reader(data, FORWARDED_STREAMLOCAL);
  const path = r.utf8('socket path', MAX_PATH);
  // OpenSSH's client tolerates a missing reserved field; so do we.
  if (r.remaining > 0) r.string('reserved', 1024);
  r.end();
  return path;
}

export function encodeStreamlocalForward(path: string): Uint8Array {
  return new Writer(64).string(path).toBytes();
}

export function decodeStreamlocalForward(data: Uint8Array): string {
  const r = new Reader(data, STREAMLOCAL_FORWARD);
  const path = r.utf8('socket path', MAX_PATH);
  r.end();
  return path;
}
