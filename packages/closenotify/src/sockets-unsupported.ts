/**
 * `closenotify/sockets` where none of the `bun`, `deno` or `node` export conditions matched: the same
 * names, and a connect() that throws ERR_RUNTIME_UNSUPPORTED (it returns a Socket synchronously, so
 * throwing is its one way to refuse).
 */
import type { SocketsApiConnect } from '@closenotify/core/public';
import { runtimeUnsupported } from './runtime-unsupported.ts';

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
} from '@closenotify/core/public';

export const connect: SocketsApiConnect = () => {
  throw runtimeUnsupported();
};
