/**
 * A node:tls socket over a cipher stream as a closenotify Transport: the STARTTLS path of the Deno
 * adapter, in both roles (socket.ts says why STARTTLS cannot stay on Deno.startTls).
 *
 * The same technique as @closenotify/node, which Deno's node compatibility layer reproduces; what
 * differs on Deno 2.9.6:
 * - A paused node:tls socket loses the TCP EOF: core's pause holds the raw socket instead
 *   (cipher-stream.ts), and TLS itself is never paused. `starttls.upgraded.truncation`.
 * - Once it read the peer's close_notify, end() seals our close_notify but the socket is destroyed
 *   before it goes out: shutdownWrite() sends that record itself. `starttls.upgraded.answers-close-notify`,
 *   `server.starttls.upgraded.half-open`.
 * - Errors come from Deno's node layer: a Node `code` where it has one, else Deno's own error
 *   (rustls' text): errors.ts maps both. `starttls.untrusted`, `starttls.wrong-host`.
 */
import type { Socket } from 'node:net';
import { setImmediate } from 'node:timers';
import type { TLSSocket } from 'node:tls';
import type {
  OpenContext,
  OpenedTransport,
  SecureSocketError,
  Transport,
  TransportSink,
} from '@closenotify/core';
import { fromNodeCompatError } from '../errors.ts';
import type { CipherStream } from './cipher-stream.ts';
import { drainSealedRecords, tlsStreamEnded } from './node-internals.ts';
import { nodeTlsSessionOf } from './session.ts';

export interface HandshakeTarget {
  tls: TLSSocket;
  /** The ciphertext stream TLS runs over, fed from the raw socket the adapter owns. */
  cipher: CipherStream;
  /** 'secureConnect' for a client; null for a socket tls.Server already handed over as secure. */
  secureEvent: 'secureConnect' | null;
  servername: string | null;
}

/** The attempt in progress: a failure rejects and destroys both sockets. */
interface Handshake {
  fail(error: SecureSocketError): void;
}

/**
 * Wires a TLS socket to core: resolves with the transport once the handshake is verified, and
 * rejects (after destroying both sockets) on any failure or when core gives up.
 */
export function establishTlsTransport(
  target: HandshakeTarget,
  context: OpenContext,
): Promise<OpenedTransport> {
  const { tls, cipher, secureEvent } = target;
  const { raw } = cipher;
  const { signal } = context;
  return new Promise<OpenedTransport>((resolve, reject) => {
    let settled = false;
    const handshake: Handshake = {
      // Settle before destroying: destroy() can emit 'close' synchronously, which would report a
      // generic reset in place of the real cause.
      fail(error) {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(error);
        destroyBoth(tls, raw);
      },
    };
    const onAbort = (): void => handshake.fail(signal.reason as SecureSocketError);
    signal.addEventListener('abort', onAbort, { once: true });
    const transport = TlsTransport.listen(tls, cipher, context.sink, handshake);
    try {
      cipher.observe(tls);
    } catch (error) {
      handshake.fail(error as SecureSocketError);
      return;
    }
    const secured = (): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      transport.established();
      resolve({ transport, session: nodeTlsSessionOf(tls, raw, target.servername) });
    };
    if (secureEvent) tls.once(secureEvent, secured);
    else secured();
  });
}

function destroyBoth(tls: TLSSocket, raw: Socket): void {
  // Destroying the raw socket closes the cipher stream, and the TLS socket with it.
  tls.destroy();
  raw.destroy();
}

/** One connection's sockets as a Transport; its listeners close over the transport alone. */
class TlsTransport implements Transport {
  readonly #tls: TLSSocket;
  readonly #cipher: CipherStream;
  readonly #raw: Socket;
  readonly #sink: TransportSink;
  /** While the handshake runs, and after it failed: events end the attempt instead of reaching core. */
  #handshake: Handshake | undefined;
  #drained: Promise<void> | undefined;
  /** shutdownWrite() until it settles. */
  #shuttingDown: Promise<void> | undefined;

  private constructor(tls: TLSSocket, cipher: CipherStream, sink: TransportSink, handshake: Handshake) {
    this.#tls = tls;
    this.#cipher = cipher;
    this.#raw = cipher.raw;
    this.#sink = sink;
    this.#handshake = handshake;
  }

  static listen(
    tls: TLSSocket,
    cipher: CipherStream,
    sink: TransportSink,
    handshake: Handshake,
  ): TlsTransport {
    const transport = new TlsTransport(tls, cipher, sink, handshake);
    tls.on('error', (error: Error) => transport.#tlsError(error));
    cipher.raw.on('error', (error: Error) => transport.#rawError(error));
    tls.on('close', () => transport.#closed());
    tls.on('end', () => transport.#ended());
    tls.on('data', (chunk: Uint8Array) => transport.#sink.data(chunk));
    return transport;
  }

  /** The handshake is verified: from here on the sockets' events go to core. */
  established(): void {
    this.#handshake = undefined;
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    const tls = this.#tls;
    // A chunk queued behind a write in progress waits by reference: it gets a copy, so the caller
    // owns its buffer again once write() resolved. `data.reused-buffer`.
    if (!tls.write(tls.writableLength > 0 ? new Uint8Array(chunk) : chunk)) return this.#whenDrained();
    return undefined;
  }

  #whenDrained(): Promise<void> {
    const tls = this.#tls;
    this.#drained ??= new Promise<void>((resolve) => {
      const done = (): void => {
        tls.off('drain', done);
        tls.off('close', done);
        this.#drained = undefined;
        resolve();
      };
      tls.on('drain', done);
      tls.on('close', done);
    });
    return this.#drained;
  }

  shutdownWrite(): Promise<void> {
    const tls = this.#tls;
    const shuttingDown = new Promise<void>((resolve, reject) => {
      // Deferred, as on Node: end() inside a read callback can lose records TLS already buffered.
      setImmediate(() => {
        if (tls.destroyed) {
          reject(
            fromNodeCompatError(new Error('The socket closed before close_notify could be sent'), 'shutdown'),
          );
          return;
        }
        // Once Deno's node:tls has read the peer's close_notify, it destroys the socket on 'finish',
        // before its engine pumps out the close_notify end() sealed: the peer got a bare FIN. The
        // sealed record is taken from the engine first and sent with the FIN here.
        // `starttls.upgraded.answers-close-notify`, `server.starttls.upgraded.half-open`.
        let answering: boolean;
        try {
          answering = tlsStreamEnded(tls);
        } catch (error) {
          reject(error);
          return;
        }
        const finished = (): void => {
          tls.off('close', closedFirst);
          if (answering) this.#sendAnswer().then(resolve, reject);
          else resolve();
        };
        const closedFirst = (): void => {
          tls.off('finish', finished);
          reject(
            fromNodeCompatError(new Error('The socket closed before close_notify was sent'), 'shutdown'),
          );
        };
        // Ahead of Deno's own 'finish' listener, which destroys the socket.
        tls.prependOnceListener('finish', finished);
        tls.once('close', closedFirst);
        tls.end();
      });
    });
    this.#shuttingDown = shuttingDown;
    const settled = (): void => {
      this.#shuttingDown = undefined;
    };
    shuttingDown.then(settled, settled);
    return shuttingDown;
  }

  /** Our close_notify, taken from the engine, and the FIN, sent on the raw socket. */
  async #sendAnswer(): Promise<void> {
    const records = drainSealedRecords(this.#tls);
    try {
      await this.#cipher.finishWith(records);
    } catch (error) {
      throw fromNodeCompatError(error, 'shutdown');
    }
  }

  pause(): void {
    this.#cipher.hold(true);
  }

  resume(): void {
    this.#cipher.hold(false);
  }

  reset(): void {
    const raw = this.#raw;
    // A FIN still queued makes a reset fail and leave the handle open: close like a release there.
    if (raw.writableEnded && raw.writableLength === 0 && !raw.writableFinished) {
      destroyBoth(this.#tls, raw);
      return;
    }
    if (raw.destroyed) this.#tls.destroy();
    else raw.resetAndDestroy();
  }

  release(): void {
    destroyBoth(this.#tls, this.#raw);
  }

  #tlsError(error: Error): void {
    const handshake = this.#handshake;
    if (handshake) handshake.fail(fromNodeCompatError(error, 'handshake'));
    else this.#sink.error(fromNodeCompatError(error, 'read'));
  }

  #rawError(error: Error): void {
    this.#handshake?.fail(fromNodeCompatError(error, 'handshake'));
  }

  #closed(): void {
    if (!this.#handshake) {
      this.#sink.closed();
      return;
    }
    this.#handshake.fail(
      fromNodeCompatError(
        Object.assign(new Error('The connection closed during the handshake'), { code: 'ECONNRESET' }),
        'handshake',
      ),
    );
  }

  #ended(): void {
    if (this.#handshake) return;
    const closeNotify = this.#cipher.closeNotifyReceived();
    const shuttingDown = this.#shuttingDown;
    // Our close_notify leaves a loop turn or more before TLS reports the shutdown done: the shutdown
    // settles first, so core hears both in the order they happened. `peer-close.fin-after-our-shutdown`.
    if (shuttingDown && this.#tls.writableLength === 0 && !this.#raw.writableNeedDrain) {
      const report = (): void => this.#sink.end(closeNotify);
      shuttingDown.then(report, report);
      return;
    }
    this.#sink.end(closeNotify);
  }
}
