/**
 * What an application imports from an adapter besides connect/listen/capabilities: the contract's
 * types (every option type included), the error class, the BSD constants, and the WinterTC Sockets API
 * facade to bind to the adapter. Every adapter re-exports exactly this, so the four packages (and
 * `closenotify`) offer the same surface; engine internals stay in the main entry.
 */
export { SHUT_RD, SHUT_RDWR, SHUT_WR } from './constants.ts';
export { type ErrorCode, type ErrorPhase, isSecureSocketError, SecureSocketError } from './errors.ts';
export {
  type AnySocketAddress,
  type SecureTransportKind,
  Socket,
  type SocketAddress,
  type SocketInfo,
  type SocketsApiAdapter,
  type SocketsApiConnect,
  type SocketsApiOptions,
  type SocketsApiStartTlsOptions,
  socketsApi,
} from './sockets-api.ts';
export type {
  Capabilities,
  CipherInfo,
  CloseInitiator,
  CloseReport,
  ConnectOptions,
  ListenOptions,
  NetAddress,
  PeerCertificateInfo,
  SecureServer,
  SessionInfo,
  SessionInfoCapabilities,
  ShutdownableSecureSocket,
  ShutdownHow,
  SocketOptions,
  SocketState,
  StartTlsOptions,
  TlsVersion,
  TruncationPolicy,
} from './types.ts';
