/** `closenotify/sockets` under the `bun` export condition: the WinterTC Sockets API over the adapter over Bun's native sockets. */
import {
  capabilities,
  connect as connectAdapter,
  type SocketsApiConnect,
  socketsApi,
} from '@closenotify/bun';

export {
  type AnySocketAddress,
  type CloseReport,
  isSecureSocketError,
  SecureSocketError,
  type SecureTransportKind,
  Socket,
  type SocketAddress,
  type SocketInfo,
  type SocketsApiOptions,
  type SocketsApiStartTlsOptions,
} from '@closenotify/bun';

/** The draft's `connect(address, options)`: returns a `Socket` at once; `opened` says when it is ready. */
export const connect: SocketsApiConnect = socketsApi({ connect: connectAdapter, capabilities });
