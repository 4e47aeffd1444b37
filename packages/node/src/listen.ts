import { createServer, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls';
import {
  type ListenOptions,
  listenWith,
  type OpenContext,
  type OpenedTransport,
  type SecureServer,
  type SecureSocketError,
  type ShutdownableSecureSocket,
  type SocketHandler,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { fromNodeError } from './errors.ts';
import { trustAnchorsOf } from './secure-context.ts';
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
      const handshakes = new ServerHandshakes({
        cert: resolved.cert,
        key: resolved.key,
        ca: trustAnchorsOf(resolved),
        minVersion: resolved.minVersion,
        maxVersion: resolved.maxVersion,
        ALPNProtocols: resolved.alpn,
        requestCert: resolved.requestClientCert,
        rejectUnauthorized: resolved.requestClientCert,
        // Core runs the handshake timeout.
        handshakeTimeout: 0,
      });
      const server: Server = createServer({ allowHalfOpen: true, noDelay: resolved.noDelay }, (raw) => {
        accept({
          open: (context) => {
            if (resolved.keepAlive) raw.setKeepAlive(true, resolved.keepAlive.initialDelayMs);
            return handshakes.run(raw, context);
          },
          refuse: () => {
            // A refused client may already be gone; its error must not be an uncaught one.
            raw.on('error', () => {});
            raw.resetAndDestroy();
          },
        });
      });
      return new Promise((resolve, reject) => {
        server.once('error', (error) => reject(fromNodeError(error, 'server')));
        server.listen(resolved.port, resolved.hostname, () => {
          const address = server.address();
          const port = typeof address === 'object' && address ? address.port : resolved.port;
          resolve({ address: { hostname: resolved.hostname, port }, close: () => stopListening(server) });
        });
      });
    },
    onSocket as SocketHandler | undefined,
  );
}

/**
 * net.Server.close(callback) calls back only once every accepted connection has closed, which would
 * make server.close() wait for sockets that are the application's. The listening descriptor itself
 * is closed synchronously inside close(): new connects are refused from then on. `server.close.prompt`.
 */
async function stopListening(server: Server): Promise<void> {
  if (server.listening) server.close();
}

/**
 * Server handshakes through one tls.Server per listener: only tls.Server verifies a client
 * certificate (a bare server-side TLSSocket never sets `authorized` nor enforces
 * rejectUnauthorized), and it builds its SSL_CTX once. Each accepted connection is matched to the
 * server's events by its remote address and port; the raw socket stays the adapter's, for a real
 * RST. `server.client-certificate`, `server.*`.
 */
class ServerHandshakes {
  readonly #engine: TlsServer;
  readonly #pending = new Map<string, { raw: Socket; context: OpenContext; settle: Settle }>();

  constructor(options: TlsOptions) {
    this.#engine = createTlsServer(options);
    this.#engine.on('secureConnection', (tls: TLSSocket) => {
      const pending = this.#take(tls);
      if (!pending) {
        tls.destroy();
        return;
      }
      const servername = typeof tls.servername === 'string' ? tls.servername : null;
      pending.settle(
        establishNodeTransport(
          { tls, raw: pending.raw, secureEvent: null, servername: () => servername },
          pending.context,
        ),
      );
    });
    this.#engine.on('tlsClientError', (error: Error, tls: TLSSocket) => {
      this.#take(tls)?.settle(Promise.reject(fromNodeError(error, 'handshake')));
    });
  }

  run(raw: Socket, context: OpenContext): Promise<OpenedTransport> {
    const key = keyOf(raw);
    return new Promise<OpenedTransport>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(key);
        reject(context.signal.reason);
        raw.destroy();
      };
      context.signal.addEventListener('abort', onAbort, { once: true });
      // A connection reset during the handshake reaches tlsClientError on a socket that no longer has
      // the address it is matched by: the raw socket's own 'close' ends the attempt instead, at once,
      // not at the handshake timeout. `server.client-reset-during-handshake`.
      const onClose = (): void => {
        if (this.#pending.get(key)?.raw !== raw) return;
        this.#pending.delete(key);
        settle(Promise.reject(connectionLost()));
      };
      const settle: Settle = (outcome) => {
        context.signal.removeEventListener('abort', onAbort);
        raw.off('close', onClose);
        outcome.then(resolve, (error: unknown) => {
          reject(error);
          raw.destroy();
        });
      };
      this.#pending.set(key, { raw, context, settle });
      raw.once('close', onClose);
      this.#engine.emit('connection', raw);
    });
  }

  #take(tls: TLSSocket) {
    const key = keyOf(tls);
    const pending = this.#pending.get(key);
    this.#pending.delete(key);
    return pending;
  }
}

type Settle = (outcome: Promise<OpenedTransport>) => void;

function connectionLost(): SecureSocketError {
  return fromNodeError(
    Object.assign(new Error('The client closed the connection during the handshake'), { code: 'ECONNRESET' }),
    'handshake',
  );
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
