/**
 * Bun's native TLS socket (Bun.connect, and Bun.listen for a TLS 1.3-only server) as a closenotify
 * Transport.
 *
 * What Bun 1.4.5 does differently, and how it is papered over (the conformance case ids prove each;
 * the figures were measured with the installed Bun, before this adapter was written):
 * - `write()` does not buffer: it returns how many bytes it took (4063232 of a 4 MiB write on
 *   loopback) and the rest waits for the `drain` handler. The transport keeps that one remainder and
 *   writes it from `drain`; core never writes again before it is taken, so nothing queues without
 *   bound. What Bun took is encrypted at once, and the write's promise stays pending while a
 *   remainder of the caller's chunk is kept, so the caller owns its buffer again once write()
 *   resolves. `data.sha256-16mib`, `data.small-writes-in-order`, `data.peer-stops-reading`,
 *   `data.reused-buffer`, `server.data.reused-buffer`.
 * - `end()` sends close_notify but holds the FIN until the socket finally closes (it left only after
 *   the peer's own FIN); `shutdown()` sends close_notify and the FIN together (0.3 ms apart, before
 *   the peer answered): shutdownWrite() uses `shutdown()`. Ciphertext still queued behind a full
 *   send buffer goes first (all 3932160 accepted bytes of a stalled peer arrived, then close_notify,
 *   then FIN); while it is queued a zero-length `write()` answers 0 instead of -1 and `drain` fires
 *   once it is out, so shutdownWrite() settles only when close_notify and FIN really left.
 *   `shutdown-write.close-notify-then-fin`, `shutdown-write.peer-reads-all`,
 *   `shutdown-write.inside-read-loop`, `shutdown-both.no-waiting`.
 * - `close()` sends no close_notify, so the graceful paths never call it first. Once close_notify and
 *   FIN are out it sends nothing new and frees the socket: release() uses it then. With output still
 *   queued it keeps the descriptor until the peer reads (ESTABLISHED with 3.8 MB unsent for as long as
 *   the peer lived), so release() uses `terminate()` there. `close.waits-for-peer`, `close.timeout`,
 *   `close.peer-streams-after`.
 * - `close()` takes 60-75 µs after an idle spell, and it ran inside the peer's `end`, before the
 *   reader waiting for read() → null: the transport asks core to release it on the next turn
 *   (`releaseOnNextTurn`; 60-100 µs less from shutdown('write') to read() → null, interleaved).
 *   core's "releases a transport that asks for it on the next turn" test, `close.waits-for-peer`.
 * - `terminate()` is SO_LINGER 0: the RST for abort(), and for a close() that timed out with output
 *   still queued (the kernel drops what the stalled peer never took); a pending remainder and a
 *   pending flush reject. `abort.rst-on-wire`, `abort.rejects-pending`, `close.bounded.peer-not-reading`,
 *   `close.bounded.peer-not-reading-timeout`, `server.close.bounded.peer-not-reading`.
 * - The `close` handler runs synchronously inside `close()` and `terminate()`: the transport stops
 *   reporting before it frees the socket, so core never hears its own release echoed back.
 * - Handshake failures reach only `handshake(socket, success, error)`, never `error`; without that
 *   handler `open` fires on a failed handshake. It is always installed, `open` only means TCP is up
 *   (context.connected()), and the transport resolves on a successful, authorized handshake.
 *   Unknown CA and self-signed give UNABLE_TO_VERIFY_LEAF_SIGNATURE, expired CERT_HAS_EXPIRED, wrong
 *   host ERR_TLS_CERT_ALTNAME_INVALID, plaintext and garbage EPROTO WRONG_VERSION_NUMBER, a FIN on
 *   accept ECONNRESET; a RST on accept skips `handshake` and arrives as `close(ECONNRESET)`; refused
 *   rejects Bun.connect(). Under load a RST on accept can also reject Bun.connect() with a genuine
 *   ECONNREFUSED (errno -111: the RST reached the kernel while the connect was still in SYN_SENT;
 *   3 runs in 40 with two busy cores), which no adapter can tell from a refusal.
 *   `bad-peer.*`, `connect.refused`.
 * - With verification off (`rejectUnauthorized: false`) an untrusted or expired certificate passes,
 *   but a wrong host still reports success=false while the connection stays usable: a failure that is
 *   only a certificate verdict is accepted, any other fails.
 * - `serverName` is sent as SNI even when it is an IP address (RFC 6066 §3 forbids it); without one
 *   Bun sends the host it connects to, and an empty one sends none. Bun verifies the SNI name or, with
 *   none, that host, never a separate name: for an IP servername the client sends no SNI, lets Bun only
 *   report (rejectUnauthorized: false), accepts its verdict on the chain and checks the IP itself with
 *   `checkServerIdentity`. `connect.ip-no-sni`.
 * - A certificate for another purpose (extendedKeyUsage without serverAuth) fails with
 *   INVALID_PURPOSE, an untrusted chain for a server. `bad-peer.wrong-key-usage`.
 * - A RST after the handshake arrives only as the `close` handler's error (ECONNRESET, errno -104),
 *   never through `error`: reported as ERR_CONNECTION_RESET. A write that meets the dead socket
 *   (returns -1) waits for that handler, so it rejects with the same error. `reset.peer-rst-mid-stream`.
 * - The `end` handler fires alike for close_notify, a bare FIN and a FIN in the middle of a record (100
 *   bytes of a 1022-byte record, then FIN: `end`, then `close(undefined)`). So the connection is plain
 *   TCP first and upgradeTLS() runs at once: the raw half keeps these handlers' `data` and sees the
 *   peer's ciphertext before BoringSSL does, and the undocumented `keylog` handler gives the traffic
 *   secrets. At `end` the verdict (truncation/verdict.ts) is exact: a stream cut inside a record is a
 *   truncation; otherwise the last record is opened with the peer's keys and only an authenticated
 *   close_notify is clean (another alert, data, or no key that opens it: truncation). TLS 1.3 finds the
 *   sequence number among the records that arrived before the handshake finished and follows KeyUpdates;
 *   TLS 1.2 counts records after ChangeCipherSpec. A TLS 1.2 server cannot work this way: it never
 *   sees its own hello random (the raw half shows only the client's records, the TLS 1.2 key log line
 *   is CLIENT_RANDOM alone, getSession() keeps none), so listen() runs a server that may negotiate
 *   TLS 1.2 over node:tls on a Duplex instead (duplex-server.ts, tls12ServerCloseNotify); this transport
 *   serves clients and TLS 1.3-only servers. test/truncation.test.ts pins the facts. If the raw half
 *   stops seeing the hello, the handshake fails and if the key log stops opening the peer's first
 *   encrypted record the read fails, both with ERR_TRUNCATION_CHECK_FAILED, never a guess. `truncation.*`, `server.truncation.fin`.
 * - upgradeTLS builds a TLS context per connection from inline `tls` options (about 50 µs of CPU),
 *   after TCP is up, but shares a native context passed as `tls.secureContext`: a node:tls
 *   SecureContext's undocumented `context` field (test/shared-context.test.ts pins it; without it
 *   connect() fails with ERR_RUNTIME_UNSUPPORTED). A client builds one per configuration, which also
 *   refuses bad certificates, keys and trust anchors before a socket opens; a server's are loaded
 *   once up front (tls-options.ts), so bad ones still fail listen().
 * - Bun closes the socket on the peer's FIN unless `allowHalfOpen`: always set, core decides when
 *   to answer the peer's close_notify. `peer-close.half-open`, `peer-close.answers`.
 * - A bare FIN from the peer after our own FIN (shutdown() sent it) skips the `end` handler: only
 *   `close(undefined)` comes, which the transport judges and reports as the peer's end first, not
 *   as an unexpected close. `peer-close.fin-after-our-shutdown`, `truncation.after-shutdown-write`.
 * - A `write()` after `shutdown()` returns -1 (0 while output is queued) and nothing else happens:
 *   core refuses such writes before they reach Bun. `shutdown-write.write-after-rejects`.
 * - `getTLSVersion()` answers 'TLSv1.2' on a socket still negotiating: the session is read in the
 *   `handshake` handler; a client reports the name it verified, a server `getServername()`.
 *   `connect.session-info`, `connect.sni`.
 * - ALPN must be the wire format: an array throws ERR_INVALID_ARG_TYPE and a string is silently
 *   not offered (tls-options.ts encodes it). `connect.alpn`.
 * - TLSOptions has no minVersion/maxVersion; `secureOptions` with SSL_OP_NO_TLSv1_2 / _3 is
 *   honoured on the wire in both roles (NO_TLSv1_3 negotiates TLS 1.2; NO_TLSv1_2 against a TLS 1.2
 *   peer ends in its protocol_version alert). `connect.session-info` on TLS 1.2.
 * - `setKeepAlive(true, ms)` sets TCP_KEEPIDLE to whole seconds and raises a sub-second delay to
 *   one; core rounds every delay the same way, so Node and Bun set the same value. `setNoDelay` and
 *   `setKeepAlive` reach the kernel socket in both roles. `socket-options.*`, `server.socket-options.*`.
 * - `ca` replaces the default trust, as in Node; `caAddsToDefaultTrust` passes
 *   getCACertificates('default') (the bundled roots and NODE_EXTRA_CA_CERTS) next to it.
 *   `connect.ca-replaces-default-trust`, `connect.ca-adds-to-default-trust`.
 * - `timeout()` has a 4 s granularity and ignores reads (measured): unused, core runs the idle and handshake
 *   timers, and the transport frees the socket when core gives up. `idle.*`,
 *   `connect.handshake-timeout`, `connect.signal-abort`.
 * - `shutdown(true)` stalls the peer and makes the final close a RST (measured): unused, core discards while
 *   the transport keeps reading. `shutdown-read.discards-and-counts`, `shutdown-read.peer-never-blocked`.
 * - Every `data` event carries a fresh buffer (24 chunks of a 4 MiB echo: 24 ArrayBuffers, none
 *   rewritten later), so chunks go to core uncopied. `pause()` applies TCP backpressure (no event for
 *   1 s, the peer stalled at 6.5 MB, then all 64 MiB arrived).
 * - Bun runs the microtask queue after every handler, so core has attached the transport before the
 *   `data` or `end` that follow a handshake in the same read.
 * - On a server, `handshake` reports success with UNABLE_TO_GET_ISSUER_CERT when no client
 *   certificate was asked for: verification there means `requestClientCert` only. `server.*`.
 * - An accepted socket's `open` runs before Bun answers the ClientHello: a connection refused over a
 *   server cap is `terminate()`d there (a RST, no handshake byte), with no `data` bound, so every
 *   handler skips a socket without one. `server.pending-cap`, `server.max-connections`.
 * - A server handshake that core times out is terminated like any abandoned attempt: a silent
 *   client sees the RST. `server.handshake-timeout.reported`, `server.handshake-timeout.drops-connection`.
 * - STARTTLS, client: the plaintext phase is the same plain Bun socket (plaintext.ts) and startTls()
 *   runs this very upgradeTLS on it; the server sends no TLS byte before our ClientHello, so the raw half
 *   still sees every record and the verdicts are exact after an upgrade. `starttls.upgraded.*`.
 */

import { checkServerIdentity } from 'node:tls';
import type {
  AcceptConnection,
  OpenContext,
  OpenedTransport,
  ResolvedSocketOptions,
  Transport,
  TransportSink,
} from '@closenotify/core';
import { SecureSocketError } from '@closenotify/core';
import type { Socket, SocketHandler, TLSOptions } from 'bun';
import { closedDuringHandshake, fromBunError, isCertificateVerdict, isHostnameVerdict } from './errors.ts';
import { PartialWrite } from './partial-write.ts';
import { sessionOf } from './session.ts';
import { PeerRecords } from './truncation/peer-records.ts';
import { aeadSuiteOf } from './truncation/record-crypto.ts';
import { closeNotifyVerdict, KeyLog, prepareVerdict } from './truncation/verdict.ts';

export interface ConnectionSettings {
  side: 'client' | 'server';
  /** Client: certificate and hostname verification. Server: a client certificate is required. */
  verify: boolean;
  /**
   * The name a client sent as SNI and verified; null on a server, which reads what the client sent, and
   * on a client that sent none (an IP address is never SNI).
   */
  servername: string | null;
  /**
   * Client: the IP address the certificate must name when the servername is one. Bun verifies only the
   * SNI name or, without one, the host it connected to, so this address is checked here instead.
   */
  verifyAddress: string | null;
  noDelay: boolean;
  keepAlive: ResolvedSocketOptions['keepAlive'];
}

type Phase = 'connecting' | 'handshaking' | 'open' | 'done';

interface Settlement {
  resolve(): void;
  reject(error: SecureSocketError): void;
}

/** A connection's attempt: core's open context, how to settle `opened`, and the give-up listener. */
interface Attempt {
  context: OpenContext;
  resolve(opened: OpenedTransport): void;
  reject(error: SecureSocketError): void;
  giveUp(): void;
}

const EMPTY = new Uint8Array(0);

function socketClosedError(phase: 'write' | 'close'): SecureSocketError {
  return new SecureSocketError('ERR_SOCKET_CLOSED', 'The socket closed before the bytes were sent', {
    phase,
  });
}

/** One connection: translates its socket's events into sink calls and implements the Transport. */
export class BunConnection implements Transport {
  /** The TLS socket's events. */
  static readonly #tlsEvents = {
    handshake(socket, success, authorizationError) {
      socket.data.#handshakeFinished(success, authorizationError);
    },
    data(socket, chunk) {
      socket.data.#sink.data(chunk);
    },
    drain(socket) {
      socket.data.#drained();
    },
    end(socket) {
      socket.data.#peerEnded();
    },
    error(socket, error) {
      socket.data.#failed(error);
    },
    close(socket, error) {
      socket.data.#closed(error);
    },
    // Not in Bun's typings: each NSS key log line, as BoringSSL derives the secret.
    keylog(socket: Socket<BunConnection>, line: Uint8Array | string) {
      socket.data.#keyLogged(line);
    },
  } satisfies SocketHandler<BunConnection> & Record<'keylog', unknown>;

  /**
   * The plain TCP socket's events. upgradeTLS keeps them on the raw half, which still receives the
   * peer's ciphertext before BoringSSL decrypts it; everything else is the TLS socket's to report.
   * `data` is unset on an accepted socket the server refused: its events are nobody's.
   */
  static readonly rawEvents = {
    data(socket, chunk) {
      if (socket.data) socket.data.#records.push(chunk);
    },
    drain() {},
    end() {},
    error() {},
    close() {},
  } satisfies SocketHandler<BunConnection>;

  /** For Bun.connect(), whose `data` option carries the connection. */
  static readonly connectHandlers: SocketHandler<BunConnection> = {
    ...BunConnection.rawEvents,
    open(socket) {
      socket.data.#tcpConnected(socket);
    },
  };

  /**
   * For Bun.listen(): each accepted socket gets its connection from core's accept(), which calls
   * the open function at once, before any other event of that socket can run.
   */
  static listenHandlers(
    accept: AcceptConnection,
    settings: ConnectionSettings,
    tls: TLSOptions,
  ): SocketHandler<BunConnection> {
    return {
      ...BunConnection.rawEvents,
      open(socket) {
        accept({
          open: (context) => {
            const connection = new BunConnection(context, settings, tls);
            connection.#adopt(socket);
            return connection.opened;
          },
          // SO_LINGER 0 from inside `open`: a RST before any TLS byte.
          refuse: () => socket.terminate(),
        });
      },
    };
  }

  /**
   * The client handshake of startTls() over a connected socket a plaintext connection hands over: the
   * same upgradeTLS as a direct connect, started before the server can send a TLS byte.
   */
  static upgrade(
    socket: Socket<BunConnection>,
    context: OpenContext,
    settings: ConnectionSettings,
    tls: TLSOptions,
  ): Promise<OpenedTransport> {
    const connection = new BunConnection(context, settings, tls);
    connection.#adopt(socket);
    return connection.opened;
  }

  /** Settles once the handshake is done and verified, or failed. */
  readonly opened: Promise<OpenedTransport>;
  /** Until the handshake is over; an open connection keeps nothing of its attempt. */
  #attempt: Attempt | undefined;
  readonly #sink: TransportSink;
  readonly #settings: ConnectionSettings;
  #phase: Phase = 'connecting';
  /** The TLS half of the upgraded socket: every read, write and close goes through it. */
  #socket: Socket<BunConnection> | undefined;
  /** Until upgradeTLS took it. */
  #tls: TLSOptions | undefined;
  readonly #records = new PeerRecords();
  readonly #keyLog: KeyLog;
  /** PeerRecords.encryptedRecords when the handshake finished. */
  #encryptedAtHandshake = 0;
  /** Read at the handshake: once Bun closed the socket, its getters answer nothing. */
  #negotiated: { protocol: 'TLSv1.2' | 'TLSv1.3'; suite: ReturnType<typeof aeadSuiteOf> } | undefined;
  /** Bun ran the `close` handler: the socket is gone. */
  #socketClosed = false;
  /** The peer's end was judged and reported (from `end`, or from a `close` that came without one). */
  #peerEndReported = false;
  readonly #writes = new PartialWrite();
  #flushing: Settlement | undefined;

  constructor(context: OpenContext, settings: ConnectionSettings, tls: TLSOptions) {
    this.#sink = context.sink;
    this.#settings = settings;
    this.#keyLog = new KeyLog(settings.side);
    this.#tls = tls;
    this.opened = new Promise<OpenedTransport>((resolve, reject) => {
      const giveUp = (): void => this.#abandon(fromBunError(context.signal.reason, 'handshake'));
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

  shutdownWrite(): Promise<void> | undefined {
    const socket = this.#socket!;
    socket.shutdown();
    // -1 once close_notify and the FIN are out; 0 while they wait behind queued ciphertext.
    if (socket.write(EMPTY) < 0) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#flushing = { resolve, reject };
    });
  }

  pause(): void {
    this.#socket!.pause();
  }

  resume(): void {
    this.#socket!.resume();
  }

  reset(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#settle(() => new SecureSocketError('ERR_ABORTED', 'The socket was aborted', { phase: 'write' }));
    if (!this.#socketClosed) this.#socket?.terminate();
  }

  release(): void {
    if (this.#phase === 'done') return;
    // Output still queued means the peer stopped reading: close() would hold the socket until it reads.
    const stuck = this.#writes.waiting || this.#flushing !== undefined;
    this.#phase = 'done';
    this.#settle(() => socketClosedError('close'));
    if (this.#socketClosed || !this.#socket) return;
    if (stuck) this.#socket.terminate();
    else this.#socket.close();
  }

  /** See the header: the reader waiting on the peer's close_notify resumes before close() runs. */
  get releaseOnNextTurn(): boolean {
    return true;
  }

  // ---- Bun's events --------------------------------------------------------------------------

  #tcpConnected(socket: Socket<BunConnection>): void {
    if (this.#phase === 'done') {
      // Core gave up while TCP was still connecting.
      socket.terminate();
      return;
    }
    this.#adopt(socket);
    this.#attempt?.context.connected();
  }

  #adopt(socket: Socket<BunConnection>): void {
    socket.data = this;
    this.#phase = 'handshaking';
    socket.setNoDelay(this.#settings.noDelay);
    const { keepAlive } = this.#settings;
    // Core rounds the delay to whole seconds; Bun reads 0 as "keep the system default".
    if (keepAlive) socket.setKeepAlive(true, keepAlive.initialDelayMs ?? 0);
    // TLS starts before the first byte arrives, so the raw half sees every record the peer sends.
    try {
      const [, tls] = socket.upgradeTLS<BunConnection>({
        data: this,
        tls: this.#tls!,
        socket: BunConnection.#tlsEvents,
      });
      this.#socket = tls;
      this.#tls = undefined;
    } catch (error) {
      // The options were loaded once up front (tls-options.ts): whatever still fails is this connection's.
      socket.terminate();
      this.#abandon(fromBunError(error, 'handshake'));
    }
  }

  #handshakeFinished(success: boolean, authorizationError: Error | null): void {
    if (this.#phase !== 'handshaking') return;
    const socket = this.#socket!;
    const failure = this.#handshakeFailure(socket, success, authorizationError);
    if (failure) {
      this.#abandon(fromBunError(failure, 'handshake'));
      return;
    }
    if (!this.#records.sawHello) {
      // The raw half no longer sees the peer's bytes: no truncation verdict could be trusted.
      this.#abandon(
        new SecureSocketError(
          'ERR_TRUNCATION_CHECK_FAILED',
          "upgradeTLS no longer shows the peer's ciphertext: closenotify cannot tell a close_notify from a truncation",
          { phase: 'handshake' },
        ),
      );
      return;
    }
    this.#phase = 'open';
    this.#encryptedAtHandshake = this.#records.encryptedRecords;
    this.#negotiated = {
      protocol: socket.getTLSVersion() === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2',
      suite: aeadSuiteOf(socket.getCipher().standardName),
    };
    if (this.#negotiated.protocol === 'TLSv1.3')
      prepareVerdict(this.#keyLog, this.#settings.side, this.#negotiated.suite);
    const servername = this.#settings.servername ?? (socket.getServername() || null);
    this.#endAttempt()?.resolve({ transport: this, session: sessionOf(socket, servername) });
  }

  /** Why a finished handshake is not accepted, or null when it is. */
  #handshakeFailure(
    socket: Socket<BunConnection>,
    success: boolean,
    authorizationError: Error | null,
  ): Error | null {
    const failed = (): Error => authorizationError ?? new Error('The TLS handshake failed');
    const { verify, verifyAddress } = this.#settings;
    if (!verify) return success || isCertificateVerdict(authorizationError) ? null : failed();
    if (verifyAddress === null) return success && socket.authorized ? null : failed();
    // Bun checked a name nobody asked for (the host it connected to): only its verdict on the chain counts.
    const chainVerified = (success && socket.authorized) || isHostnameVerdict(authorizationError);
    if (!chainVerified) return failed();
    return checkServerIdentity(verifyAddress, socket.getPeerCertificate()) ?? null;
  }

  /** Bun 1.4.5 logs the application traffic secrets after the `handshake` handler ran (measured). */
  #keyLogged(line: Uint8Array | string): void {
    this.#keyLog.add(line);
    if (this.#phase === 'open') this.#prepareVerdict();
  }

  /** Derives the peer's keys once they are logged and the suite is known, before the peer can close. */
  #prepareVerdict(): void {
    const negotiated = this.#negotiated!;
    if (negotiated.protocol === 'TLSv1.3')
      prepareVerdict(this.#keyLog, this.#settings.side, negotiated.suite);
  }

  #drained(): void {
    if (this.#writes.drained(this.#socket!)) return;
    const flushing = this.#flushing;
    if (flushing && this.#socket!.write(EMPTY) < 0) {
      this.#flushing = undefined;
      flushing.resolve();
    }
  }

  #peerEnded(): void {
    // Before the handshake Bun reports the FIN through `handshake` too.
    if (this.#phase !== 'open' || this.#peerEndReported) return;
    this.#peerEndReported = true;
    const { protocol, suite } = this.#negotiated!;
    let closeNotify: boolean | null;
    try {
      closeNotify = closeNotifyVerdict({
        records: this.#records,
        keyLog: this.#keyLog,
        side: this.#settings.side,
        protocol,
        suite,
        encryptedAtHandshake: this.#encryptedAtHandshake,
        serverRandom: this.#records.serverRandom,
      });
    } catch (error) {
      this.#fail(fromBunError(error, 'read'));
      return;
    }
    this.#sink.end(closeNotify);
  }

  /** A TLS failure after the handshake (a record that does not decrypt, a fatal alert). */
  #failed(error: Error): void {
    if (this.#phase === 'handshaking') this.#abandon(fromBunError(error, 'handshake'));
    else if (this.#phase === 'open') this.#fail(fromBunError(error, 'read'));
  }

  #closed(error: Error | undefined): void {
    this.#socketClosed = true;
    if (this.#phase === 'handshaking') {
      this.#abandon(closedDuringHandshake(error));
      return;
    }
    if (this.#phase !== 'open') return;
    if (error) this.#fail(fromBunError(error, 'read'));
    // A FIN that arrives after our own (shutdown() sent it) closes the socket without calling `end`:
    // a close without an error is the peer's end, judged like one and reported before the close.
    else this.#peerEnded();
    // Core releases the transport when it takes the error or the end; then there is nothing more to report.
    if (this.#phase !== 'open') return;
    this.#phase = 'done';
    this.#settle(() => socketClosedError('write'));
    this.#sink.closed();
  }

  // ---- helpers -------------------------------------------------------------------------------

  #fail(error: SecureSocketError): void {
    this.#settle(() => error);
    this.#sink.error(error);
  }

  /** Ends an attempt that never became a transport, freeing whatever socket it had. */
  #abandon(error: SecureSocketError): void {
    if (this.#phase === 'done' || this.#phase === 'open') return;
    this.#phase = 'done';
    this.#endAttempt()?.reject(error);
    if (this.#socket && !this.#socketClosed) this.#socket.close();
  }

  #endAttempt(): Attempt | undefined {
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.context.signal.removeEventListener('abort', attempt.giveUp);
    return attempt;
  }

  /**
   * Rejects the write and the flush still waiting, if any. The error is built only then: it captures
   * a stack, which every clean release would otherwise pay for.
   */
  #settle(reason: () => SecureSocketError): void {
    const flushing = this.#flushing;
    if (!this.#writes.waiting && !flushing) return;
    this.#flushing = undefined;
    const error = reason();
    this.#writes.reject(error);
    flushing?.reject(error);
  }
}
