/**
 * @closenotify/bun: the ShutdownableSecureSocket over Bun's native sockets (Bun.connect and
 * Bun.listen with `tls`). See socket.ts for what Bun does differently and how it is papered over.
 * Importing works in any runtime; connect() and listen() reject with ERR_RUNTIME_UNSUPPORTED outside Bun.
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
