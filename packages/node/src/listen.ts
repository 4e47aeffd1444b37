import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls';
import {
  clientCertificateRefusal,
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
import { CipherStream } from './cipher-stream.ts';
import { fromNodeError } from './errors.ts';
import { duplexUnder } from './node-internals.ts';
import { openPlaintext } from './plaintext.ts';
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
        // node:tls with rejectUnauthorized drops a refused client without a word to the server (no
        // tlsClientError): the handshake runs to its end and ServerHandshakes refuses it, knowing why.
        rejectUnauthorized: false,
        // Core runs the handshake timeout.
        handshakeTimeout: 0,
      });
      const server: Server = createServer({ allowHalfOpen: true, noDelay: resolved.noDelay }, (raw) => {
        accept({
          open: (context) => {
            if (resolved.keepAlive) raw.setKeepAlive(true, resolved.keepAlive.initialDelayMs);
            if (resolved.secureTransport === 'starttls') {
              return Promise.resolve(
                openPlaintext(raw, context.sink, (socket, upgradeContext, handoff) =>
                  handshakes.run(socket, upgradeContext, handoff.received),
                ),
              );
            }
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
 * rejectUnauthorized), and it builds its SSL_CTX once. Each accepted connection reaches it as a
 * cipher stream (a Duplex, which tls.Server documents as a valid 'connection'), so the adapter
 * keeps the raw socket, for a real RST, and sees the ciphertext, for exact truncation verdicts.
 * The server's events are matched to their connection through that stream. `server.client-certificate`,
 * `server.truncation.*`, `server.*`.
 */
class ServerHandshakes {
  readonly #engine: TlsServer;
  readonly #pending = new Map<Duplex, { context: OpenContext; settle: Settle }>();

  constructor(options: TlsOptions) {
    const verifiesClients = options.requestCert === true;
    this.#engine = createTlsServer(options);
    this.#engine.on('secureConnection', (tls: TLSSocket) => {
      let cipher: Duplex | null;
      try {
        cipher = duplexUnder(tls);
      } catch (error) {
        this.#failAll(error as SecureSocketError);
        tls.destroy();
        return;
      }
      const pending = cipher && this.#take(cipher);
      if (!(cipher instanceof CipherStream) || !pending) {
        tls.destroy();
        return;
      }
      if (verifiesClients && !tls.authorized) {
        pending.settle(Promise.reject(refusalOf(tls)));
        tls.destroy();
        return;
      }
      const servername = typeof tls.servername === 'string' ? tls.servername : null;
      pending.settle(
        establishNodeTransport(
          { tls, cipher, secureEvent: null, servername: () => servername },
          pending.context,
        ),
      );
    });
    this.#engine.on('tlsClientError', (error: Error, tls: TLSSocket) => {
      let cipher: Duplex | null;
      try {
        cipher = duplexUnder(tls);
      } catch (internalsError) {
        this.#failAll(internalsError as SecureSocketError);
        return;
      }
      if (cipher) this.#take(cipher)?.settle(Promise.reject(fromNodeError(error, 'handshake')));
    });
  }

  /**
   * `received`: the start of the client's handshake, read in plaintext before a STARTTLS server's
   * startTls(); TLS reads it before anything still to come from the raw socket.
   */
  run(raw: Socket, context: OpenContext, received?: Uint8Array): Promise<OpenedTransport> {
    const cipher = new CipherStream(raw);
    if (received) cipher.push(Buffer.from(received.buffer, received.byteOffset, received.byteLength));
    return new Promise<OpenedTransport>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(cipher);
        reject(context.signal.reason);
        raw.destroy();
      };
      context.signal.addEventListener('abort', onAbort, { once: true });
      // A connection that closes during the handshake (a client reset) may never reach
      // tlsClientError: the raw socket's own 'close' ends the attempt at once, not at the handshake
      // timeout. `server.client-reset-during-handshake`.
      const onClose = (): void => {
        if (!this.#pending.delete(cipher)) return;
        settle(Promise.reject(connectionLost()));
      };
      // A client that half-closes before its handshake is done (a TCP probe that connects and closes)
      // leaves the raw socket open (allowHalfOpen), and Node's TLS server just waits: once TLS has read
      // every byte before the FIN and the loop turned (a Finished in those bytes completes the
      // handshake first), the attempt is over. `server.client-fin-during-handshake`.
      const onEnd = (): void => {
        setImmediate(onClose);
      };
      const settle: Settle = (outcome) => {
        context.signal.removeEventListener('abort', onAbort);
        raw.off('close', onClose);
        cipher.off('end', onEnd);
        outcome.then(resolve, (error: unknown) => {
          reject(error);
          raw.destroy();
        });
      };
      this.#pending.set(cipher, { context, settle });
      raw.once('close', onClose);
      cipher.once('end', onEnd);
      this.#engine.emit('connection', cipher);
      cipher.sampleAfterTls();
    });
  }

  #take(cipher: Duplex) {
    const pending = this.#pending.get(cipher);
    this.#pending.delete(cipher);
    return pending;
  }

  /** Node no longer exposes what matches a handshake to its connection: no handshake can complete. */
  #failAll(error: SecureSocketError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const attempt of pending) attempt.settle(Promise.reject(error));
  }
}

type Settle = (outcome: Promise<OpenedTransport>) => void;

/**
 * Why a client certificate was refused, with the code a client refused in its handshake gets elsewhere
 * (`server.client-certificate.codes`, `server.starttls.client-certificate.codes`).
 */
function refusalOf(tls: TLSSocket): SecureSocketError {
  const presented = Object.keys(tls.getPeerCertificate()).length > 0;
  return clientCertificateRefusal(tls.authorizationError, presented);
}

function connectionLost(): SecureSocketError {
  return fromNodeError(
    Object.assign(new Error('The client closed the connection during the handshake'), { code: 'ECONNRESET' }),
    'handshake',
  );
}
