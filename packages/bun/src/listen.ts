import {
  type ListenOptions,
  listenWith,
  type SecureServer,
  type ShutdownableSecureSocket,
} from '@closenotify/core';
import type { TCPSocketListener } from 'bun';
import { capabilities } from './capabilities.ts';
import { assertBunRuntime, fromBunError } from './errors.ts';
import { BunConnection } from './socket.ts';
import { assertLoadable, serverTlsOptions } from './tls-options.ts';

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
      let listener: TCPSocketListener<BunConnection>;
      const tls = serverTlsOptions(resolved);
      try {
        assertLoadable(tls);
        listener = Bun.listen<BunConnection>({
          hostname: resolved.hostname,
          port: resolved.port,
          allowHalfOpen: true,
          // Plain TCP: each accepted socket is upgraded at once, keeping a view of the ciphertext (socket.ts).
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
