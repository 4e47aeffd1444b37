/** `closenotify/sockets` under the `deno` export condition: the WinterTC Sockets API over the adapter over Deno's TLS APIs. */
import {
  capabilities,
  connect as connectAdapter,
  type SocketsApiConnect,
  socketsApi,
} from '@closenotify/deno';

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
} from '@closenotify/deno';

/** The draft's `connect(address, options)`: returns a `Socket` at once; `opened` says when it is ready. */
export const connect: SocketsApiConnect = socketsApi({ connect: connectAdapter, capabilities });
