/**
 * A `secureTransport: 'starttls'` connection before startTls(), in both roles: plain TCP on the Bun
 * socket the adapter owns, reported to core as such. The upgrade then runs TLS over that same socket
 * exactly as a direct connection does, so every verdict holds after it: a client upgrades natively
 * (upgradeTLS, whose raw half keeps showing the peer's ciphertext: socket.ts), a server through node:tls
 * over a Duplex (duplex-server.ts). `starttls.*`, `server.starttls.*`.
 *
 * What Bun 1.4.5 does differently on a plain socket, and how it is papered over:
 * - `write()` does not buffer: it returns how many bytes the kernel took and the rest waits for
 *   `drain`, as on a TLS socket; the one remainder is kept here and the write settles once it is out.
 *   `starttls.plaintext-data`, `server.starttls.plaintext-data`.
 * - `shutdown()` sends the bare FIN at once (there is no close_notify before TLS). A TLS socket skips
 *   `end` for a peer FIN that follows ours and calls only `close(undefined)`; a plain one is treated the
 *   same way (such a close is the peer's end), not measured to differ. `starttls.plaintext-shutdown`,
 *   `starttls.plaintext-close`, `server.starttls.plaintext-close`.
 * - `terminate()` is the RST of abort(), as on a TLS socket. `starttls.plaintext-abort`.
 * - A socket's handlers are fixed when it is created and upgradeTLS keeps them on the raw half: they
 *   route by `socket.data`, which is this object until the upgrade and the TLS connection after it, so
 *   no event reaches the plaintext socket once startTls() took the connection. `starttls.detached`,
 *   `server.starttls.detached`.
 * - Bytes read before the upgrade cannot be handed back to a native upgradeTLS: the early ClientHello
 *   core hands a server (`TlsHandoff.received`) is fed to the Duplex server before anything still to
 *   come, which is why a STARTTLS server upgrades there whatever its versions.
 *   `server.starttls.early-client-hello`.
 */
import {
  netAddressOf,
  type OpenContext,
  type OpenedTransport,
  plaintextSession,
  type ResolvedSocketOptions,
  SecureSocketError,
  type TlsHandoff,
  type Transport,
  type TransportSink,
} from '@closenotify/core';
import type { Socket, SocketHandler } from 'bun';
import { fromBunError } from './errors.ts';
import { PartialWrite } from './partial-write.ts';

/** How the adapter runs TLS over a socket a plaintext connection hands over. */
export type StartTlsOver = (
  raw: Socket<unknown>,
  context: OpenContext,
  handoff: TlsHandoff,
) => Promise<OpenedTransport>;

/** The raw socket events of whatever owns the socket after the upgrade (its `data`). */
export type RawEvents = Pick<SocketHandler<never>, 'data' | 'drain' | 'end' | 'close'>;

interface Attempt {
  context: OpenContext;
  resolve(opened: OpenedTransport): void;
  reject(error: SecureSocketError): void;
  giveUp(): void;
}

type Phase = 'connecting' | 'open' | 'detached' | 'done';

/** The TCP settings of the plaintext phase; the upgrade applies the same ones again. */
export type PlainSocketSettings = Pick<ResolvedSocketOptions, 'noDelay' | 'keepAlive'>;

export class BunPlaintext implements Transport {
  /**
   * The handlers of a STARTTLS socket, for its whole life: this object's while it owns the socket,
   * `after`'s once the upgrade made the TLS connection its `data`.
   */
  static #handlers(after: RawEvents): Omit<SocketHandler<unknown>, 'open'> {
    const route =
      <A extends unknown[]>(own: (plaintext: BunPlaintext, ...args: A) => void, next: unknown) =>
      (socket: Socket<unknown>, ...args: A): void => {
        const owner = socket.data;
        if (owner instanceof BunPlaintext) own(owner, ...args);
        else if (owner && typeof next === 'function') next(socket, ...args);
      };
    return {
      data: route((plaintext, chunk: Uint8Array) => plaintext.#received(chunk), after.data),
      drain: route((plaintext) => plaintext.#drained(), after.drain),
      end: route((plaintext) => plaintext.#peerEnded(), after.end),
      error: route((plaintext, error: Error) => plaintext.#failed(error), undefined),
      close: route((plaintext, error?: Error) => plaintext.#closed(error), after.close),
    };
  }

  /** For Bun.connect(), whose `data` option is the plaintext connection. */
  static connectHandlers(after: RawEvents): SocketHandler<unknown> {
    return {
      ...BunPlaintext.#handlers(after),
      open(socket) {
        if (socket.data instanceof BunPlaintext) socket.data.#tcpConnected(socket);
      },
    };
  }

  /**
   * For Bun.listen(): `onOpen` runs core's accept() for each accepted socket, which hands it a
   * plaintext connection (or refuses it) before any other event of that socket.
   */
  static listenHandlers(after: RawEvents, onOpen: (socket: Socket<unknown>) => void): SocketHandler<unknown> {
    return { ...BunPlaintext.#handlers(after), open: onOpen };
  }

  /** An accepted socket, open at once. */
  static accepted(
    raw: Socket<unknown>,
    context: OpenContext,
    settings: PlainSocketSettings,
    startTls: StartTlsOver,
  ): OpenedTransport {
    const plaintext = new BunPlaintext(context, settings, startTls);
    plaintext.#adopt(raw);
    return plaintext.#openedTransport();
  }

  /** Settles once TCP is connected (a client), with the plaintext transport. */
  readonly opened: Promise<OpenedTransport>;
  #attempt: Attempt | undefined;
  readonly #sink: TransportSink;
  readonly #settings: PlainSocketSettings;
  readonly #startTls: StartTlsOver;
  #phase: Phase = 'connecting';
  #socket: Socket<unknown> | undefined;
  #socketClosed = false;
  #peerEndReported = false;
  readonly #writes = new PartialWrite();

  constructor(context: OpenContext, settings: PlainSocketSettings, startTls: StartTlsOver) {
    this.#sink = context.sink;
    this.#settings = settings;
    this.#startTls = startTls;
    this.opened = new Promise<OpenedTransport>((resolve, reject) => {
      const giveUp = (): void => this.#abandon(fromBunError(context.signal.reason, 'connect'));
      this.#attempt = { context, resolve, reject, giveUp };
      context.signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** Bun.connect() threw (options Bun refuses) or rejected (refused, unreachable). */
  failToConnect(error: unknown): void {
    this.#abandon(fromBunError(error, 'connect'));
  }

  // ---- Transport -----------------------------------------------------------------------------

  write(chunk: Uint8Array): Promise<void> | undefined {
    return this.#writes.write(this.#socket!, chunk);
  }

  /** A bare FIN: core asks for it only once every write was taken, and there is no close_notify before TLS. */
  shutdownWrite(): undefined {
    this.#socket!.shutdown();
    return undefined;
  }

  pause(): void {
    this.#socket!.pause();
  }

  resume(): void {
    this.#socket!.resume();
  }

  reset(): void {
    if (this.#phase === 'done' || this.#phase === 'detached') return;
    this.#phase = 'done';
    this.#settle(() => new SecureSocketError('ERR_ABORTED', 'The socket was aborted', { phase: 'write' }));
    if (!this.#socketClosed) this.#socket?.terminate();
  }

  release(): void {
    if (this.#phase === 'done' || this.#phase === 'detached') return;
    // A remainder still waiting means the peer stopped reading: close() would wait for it to read.
    const stuck = this.#writes.waiting;
    this.#phase = 'done';
    this.#settle(() => socketClosed('close'));
    if (this.#socketClosed || !this.#socket) return;
    if (stuck) this.#socket.terminate();
    else this.#socket.close();
  }

  // ---- the upgrade ---------------------------------------------------------------------------

  #openedTransport(): OpenedTransport {
    const socket = this.#socket!;
    return {
      transport: this,
      session: plaintextSession(
        netAddressOf(socket.localAddress, socket.localPort),
        netAddressOf(socket.remoteAddress, socket.remotePort),
      ),
      upgrade: (context, handoff) => {
        // Core calls this once every write was taken: nothing of this object is left to settle.
        this.#phase = 'detached';
        if (this.#socketClosed) {
          return Promise.reject(
            new SecureSocketError('ERR_SOCKET_CLOSED', 'The connection closed before the TLS handshake', {
              phase: 'handshake',
            }),
          );
        }
        return this.#startTls(socket, context, handoff);
      },
    };
  }

  // ---- Bun's events --------------------------------------------------------------------------

  #tcpConnected(socket: Socket<unknown>): void {
    if (this.#phase === 'done') {
      // Core gave up while TCP was still connecting.
      socket.terminate();
      return;
    }
    this.#adopt(socket);
    const attempt = this.#endAttempt();
    attempt?.context.connected();
    attempt?.resolve(this.#openedTransport());
  }

  #adopt(socket: Socket<unknown>): void {
    this.#socket = socket;
    socket.data = this;
    this.#phase = 'open';
    socket.setNoDelay(this.#settings.noDelay);
    const { keepAlive } = this.#settings;
    // Core rounds the delay to whole seconds; Bun reads 0 as "keep the system default".
    if (keepAlive) socket.setKeepAlive(true, keepAlive.initialDelayMs ?? 0);
  }

  #received(chunk: Uint8Array): void {
    if (this.#phase === 'open') this.#sink.data(chunk);
  }

  #drained(): void {
    if (this.#phase === 'open') this.#writes.drained(this.#socket!);
  }

  /** Plain TCP: the peer's FIN is the clean end of the stream (core never expects a close_notify here). */
  #peerEnded(): void {
    if (this.#phase !== 'open' || this.#peerEndReported) return;
    this.#peerEndReported = true;
    this.#sink.end(null);
  }

  #failed(error: Error): void {
    if (this.#phase === 'open') this.#fail(fromBunError(error, 'read'));
  }

  #closed(error: Error | undefined): void {
    this.#socketClosed = true;
    if (this.#phase !== 'open') return;
    if (error) this.#fail(fromBunError(error, 'read'));
    // A FIN after our own can close the socket without calling `end`: it is the peer's end all the same.
    else this.#peerEnded();
    if (this.#phase !== 'open') return;
    this.#phase = 'done';
    this.#settle(() => socketClosed('write'));
    this.#sink.closed();
  }

  // ---- helpers -------------------------------------------------------------------------------

  #fail(error: SecureSocketError): void {
    this.#settle(() => error);
    this.#sink.error(error);
  }

  /** Ends a connect that never became a transport, freeing whatever socket it had. */
  #abandon(error: SecureSocketError): void {
    if (this.#phase !== 'connecting') return;
    this.#phase = 'done';
    this.#endAttempt()?.reject(error);
  }

  #endAttempt(): Attempt | undefined {
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.context.signal.removeEventListener('abort', attempt.giveUp);
    return attempt;
  }

  #settle(reason: () => SecureSocketError): void {
    if (this.#writes.waiting) this.#writes.reject(reason());
  }
}

function socketClosed(phase: 'write' | 'close'): SecureSocketError {
  return new SecureSocketError('ERR_SOCKET_CLOSED', 'The socket closed before the bytes were sent', {
    phase,
  });
}
