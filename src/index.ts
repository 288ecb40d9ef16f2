/**
 * fleetssh: an SSHv2 client and server for Node.js. The public API.
 */
export { connect, SSHClientConnection } from './actors/client.js';
export type { ConnectOptions, ProcessOptions, RunOptions } from './actors/client.js';
export type { AlgorithmOption, KbdintPromptInfo } from './actors/client-options.js';
export { SSHClientChannel } from './actors/client-session.js';
export type { SessionOptions } from './actors/client-session.js';
export type { SSHClientSession } from './actors/client-session-factory.js';
export { SSHClientProcess } from './actors/client-process.js';
export { PIPE, DEVNULL, STDOUT } from './actors/process-redirect.js';
export type { RedirectSource, RedirectTarget, RedirectOptions, ProcessLike } from './actors/process-redirect.js';
export { EXTRA_INFO_NAMES } from './actors/extra-info.js';
export type { CompletedProcess, WaitOptions } from './actors/client-process.js';
export type { ExitSignal, TermSize } from './actors/session-wire.js';

export { listen, SSHServer, SSHServerConnection } from './actors/server.js';
export type { ListenOptions, ServerHandler } from './actors/server.js';
export type { ServerAuthHandler, KbdintChallenge, PresentedClientKey } from './actors/server-auth.js';
export { SSHServerProcess } from './actors/server-process.js';
export type { KeyHandler, LineEditorOptions } from './actors/line-editor.js';

export { fingerprintSha256, parseKnownHosts } from './actors/host-key-check.js';
export { matchKnownHosts } from './actors/known-hosts-match.js';
export type { KnownHostsKeys, TrustedHostKeys } from './actors/known-hosts-match.js';
export type { KnownHostsCallback, KnownHostsOption, PresentedHostKey } from './actors/host-key-check.js';
export { readPrivateKey, readPrivateKeyList, readPublicKey, readPublicKeyList, parseAuthorizedKeys, writePrivateKey, writePublicKey } from './actors/key-files.js';
export { SSHKey, generatePrivateKey, importPrivateKey, importPrivateKeys, importPublicKey, importPublicKeys } from './crypto/keys/ssh-key.js';
export type { PrivateKeyFormat, PublicKeyFormat } from './crypto/keys/ssh-key.js';
export { readAuthorizedKeys } from './actors/server-auth.js';
export { importAuthorizedKeys } from './protocol/authorized-keys.js';
export type { AuthorizedKeys, AuthorizedKeyEntry, AuthorizedKeyOptions, KeyPermission } from './protocol/authorized-keys.js';
export { SSHAgentClient, SSHAgentKey, AgentError, agentFromEnv } from './actors/agent-client.js';
export type { AddIdentityConstraints } from './protocol/agent-messages.js';
export type { PasswordChange } from './actors/client-options.js';
export { importPrivateKeyAsync, importPrivateKeysAsync } from './workers/key-import.js';

export {
  SSHError,
  DisconnectError,
  ProtocolError,
  KeyExchangeFailed,
  MacError,
  CompressionError,
  HostKeyNotVerifiable,
  PermissionDenied,
  ServiceNotAvailable,
  ConnectionLost,
  ProtocolNotSupported,
  TimeoutError,
  IncompleteReadError,
  ChannelOpenError,
  ChannelRequestError,
  ChannelListenError,
  ProcessError,
  KeyImportError,
} from './protocol/errors.js';
export { DisconnectReason, OpenFailure, ExtendedData } from './protocol/messages.js';

export {
  KEX_ALGORITHMS,
  DEFAULT_KEX,
  CIPHER_ALGORITHMS,
  DEFAULT_CIPHERS,
  MAC_ALGORITHMS,
  DEFAULT_MACS,
  COMPRESSION_ALGORITHMS,
  DEFAULT_COMPRESSION,
  SIGNATURE_ALGORITHMS,
  DEFAULT_SIGNATURES,
  KEY_TYPES,
  resolveAlgorithmList,
} from './protocol/algorithms.js';
export type { KexName, CipherName, MacName, CompressionName, SignatureName, KeyType } from './protocol/algorithms.js';

// The fleet layer (RxJS): run commands on many hosts at once.
export { Fleet, summarize, loadInventory, parseInventory, expandHostPattern, InventoryError } from './orchestrator/index.js';
export type { FleetOptions, RunOptions as FleetRunOptions, FleetRunResult, FleetSummary, PutOptions as FleetPutOptions, GetOptions as FleetGetOptions } from './orchestrator/index.js';

// ---- forwarding and tunnels ----
export { SSHForwardChannel } from './actors/forward-channel.js';
export type { ForwardChannelInfo } from './actors/forward-channel.js';
export type { SSHListener } from './actors/forward-pipe.js';
export { RemoteListener } from './actors/forward-client.js';
export type { ForwardedConnectionHandler } from './actors/forward-client.js';
export type { ServerForwardHandler, ServerForwardOptions, ConnectionDecision, ListenDecision } from './actors/forward-server.js';
export { parseJumpHosts, tunnelPoolSize } from './actors/tunnel.js';
export type { TunnelConnection, JumpHop } from './actors/tunnel.js';
export { connectReverse, listenReverse, SSHReverseListener } from './actors/reverse.js';
export type { ListenReverseOptions } from './actors/reverse.js';

// SFTP and SCP.
export { SFTPClient, SFTPFile } from './actors/sftp-client.js';
export type { SFTPAttrs, SFTPVFSAttrs, SFTPName } from './actors/sftp-client.js';
export { SFTPError, SFTPNoSuchFile, SFTPPermissionDenied, SFTPFailure, SFTPOpUnsupported, SFTPConnectionLost } from './actors/sftp-errors.js';
export { SFTPServer } from './actors/sftp-server.js';
export type { SFTPServerOptions } from './actors/sftp-server.js';
export { startSftpClient, withSftp } from './actors/sftp-connect.js';
export type { SFTPFactory } from './actors/sftp-connect.js';
export { scp } from './actors/scp-client.js';
export type { ScpOptions, ScpPath } from './actors/scp-client.js';
export { withScp } from './actors/scp-server.js';
export type { ScpFactory } from './actors/scp-server.js';
export { ScpError } from './actors/scp-errors.js';

// OpenSSH certificates and host-key policies.
export { SSHCertificate, CertifiedKey, createCertificate, importCertificate, importCertificateList, readCertificate, readCertificateList } from './crypto/keys/certificate.js';
export type { CreateCertificateOptions } from './crypto/keys/certificate.js';
export { CertificateError } from './protocol/certificate.js';
export { createHostKeyVerifier, readKnownHosts } from './actors/known-hosts-policy.js';
export type { SSHServerSession, SSHServerSessionChannel, SessionFactory } from './actors/server-session-factory.js';
