import {
  type ListenOptions,
  listenWith,
  type SecureServer,
  type ShutdownableSecureSocket,
} from '@closenotify/core';
import type { TCPSocketListener } from 'bun';
import { capabilities } from './capabilities.ts';
import { DuplexServerConnection } from './duplex-server.ts';
import { assertBunRuntime, fromBunError } from './errors.ts';
import { BunConnection } from './socket.ts';
import { assertLoadable, serverSecureContext, serverTlsOptions } from './tls-options.ts';

/**
 * Listens for TLS connections. Each one is handed over (to `onSocket`, or through
 * `for await (const socket of server)`) once its handshake is done.
 */
export async function listen(
  options: ListenOptions,
  onSocket?: (socket: ShutdownableSecureSocket) => unknown,
): Promise<SecureServer> {
  assertBunRuntime('listen');
  return listenWith(
    options,
    capabilities,
    async (accept, resolved) => {
      let listener: TCPSocketListener<BunConnection> | TCPSocketListener<DuplexServerConnection>;
      const tls = serverTlsOptions(resolved);
      try {
        assertLoadable(tls);
        // Plain TCP: each accepted socket gets its TLS at once, keeping a view of the ciphertext. A server
        // that may negotiate TLS 1.2 runs it over a Duplex, the one way it sees its own hello random
        // (duplex-server.ts); a TLS 1.3-only one upgrades natively (socket.ts).
        listener =
          resolved.minVersion === 'TLSv1.3'
            ? Bun.listen<BunConnection>({
                hostname: resolved.hostname,
                port: resolved.port,
                allowHalfOpen: true,
                socket: BunConnection.listenHandlers(
                  accept,
                  {
                    side: 'server',
                    verify: resolved.requestClientCert,
                    servername: null,
                    verifyAddress: null,
                    noDelay: resolved.noDelay,
                    keepAlive: resolved.keepAlive,
                  },
                  tls,
                ),
              })
            : Bun.listen<DuplexServerConnection>({
                hostname: resolved.hostname,
                port: resolved.port,
                allowHalfOpen: true,
                socket: DuplexServerConnection.listenHandlers(accept, {
                  verify: resolved.requestClientCert,
                  secureContext: serverSecureContext(resolved),
                  alpn: resolved.alpn,
                  noDelay: resolved.noDelay,
                  keepAlive: resolved.keepAlive,
                }),
              });
      } catch (error) {
        // EADDRINUSE, or a certificate or key Bun refuses.
        throw fromBunError(error, 'server');
      }
      return {
        address: { hostname: listener.hostname, port: listener.port },
        // stop() closes the listening socket at once; accepted sockets stay open.
        close: async () => listener.stop(),
      };
    },
    onSocket,
  );
}
