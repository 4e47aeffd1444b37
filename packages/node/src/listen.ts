import { createServer, type Server } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  type ListenOptions,
  listenWith,
  type SecureServer,
  type ShutdownableSecureSocket,
  type SocketHandler,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { fromNodeError } from './errors.ts';
import { secureContextFor } from './secure-context.ts';
import { establishNodeTransport } from './socket.ts';

/**
 * Listens for TLS connections. Each one is handed over (to `onSocket`, or through
 * `for await (const socket of server)`) once its handshake is done.
 */
export function listen(
  options: ListenOptions,
  onSocket?: (socket: ShutdownableSecureSocket) => unknown,
): Promise<SecureServer> {
  return listenWith(
    options,
    capabilities,
    (accept, resolved) => {
      const secureContext = secureContextFor(resolved);
      // A plain TCP server and a server-side TLSSocket per connection, rather than tls.Server: the
      // adapter keeps the raw socket (for RST) and core runs the handshake timeout.
      const server: Server = createServer({ allowHalfOpen: true, noDelay: resolved.noDelay }, (raw) => {
        if (resolved.keepAlive) raw.setKeepAlive(true, resolved.keepAlive.initialDelayMs);
        accept((context) => {
          const tls = new TLSSocket(raw, {
            isServer: true,
            secureContext,
            ALPNProtocols: resolved.alpn,
            requestCert: resolved.requestClientCert,
            rejectUnauthorized: resolved.requestClientCert,
          });
          return establishNodeTransport(
            {
              tls,
              raw,
              secureEvent: 'secure',
              servername: () => (typeof tls.servername === 'string' ? tls.servername : null),
            },
            context,
          );
        });
      });
      return new Promise((resolve, reject) => {
        server.once('error', (error) => reject(fromNodeError(error, 'connect')));
        server.listen(resolved.port, resolved.hostname, () => {
          const address = server.address();
          const port = typeof address === 'object' && address ? address.port : resolved.port;
          resolve({
            address: { hostname: resolved.hostname, port },
            close: () => new Promise<void>((done) => server.close(() => done())),
          });
        });
      });
    },
    onSocket as SocketHandler | undefined,
  );
}
