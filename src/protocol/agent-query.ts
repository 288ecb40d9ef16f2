/**
 * The "query" extension of draft-miller-ssh-agent (§4.7.1): which
 * extensions an agent implements. Asked with SSH_AGENTC_EXTENSION "query";
 * answered with SUCCESS followed by one string per extension name (as
 * AsyncSSH reads it), or FAILURE / EXTENSION_FAILURE by agents without it.
 */
import { AgentError, AgentMsg } from './agent-messages.js';
import { Reader, Writer, fromUtf8 } from './wire.js';

/** More names than any agent has; a reply past this is refused before it is decoded further. */
const MAX_EXTENSIONS = 256;
const MAX_NAME = 1024;

export function encodeQueryExtensions(): Uint8Array {
  return new Writer(16).byte(AgentMsg.EXTENSION).string('query').toBytes();
}

/** The extension names; [] when the agent does not implement "query". Throws AgentError on anything else. */
export function decodeQueryExtensionsReply(payload: Uint8Array): string[] {
  const t = payload[0];
  if (t === AgentMsg.FAILURE || t === AgentMsg.EXTENSION_FAILURE) return [];
  if (t !== AgentMsg.SUCCESS) throw new AgentError(`agent answered the query extension with message ${t ?? 'none'}`, 'ERR_SSH_AGENT_PROTOCOL');
  try {
    const r = new Reader(payload, 'query extension reply');
    r.byte();
    const names: string[] = [];
    while (r.remaining > 0) {
      if (names.length >= MAX_EXTENSIONS) throw new RangeError(`more than ${MAX_EXTENSIONS} extension names`);
      names.push(fromUtf8(r.string('extension name', MAX_NAME)));
    }
    return names;
  } catch (err) {
    throw new AgentError(`malformed query extension reply: ${err instanceof Error ? err.message : String(err)}`, 'ERR_SSH_AGENT_PROTOCOL');
  }
}
