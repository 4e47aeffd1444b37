/**
 * `closenotify` where none of the `bun`, `deno` or `node` export conditions matched (a browser, an
 * edge worker, ...). It exports the same names as the adapters, so code that imports closenotify
 * still loads there and fails where it can be handled: connect() and listen() reject with
 * ERR_RUNTIME_UNSUPPORTED.
 */

import type {
  Capabilities,
  ConnectOptions,
  ListenOptions,
  SecureServer,
  ShutdownableSecureSocket,
} from '@closenotify/core';
import { runtimeUnsupported } from './runtime-unsupported.ts';

export * from '@closenotify/core/public';

/** Nothing works here: every flag is false. */
export const capabilities: Capabilities = Object.freeze({
  halfClose: false,
  shutdownRead: false,
  truncationDetection: false,
  abortiveReset: false,
  sessionInfo: Object.freeze({
    protocol: false,
    cipher: false,
    alpnProtocol: false,
    servername: false,
    peerCertificate: false,
    authorized: false,
    localAddress: false,
    remoteAddress: false,
  }),
  keepAlive: false,
  keepAliveInitialDelay: false,
  serverNoDelay: false,
  serverKeepAlive: false,
  clientCertificateSocketOptions: false,
  idleTimeout: false,
  startTls: false,
  server: false,
  clientCertificates: false,
  disableVerification: false,
  versionBounds: false,
  requestClientCertificates: false,
  dropDuringHandshake: false,
  exclusiveCa: false,
  tls12ServerCloseNotify: false,
});

export async function connect(_options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  throw runtimeUnsupported();
}

export async function listen(
  _options: ListenOptions,
  _onSocket?: (socket: ShutdownableSecureSocket) => void,
): Promise<SecureServer> {
  throw runtimeUnsupported();
}
