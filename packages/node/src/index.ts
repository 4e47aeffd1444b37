/**
 * @closenotify/node: the ShutdownableSecureSocket over node:tls and node:net. See socket.ts for
 * what Node does differently and how it is papered over.
 */
export {
  type Capabilities,
  type CloseReport,
  type ConnectOptions,
  type ErrorCode,
  isSecureSocketError,
  type ListenOptions,
  type SecureServer,
  SecureSocketError,
  type SessionInfo,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  type ShutdownableSecureSocket,
  type ShutdownHow,
  type SocketState,
} from '@closenotify/core';
export { capabilities } from './capabilities.ts';
export { connect } from './connect.ts';
export { listen } from './listen.ts';
