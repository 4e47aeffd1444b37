/**
 * An accepted connection that may negotiate TLS 1.2, as a closenotify Transport: node:tls over a JS
 * Duplex the transport feeds from the plain TCP socket Bun.listen accepted.
 *
 * Why not upgradeTLS as in socket.ts: a TLS 1.2 server there never sees its own hello random, so it
 * cannot open the client's last alert. Over a Duplex, Bun's TLS engine (BoringSSL, in the same native
 * code) writes every byte it sends through this transport, the ServerHello included, and the `keylog`
 * event gives the master secret: the verdict is exact in both versions (`server.truncation.*`).
 *
 * What Bun 1.4.5's engine over a Duplex does differently, and how it is papered over (the conformance
 * case ids prove each; test/truncation.test.ts pins the first):
 * - It answers the client's close_notify at once with its own close_notify and FIN and then drops
 *   every write without an error, and an EOF handed to it makes a later end() send the FIN alone. So
 *   it never sees either: a record that may be the client's close_notify (a TLS 1.2 alert; a TLS 1.3
 *   record of close_notify's size) is opened here first; an authenticated close_notify is kept back
 *   and reported as the end of the stream, anything else goes on to the engine. The TCP FIN is judged
 *   here too. Reading and writing stay independent, as on every other path: `server.peer-close.half-open`,
 *   `server.truncation.close-notify-then-late-fin`, `server.truncation.warning-alert-then-fin`.
 * - It takes each write whole and hands the ciphertext on at once, whatever the Duplex buffers (64 MiB
 *   written to a client that read nothing all sat in the Duplex): backpressure is the raw socket's. A
 *   write settles once the engine took it and no ciphertext waits for the raw socket, so at most one
 *   write's ciphertext is held. `server.data.reused-buffer`, `server.close.bounded.peer-not-reading`.
 * - A TLS error after the handshake (garbage, a fatal alert) is only an internal `_tlsError` event on
 *   a TLSSocket that tls.Server did not hand over; the transport releases control at once (below), so
 *   it is an 'error'. `server.bad-peer.garbage-after-handshake`.
 * - During the handshake the engine gets whole records one at a time: a client's Finished, its first
 *   data and even its close_notify often share one chunk, and what follows the Finished is judged like
 *   any later bytes. `server.peer-close.half-open`.
 * - The plaintext of a record comes out synchronously while the record is handed in, so everything
 *   the client sent before its close_notify or its FIN has reached core when the end is reported.
 * - With the client's FIN in, Bun closes the raw socket as soon as ours is out: core hears of that
 *   close after it took the settlement of shutdownWrite(). test/server.test.ts `server.peer-close.*`.
 * - The raw socket is Bun's: `terminate()` is the RST of reset() (`server.abort.rst-on-wire`), and a
 *   refused connection is terminated before any TLS byte (`server.pending-cap`).
 * - STARTTLS: every server upgrade runs here, a TLS 1.3-only listener's too, because a native
 *   upgradeTLS cannot be handed bytes already read: a client's ClientHello that arrived before the
 *   server's startTls() is fed in as if it came from the raw socket, then everything after it.
 *   `server.starttls.early-client-hello`, `server.starttls.upgraded.*`.
 */
import { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type {
  AcceptConnection,
  OpenContext,
  OpenedTransport,
  ResolvedSocketOptions,
  Transport,
  TransportSink,
} from '@closenotify/core';
import { SecureSocketError } from '@closenotify/core';
import type { Socket, SocketHandler } from 'bun';
import { closedDuringHandshake, fromBunError } from './errors.ts';
import { duplexSessionOf } from './session.ts';
import { PeerRecords } from './truncation/peer-records.ts';
import { aeadSuiteOf } from './truncation/record-crypto.ts';
import { closeNotifyVerdict, KeyLog } from './truncation/verdict.ts';

export interface DuplexServerSettings {
  /** A client certificate is required. */
  verify: boolean;
  secureContext: SecureContext;
  alpn: string[] | undefined;
  noDelay: boolean;
  keepAlive: ResolvedSocketOptions['keepAlive'];
}

type Phase = 'handshaking' | 'open' | 'done';

interface Settlement {
  resolve(): void;
  reject(error: SecureSocketError): void;
}

interface Attempt {
  resolve(opened: OpenedTransport): void;
  reject(error: SecureSocketError): void;
  signal: AbortSignal;
  giveUp(): void;
}

const ALERT = 21;
const APPLICATION_DATA = 23;
const HEADER = 5;
/** A TLS 1.3 close_notify record's body: alert (2) + inner type (1) + AEAD tag (16). */
const TLS13_ALERT_BODY = 19;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A server-side TLSSocket reports a TLS error after the handshake (a record that does not decrypt, a
 * fatal alert) only as the internal `_tlsError` event until `_releaseControl()` ran, which tls.Server
 * does when it hands a socket over: without it `bad-peer` garbage on an accepted socket went unheard
 * and looked like a truncation. Released at once, every error is an 'error' event.
 */
function releaseControl(tls: TLSSocket): void {
  const internals = tls as unknown as { _releaseControl?: () => boolean };
  if (typeof internals._releaseControl !== 'function') {
    throw new SecureSocketError(
      'ERR_RUNTIME_UNSUPPORTED',
      'This Bun version changed the node:tls internal @closenotify/bun relies on (TLSSocket _releaseControl); upgrade @closenotify/bun',
      { phase: 'handshake' },
    );
  }
  internals._releaseControl();
}

function socketClosedError(phase: 'write' | 'close'): SecureSocketError {
  return new SecureSocketError('ERR_SOCKET_CLOSED', 'The socket closed before the bytes were sent', {
    phase,
  });
}

export class DuplexServerConnection implements Transport {
  /**
   * For Bun.listen(): each accepted socket gets its connection from core's accept(), which calls the
   * open function at once. `data` is unset on a socket the server refused: its events are nobody's.
   */
  static listenHandlers(
    accept: AcceptConnection,
    settings: DuplexServerSettings,
  ): SocketHandler<DuplexServerConnection> {
    return {
      open(raw) {
        accept({
          open: (context) => {
            const connection = DuplexServerConnection.#start(raw, context, settings);
            return connection instanceof Promise ? connection : connection.opened;
          },
          // SO_LINGER 0 from inside `open`: a RST before any TLS byte.
          refuse: () => raw.terminate(),
        });
      },
      ...DuplexServerConnection.rawEvents,
      error() {},
    };
  }

  /** The plain TCP socket's events, for a socket whose `data` is the connection. */
  static readonly rawEvents = {
    data(raw, chunk) {
      if (raw.data) raw.data.#fromClient(chunk);
    },
    drain(raw) {
      if (raw.data) raw.data.#rawDrained();
    },
    end(raw) {
      if (raw.data) raw.data.#clientFin();
    },
    close(raw, error) {
      if (raw.data) raw.data.#rawClosed(error);
    },
  } satisfies Pick<SocketHandler<DuplexServerConnection>, 'data' | 'drain' | 'end' | 'close'>;

  /**
   * The server handshake of startTls() over a socket a plaintext connection hands over. `received`: the
   * start of the client's handshake, read in plaintext before the call; TLS reads it first.
   */
  static upgrade(
    raw: Socket<DuplexServerConnection>,
    context: OpenContext,
    settings: DuplexServerSettings,
    received: Uint8Array | undefined,
  ): Promise<OpenedTransport> {
    const connection = DuplexServerConnection.#start(raw, context, settings);
    if (connection instanceof Promise) return connection;
    if (received) connection.#fromClient(received);
    return connection.opened;
  }

  /** A connection over `raw`, or a rejection when the node:tls this relies on changed (no handshake can start). */
  static #start(
    raw: Socket<DuplexServerConnection>,
    context: OpenContext,
    settings: DuplexServerSettings,
  ): DuplexServerConnection | Promise<never> {
    try {
      return new DuplexServerConnection(context, settings, raw);
    } catch (error) {
      raw.data = undefined as unknown as DuplexServerConnection;
      raw.terminate();
      return Promise.reject(fromBunError(error, 'handshake'));
    }
  }

  readonly opened: Promise<OpenedTransport>;
  #attempt: Attempt | undefined;
  readonly #sink: TransportSink;
  readonly #settings: DuplexServerSettings;
  readonly #raw: Socket<DuplexServerConnection>;
  readonly #cipher: Duplex;
  readonly #tls: TLSSocket;
  #phase: Phase = 'handshaking';
  readonly #records = new PeerRecords();
  /** The records we send, followed until our ServerHello showed the hello random. */
  #ownRecords: PeerRecords | undefined = new PeerRecords();
  #serverRandom: Uint8Array | undefined;
  readonly #keyLog = new KeyLog();
  #encryptedAtHandshake = 0;
  #negotiated: { protocol: 'TLSv1.2' | 'TLSv1.3'; suite: ReturnType<typeof aeadSuiteOf> } | undefined;
  /** The framing of the client's handshake records, which the engine gets one by one. */
  readonly #handshakeHeader = new Uint8Array(HEADER);
  #handshakeHeaderFilled = 0;
  #handshakeBodyLeft = 0;
  /** The client's bytes of a record that may be its close_notify, until the record is whole. */
  #held: Uint8Array | undefined;
  #rawClosedYet = false;
  #peerEndReported = false;
  /** Ciphertext the raw socket did not take yet, and the engine's write waiting for it. */
  #rawPending: { rest: Uint8Array; done: (error?: Error | null) => void } | undefined;
  /** The engine ended its side: the FIN goes once the pending ciphertext is out. */
  #finPending: ((error?: Error | null) => void) | undefined;
  #finSent = false;
  /** shutdownWrite()'s promise, once core asked for it. */
  #shutdown: Promise<void> | undefined;
  #pendingWrite: (Settlement & { taken: boolean }) | undefined;
  #flushing: Settlement | undefined;

  constructor(context: OpenContext, settings: DuplexServerSettings, raw: Socket<DuplexServerConnection>) {
    this.#sink = context.sink;
    this.#settings = settings;
    this.#raw = raw;
    raw.data = this;
    raw.setNoDelay(settings.noDelay);
    const { keepAlive } = settings;
    // Core rounds the delay to whole seconds; Bun reads 0 as "keep the system default".
    if (keepAlive) raw.setKeepAlive(true, keepAlive.initialDelayMs ?? 0);
    this.opened = new Promise<OpenedTransport>((resolve, reject) => {
      const giveUp = (): void => this.#abandon(fromBunError(context.signal.reason, 'handshake'));
      this.#attempt = { resolve, reject, signal: context.signal, giveUp };
      context.signal.addEventListener('abort', giveUp, { once: true });
    });
    this.#cipher = new Duplex({
      allowHalfOpen: true,
      read() {},
      write: (chunk: Uint8Array, _encoding, done) => this.#toClient(chunk, done),
      final: (done) => this.#finish(done),
    });
    this.#tls = new TLSSocket(this.#cipher, {
      isServer: true,
      secureContext: settings.secureContext,
      requestCert: settings.verify,
      rejectUnauthorized: settings.verify,
      ALPNProtocols: settings.alpn,
    });
    const tls = this.#tls;
    releaseControl(tls);
    tls.on('secure', () => this.#handshakeFinished());
    tls.on('keylog', (line: Buffer) => this.#keyLog.add(line));
    tls.on('data', (chunk: Uint8Array) => this.#sink.data(chunk));
    tls.on('end', () => this.#peerEnded());
    tls.on('error', (error: Error) => this.#failed(error));
  }

  // ---- Transport -----------------------------------------------------------------------------

  write(chunk: Uint8Array): Promise<void> | undefined {
    let taken = false;
    this.#tls.write(chunk, (error?: Error | null) => {
      taken = true;
      if (error) this.#settle(() => fromBunError(error, 'write'));
      else this.#writeProgressed();
    });
    if (taken && this.#cipher.writableLength === 0) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#pendingWrite = { resolve, reject, taken };
    });
  }

  shutdownWrite(): Promise<void> {
    this.#shutdown = new Promise<void>((resolve, reject) => {
      this.#flushing = { resolve, reject };
      this.#tls.end();
    });
    return this.#shutdown;
  }

  pause(): void {
    this.#raw.pause();
  }

  resume(): void {
    this.#raw.resume();
  }

  reset(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#settle(() => new SecureSocketError('ERR_ABORTED', 'The socket was aborted', { phase: 'write' }));
    if (!this.#rawClosedYet) this.#raw.terminate();
    this.#tls.destroy();
  }

  release(): void {
    if (this.#phase === 'done') return;
    // Output still queued means the client stopped reading: close() would hold the socket until it reads.
    const stuck =
      this.#pendingWrite !== undefined || this.#flushing !== undefined || this.#rawPending !== undefined;
    this.#phase = 'done';
    this.#settle(() => socketClosedError('close'));
    if (!this.#rawClosedYet) {
      if (stuck) this.#raw.terminate();
      else this.#raw.close();
    }
    this.#tls.destroy();
  }

  // ---- the client's bytes ----------------------------------------------------------------------

  #fromClient(chunk: Uint8Array): void {
    if (this.#phase === 'done' || this.#peerEndReported) return;
    this.#records.push(chunk);
    let rest: Uint8Array | undefined = chunk;
    if (this.#phase === 'handshaking') {
      rest = this.#feedHandshake(chunk);
      // The engine may have finished the handshake, or failed it, on one of those records.
      if (!rest || !this.#isOpen()) return;
    }
    let bytes = this.#held ? concat(this.#held, rest) : rest;
    this.#held = undefined;
    const partial = this.#records.partialBytes;
    if (partial > 0) {
      // The unfinished record might be the close_notify: the engine gets it only once it is judged.
      if (this.#mayBeCloseNotify(this.#records.partialHeader())) {
        this.#held = bytes.slice(bytes.length - partial);
        bytes = bytes.subarray(0, bytes.length - partial);
      }
    } else if (
      this.#mayBeCloseNotify({ type: this.#records.lastType, length: this.#records.lastLength - HEADER })
    ) {
      const closeNotify = this.#verdict();
      if (closeNotify === undefined) return;
      if (closeNotify === true) {
        this.#cipher.push(bytes.subarray(0, bytes.length - this.#records.lastLength));
        this.#reportEnd(true);
        return;
      }
    }
    if (bytes.length > 0) this.#cipher.push(bytes);
  }

  /** Hands the engine whole handshake records one at a time; returns what follows the handshake, if any. */
  #feedHandshake(chunk: Uint8Array): Uint8Array | undefined {
    let start = 0;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#handshakeHeaderFilled < HEADER) {
        const take = Math.min(HEADER - this.#handshakeHeaderFilled, chunk.length - offset);
        this.#handshakeHeader.set(chunk.subarray(offset, offset + take), this.#handshakeHeaderFilled);
        this.#handshakeHeaderFilled += take;
        offset += take;
        if (this.#handshakeHeaderFilled < HEADER) break;
        this.#handshakeBodyLeft = (this.#handshakeHeader[3]! << 8) | this.#handshakeHeader[4]!;
      }
      const take = Math.min(this.#handshakeBodyLeft, chunk.length - offset);
      this.#handshakeBodyLeft -= take;
      offset += take;
      if (this.#handshakeBodyLeft > 0) break;
      this.#handshakeHeaderFilled = 0;
      this.#cipher.push(chunk.subarray(start, offset));
      start = offset;
      if (this.#phase !== 'handshaking') return offset < chunk.length ? chunk.subarray(offset) : undefined;
    }
    if (start < chunk.length) this.#cipher.push(chunk.subarray(start));
    return undefined;
  }

  #isOpen(): boolean {
    return this.#phase === 'open';
  }

  /** Whether a record of this header could be the client's close_notify (undefined: header not whole yet). */
  #mayBeCloseNotify(header: { type: number; length: number } | undefined): boolean {
    if (!header) return true;
    if (this.#negotiated!.protocol === 'TLSv1.2') return header.type === ALERT;
    return header.type === APPLICATION_DATA && header.length === TLS13_ALERT_BODY;
  }

  /** The client's FIN: never handed to the engine, which would then end its own side without close_notify. */
  #clientFin(): void {
    if (this.#phase === 'handshaking') {
      this.#abandon(closedDuringHandshake(undefined));
      return;
    }
    if (this.#phase !== 'open' || this.#peerEndReported) return;
    const closeNotify = this.#verdict();
    if (closeNotify !== undefined) this.#reportEnd(closeNotify);
  }

  /** The engine ended on a close_notify it saw (one that came with more bytes behind it). */
  #peerEnded(): void {
    if (this.#phase !== 'open' || this.#peerEndReported) return;
    const closeNotify = this.#verdict();
    if (closeNotify !== undefined) this.#reportEnd(closeNotify);
  }

  /** The verdict on the client's last record; undefined when the check failed (reported as an error). */
  #verdict(): boolean | null | undefined {
    const { protocol, suite } = this.#negotiated!;
    try {
      return closeNotifyVerdict({
        records: this.#records,
        keyLog: this.#keyLog,
        side: 'server',
        protocol,
        suite,
        encryptedAtHandshake: this.#encryptedAtHandshake,
        serverRandom: this.#serverRandom,
      });
    } catch (error) {
      this.#fail(fromBunError(error, 'read'));
      return undefined;
    }
  }

  #reportEnd(closeNotify: boolean | null): void {
    this.#peerEndReported = true;
    this.#held = undefined;
    this.#sink.end(closeNotify);
  }

  // ---- our bytes -----------------------------------------------------------------------------

  #toClient(chunk: Uint8Array, done: (error?: Error | null) => void): void {
    const own = this.#ownRecords;
    if (own) {
      own.push(chunk);
      if (own.serverRandom) {
        this.#serverRandom = own.serverRandom;
        this.#ownRecords = undefined;
      }
    }
    if (this.#rawClosedYet) {
      done();
      return;
    }
    const written = this.#raw.write(chunk);
    if (written === chunk.byteLength) {
      done();
      return;
    }
    // 0: nothing fit; -1: the socket is dead and its `close` handler settles what waits.
    this.#rawPending = { rest: written > 0 ? chunk.subarray(written) : chunk, done };
  }

  #finish(done: (error?: Error | null) => void): void {
    this.#finPending = done;
    if (!this.#rawPending) this.#sendFin();
  }

  #sendFin(): void {
    const done = this.#finPending!;
    this.#finPending = undefined;
    this.#finSent = true;
    const flushing = this.#flushing;
    this.#flushing = undefined;
    flushing?.resolve();
    done();
    // With the client's FIN already in, Bun closes the socket inside shutdown(): see #rawClosed.
    if (!this.#rawClosedYet) this.#raw.shutdown();
  }

  #rawDrained(): void {
    const pending = this.#rawPending;
    if (pending) {
      const written = this.#raw.write(pending.rest);
      if (written !== pending.rest.byteLength) {
        if (written > 0) pending.rest = pending.rest.subarray(written);
        return;
      }
      this.#rawPending = undefined;
      pending.done();
    }
    if (this.#finPending && !this.#rawPending) this.#sendFin();
    this.#writeProgressed();
  }

  /** Settles the waiting write once the engine took it and no ciphertext waits for the raw socket. */
  #writeProgressed(): void {
    const write = this.#pendingWrite;
    if (!write) return;
    write.taken = true;
    if (this.#cipher.writableLength > 0 || this.#rawPending) return;
    this.#pendingWrite = undefined;
    write.resolve();
  }

  // ---- the handshake and the end -------------------------------------------------------------

  #handshakeFinished(): void {
    if (this.#phase !== 'handshaking') return;
    const tls = this.#tls;
    if (this.#settings.verify && !tls.authorized) {
      this.#abandon(
        fromBunError(
          tls.authorizationError ?? new Error('The client certificate was not verified'),
          'handshake',
        ),
      );
      return;
    }
    const protocol = tls.getProtocol() === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2';
    if (protocol === 'TLSv1.2' && !this.#serverRandom) {
      this.#abandon(
        new SecureSocketError(
          'ERR_TRUNCATION_CHECK_FAILED',
          'node:tls no longer writes its ServerHello through the Duplex: closenotify cannot tell a close_notify from a truncation',
          { phase: 'handshake' },
        ),
      );
      return;
    }
    this.#phase = 'open';
    this.#ownRecords = undefined;
    this.#encryptedAtHandshake = this.#records.encryptedRecords;
    this.#negotiated = { protocol, suite: aeadSuiteOf(tls.getCipher()?.standardName ?? '') };
    const servername = typeof tls.servername === 'string' && tls.servername ? tls.servername : null;
    this.#endAttempt()?.resolve({ transport: this, session: duplexSessionOf(tls, this.#raw, servername) });
  }

  #failed(error: Error): void {
    if (this.#phase === 'handshaking') this.#abandon(fromBunError(error, 'handshake'));
    else if (this.#phase === 'open') this.#fail(fromBunError(error, 'read'));
  }

  #rawClosed(error: Error | undefined): void {
    this.#rawClosedYet = true;
    const pending = this.#rawPending;
    this.#rawPending = undefined;
    pending?.done();
    if (this.#finPending) this.#sendFin();
    if (this.#phase === 'handshaking') {
      this.#abandon(closedDuringHandshake(error));
      return;
    }
    if (this.#phase !== 'open') return;
    if (error) this.#fail(fromBunError(error, 'read'));
    else {
      // A FIN after our own can close the socket without calling `end`: judged like one.
      this.#clientFin();
      // Both FINs are out, and Bun closed the socket inside our shutdown(): core hears of the close
      // after it took the shutdown's settlement, whose reaction it registered first.
      if (this.#finSent && this.#shutdown) {
        const report = (): void => this.#reportClosed();
        this.#shutdown.then(report, report);
        return;
      }
    }
    this.#reportClosed();
  }

  #reportClosed(): void {
    if (this.#phase !== 'open') return;
    this.#phase = 'done';
    this.#settle(() => socketClosedError('write'));
    this.#tls.destroy();
    this.#sink.closed();
  }

  // ---- helpers -------------------------------------------------------------------------------

  #fail(error: SecureSocketError): void {
    this.#settle(() => error);
    this.#sink.error(error);
  }

  #abandon(error: SecureSocketError): void {
    if (this.#phase !== 'handshaking') return;
    this.#phase = 'done';
    this.#endAttempt()?.reject(error);
    // A handshake that failed or timed out leaves nothing to say: a silent client sees the RST.
    if (!this.#rawClosedYet) this.#raw.terminate();
    this.#tls.destroy();
  }

  #endAttempt(): Attempt | undefined {
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.signal.removeEventListener('abort', attempt.giveUp);
    return attempt;
  }

  #settle(reason: () => SecureSocketError): void {
    const write = this.#pendingWrite;
    const flushing = this.#flushing;
    if (!write && !flushing) return;
    this.#pendingWrite = undefined;
    this.#flushing = undefined;
    const error = reason();
    write?.reject(error);
    flushing?.reject(error);
  }
}
