/**
 * @closenotify/deno: the ShutdownableSecureSocket over Deno.connect + Deno.startTls, Deno.connectTls
 * and Deno.listenTls. See socket.ts for what Deno does differently and how it is papered over.
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
