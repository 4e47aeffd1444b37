import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setImmediate } from 'node:timers';
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls';
import type {
  AcceptConnection,
  Listener,
  OpenContext,
  OpenedTransport,
  ResolvedListenOptions,
  SecureSocketError,
} from '@closenotify/core';
import { fromNodeCompatError } from '../errors.ts';
import { CipherStream } from './cipher-stream.ts';
import { duplexUnder } from './node-internals.ts';
import { openPlaintext } from './plaintext.ts';
import { establishTlsTransport } from './tls-transport.ts';

/**
 * A `secureTransport: 'starttls'` listener: node:net hands out plain TCP connections, and startTls()
 * runs the server handshake through one node:tls Server per listener, with the listener's
 * certificate, key and ALPN. Deno's native API cannot do this (Deno.startTls is client-only), and a
 * bare server-side TLSSocket would not verify a client certificate: tls.Server's 'connection' does.
 * `server.starttls.*`.
 */
export function startPlaintextListener(
  accept: AcceptConnection,
  options: ResolvedListenOptions,
): Promise<Listener> {
  const handshakes = new ServerHandshakes({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    ALPNProtocols: options.alpn,
    requestCert: options.requestClientCert,
    rejectUnauthorized: options.requestClientCert,
    // Core runs the handshake timeout.
    handshakeTimeout: 0,
  });
  const server: Server = createServer({ allowHalfOpen: true, noDelay: options.noDelay }, (raw) => {
    accept({
      open: (context) => {
        if (options.keepAlive) raw.setKeepAlive(true);
        return Promise.resolve(
          openPlaintext(raw, context.sink, (socket, upgrade, handoff) =>
            handshakes.run(socket, upgrade, handoff.received),
          ),
        );
      },
      refuse: () => {
        // A refused client may already be gone; its error must not be an uncaught one.
        raw.on('error', () => {});
        raw.resetAndDestroy();
      },
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(fromNodeCompatError(error, 'server')));
    server.listen(options.port, options.hostname, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        address: { hostname: options.hostname, port },
        // close(callback) would wait for every accepted connection: the listening socket closes at once.
        close: async () => {
          if (server.listening) server.close();
        },
      });
    });
  });
}

/**
 * Server handshakes through the listener's tls.Server: each upgraded connection reaches it as a
 * cipher stream, and its events are matched back to their connection through that stream.
 */
class ServerHandshakes {
  readonly #engine: TlsServer;
  readonly #pending = new Map<Duplex, { context: OpenContext; settle: Settle }>();

  constructor(options: TlsOptions) {
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
      // tlsSocket.servername is Node's documented SNI; Deno's bundled Node types (which `deno publish`
      // checks against) do not declare it.
      const sni = (tls as unknown as { servername?: unknown }).servername;
      const servername = typeof sni === 'string' && sni ? sni : null;
      pending.settle(establishTlsTransport({ tls, cipher, secureEvent: null, servername }, pending.context));
    });
    this.#engine.on('tlsClientError', (error: Error, tls: TLSSocket) => {
      let cipher: Duplex | null;
      try {
        cipher = duplexUnder(tls);
      } catch (internalsError) {
        this.#failAll(internalsError as SecureSocketError);
        return;
      }
      if (cipher) this.#take(cipher)?.settle(Promise.reject(fromNodeCompatError(error, 'handshake')));
    });
  }

  /** `received`: the start of the client's handshake, read in plaintext before startTls(); TLS reads it first. */
  run(raw: Socket, context: OpenContext, received: Uint8Array | undefined): Promise<OpenedTransport> {
    const cipher = new CipherStream(raw);
    if (received) cipher.push(received);
    return new Promise<OpenedTransport>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(cipher);
        reject(context.signal.reason);
        raw.destroy();
      };
      context.signal.addEventListener('abort', onAbort, { once: true });
      // A connection that closes during the handshake may never reach tlsClientError.
      const onClose = (): void => {
        if (!this.#pending.delete(cipher)) return;
        settle(Promise.reject(connectionLost()));
      };
      // A client that half-closes before its handshake is done leaves tls.Server waiting: once TLS
      // read every byte before the FIN and the loop turned, the attempt is over.
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

  /** Deno no longer exposes what matches a handshake to its connection: no handshake can complete. */
  #failAll(error: SecureSocketError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const attempt of pending) attempt.settle(Promise.reject(error));
  }
}

type Settle = (outcome: Promise<OpenedTransport>) => void;

function connectionLost(): SecureSocketError {
  return fromNodeCompatError(
    Object.assign(new Error('The client closed the connection during the handshake'), { code: 'ECONNRESET' }),
    'handshake',
  );
}
