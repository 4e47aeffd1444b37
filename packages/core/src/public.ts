/**
 * What an application imports from an adapter besides connect/listen/capabilities: the contract's
 * types, the error class and the BSD constants. Every adapter re-exports exactly this, so the four
 * packages (and `closenotify`) offer the same surface; engine internals stay in the main entry.
 */
export { SHUT_RD, SHUT_RDWR, SHUT_WR } from './constants.ts';
export { type ErrorCode, type ErrorPhase, isSecureSocketError, SecureSocketError } from './errors.ts';
export type {
  Capabilities,
  CloseInitiator,
  CloseReport,
  ConnectOptions,
  ListenOptions,
  NetAddress,
  PeerCertificateInfo,
  SecureServer,
  SessionInfo,
  ShutdownableSecureSocket,
  ShutdownHow,
  SocketState,
  StartTlsOptions,
  TlsVersion,
} from './types.ts';
