/** `closenotify/sockets` under the `node` export condition: the WinterTC Sockets API over the node:tls adapter. */
import {
  capabilities,
  connect as connectAdapter,
  type SocketsApiConnect,
  socketsApi,
} from '@closenotify/node';

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
} from '@closenotify/node';

/** The draft's `connect(address, options)`: returns a `Socket` at once; `opened` says when it is ready. */
export const connect: SocketsApiConnect = socketsApi({ connect: connectAdapter, capabilities });
