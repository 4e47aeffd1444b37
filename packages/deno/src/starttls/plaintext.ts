import type { Socket } from 'node:net';
import {
  netAddressOf,
  type OpenContext,
  type OpenedTransport,
  plaintextSession,
  type TlsHandoff,
  type Transport,
  type TransportSink,
} from '@closenotify/core';
import { fromNodeCompatError } from '../errors.ts';

/** How the adapter runs TLS over the connection a plaintext socket hands over (client or server role). */
export type StartTlsOver = (
  raw: Socket,
  context: OpenContext,
  handoff: TlsHandoff,
) => Promise<OpenedTransport>;

/**
 * A `secureTransport: 'starttls'` connection before startTls(): plain TCP on a node:net socket the
 * adapter owns. Every chunk goes to core at once, so plaintext received before startTls() is core's
 * to judge (the injection rule), and the upgrade runs node:tls over the same socket.
 * `starttls.*`, `server.starttls.*`.
 */
export function openPlaintext(raw: Socket, sink: TransportSink, startTls: StartTlsOver): OpenedTransport {
  const transport = new PlaintextTransport(raw, sink);
  return {
    transport,
    session: plaintextSession(
      netAddressOf(raw.localAddress, raw.localPort),
      netAddressOf(raw.remoteAddress, raw.remotePort),
    ),
    upgrade: (context, handoff) => {
      transport.detach();
      return startTls(raw, context, handoff);
    },
  };
}

class PlaintextTransport implements Transport {
  readonly #raw: Socket;
  readonly #sink: TransportSink;
  #drained: Promise<void> | undefined;
  readonly #onData = (chunk: Uint8Array): void => {
    this.#sink.data(chunk);
  };
  // Plain TCP: the FIN is the clean end (core never asks for a close_notify here).
  readonly #onEnd = (): void => this.#sink.end(null);
  readonly #onError = (error: Error): void => this.#sink.error(fromNodeCompatError(error, 'read'));
  readonly #onClose = (): void => this.#sink.closed();

  constructor(raw: Socket, sink: TransportSink) {
    this.#raw = raw;
    this.#sink = sink;
    raw.on('data', this.#onData);
    raw.on('end', this.#onEnd);
    raw.on('error', this.#onError);
    raw.on('close', this.#onClose);
  }

  /** From here on the raw socket's events belong to TLS; a paused socket is left for TLS to resume. */
  detach(): void {
    const raw = this.#raw;
    raw.off('data', this.#onData);
    raw.off('end', this.#onEnd);
    raw.off('error', this.#onError);
    raw.off('close', this.#onClose);
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    const raw = this.#raw;
    // A chunk queued behind another waits by reference, so it gets a copy.
    if (!raw.write(raw.writableLength > 0 ? new Uint8Array(chunk) : chunk)) return this.#whenDrained();
    return undefined;
  }

  #whenDrained(): Promise<void> {
    const raw = this.#raw;
    this.#drained ??= new Promise<void>((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        this.#drained = undefined;
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
    return this.#drained;
  }

  /** A bare FIN behind every byte written: there is no close_notify before TLS. */
  shutdownWrite(): Promise<void> {
    const raw = this.#raw;
    return new Promise<void>((resolve, reject) => {
      if (raw.destroyed) {
        reject(fromNodeCompatError(new Error('The socket closed before its FIN could be sent'), 'shutdown'));
        return;
      }
      const finished = (): void => {
        raw.off('close', closedFirst);
        resolve();
      };
      const closedFirst = (): void => {
        raw.off('finish', finished);
        reject(fromNodeCompatError(new Error('The socket closed before its FIN was sent'), 'shutdown'));
      };
      raw.once('finish', finished);
      raw.once('close', closedFirst);
      raw.end();
    });
  }

  pause(): void {
    this.#raw.pause();
  }

  resume(): void {
    this.#raw.resume();
  }

  reset(): void {
    const raw = this.#raw;
    // A reset while our FIN is still queued fails and leaves the handle open: close instead.
    if (raw.destroyed || (raw.writableEnded && raw.writableLength === 0 && !raw.writableFinished)) {
      raw.destroy();
      return;
    }
    raw.resetAndDestroy();
  }

  release(): void {
    this.#raw.destroy();
  }
}
