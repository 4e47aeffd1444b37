import {
  type AcceptConnection,
  type ListenOptions,
  listenWith,
  type ResolvedListenOptions,
  type SecureServer,
  type ShutdownableSecureSocket,
} from '@closenotify/core';
import type { Socket, TCPSocketListener } from 'bun';
import { capabilities } from './capabilities.ts';
import { DuplexServerConnection, type DuplexServerSettings } from './duplex-server.ts';
import { assertBunRuntime, fromBunError } from './errors.ts';
import { BunPlaintext } from './plaintext.ts';
import { BunConnection } from './socket.ts';
import { assertLoadable, serverSecureContext, serverTlsOptions } from './tls-options.ts';

/**
 * Listens for TLS connections. Each one is handed over (to `onSocket`, or through
 * `for await (const socket of server)`) once its handshake is done; with `secureTransport: 'starttls'`,
 * at once, as a plaintext socket whose startTls() runs the server handshake over the same connection.
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
      let listener: TCPSocketListener<unknown>;
      const tls = serverTlsOptions(resolved);
      try {
        assertLoadable(tls);
        const duplexSettings: DuplexServerSettings = {
          verify: resolved.requestClientCert,
          secureContext: serverSecureContext(resolved),
          alpn: resolved.alpn,
          noDelay: resolved.noDelay,
          keepAlive: resolved.keepAlive,
        };
        // Plain TCP: each accepted socket gets its TLS at once, keeping a view of the ciphertext. A server
        // that may negotiate TLS 1.2 runs it over a Duplex, the one way it sees its own hello random
        // (duplex-server.ts); a TLS 1.3-only one upgrades natively (socket.ts). A STARTTLS server always
        // upgrades over the Duplex, the one path that can be handed an early ClientHello (plaintext.ts).
        const socket =
          resolved.secureTransport === 'starttls'
            ? plaintextHandlers(accept, resolved, duplexSettings)
            : resolved.minVersion === 'TLSv1.3'
              ? BunConnection.listenHandlers(
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
                )
              : DuplexServerConnection.listenHandlers(accept, duplexSettings);
        listener = Bun.listen<unknown>({
          hostname: resolved.hostname,
          port: resolved.port,
          allowHalfOpen: true,
          socket: socket as Parameters<typeof Bun.listen<unknown>>[0]['socket'],
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

/** Each accepted socket is a plaintext connection; its upgrade runs the listener's handshake over the Duplex. */
function plaintextHandlers(
  accept: AcceptConnection,
  resolved: ResolvedListenOptions,
  settings: DuplexServerSettings,
) {
  return BunPlaintext.listenHandlers(DuplexServerConnection.rawEvents, (raw) => {
    accept({
      open: async (context) =>
        BunPlaintext.accepted(raw, context, resolved, (socket, upgradeContext, handoff) =>
          DuplexServerConnection.upgrade(
            socket as Socket<DuplexServerConnection>,
            upgradeContext,
            settings,
            handoff.received,
          ),
        ),
      // SO_LINGER 0 from inside `open`: a RST before any byte.
      refuse: () => raw.terminate(),
    });
  });
}
