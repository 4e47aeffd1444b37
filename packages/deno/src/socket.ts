/**
 * Deno's TlsConn as a closenotify Transport, and the read loop that feeds core.
 *
 * What Deno 2.9.6 does differently, and how it is papered over (the conformance case ids prove each):
 * - `connectTls`, `startTls` and `accept` resolve before the handshake, whose failure only shows on
 *   the first read or write: open() awaits `handshake()`, so connect() resolves verified or rejects.
 *   `connect.session-info`, `bad-peer.self-signed`, `bad-peer.unknown-ca`, `bad-peer.wrong-host`,
 *   `bad-peer.expired`, `bad-peer.plaintext`, `bad-peer.garbage`, `bad-peer.fin-on-accept`,
 *   `bad-peer.rst-on-accept`.
 * - Every TLS failure is `InvalidData` with no code: errors.ts matches rustls' text narrowly
 *   (UnknownIssuer, CaUsedAsEndEntity, certificate expired, not valid for name, no extended key
 *   usage for server authentication, received fatal alert) and keeps the Deno error as `cause`; OS
 *   errors map by errno (ECONNREFUSED, ECONNRESET). The same bad-peer ids, `bad-peer.wrong-key-usage`,
 *   `connect.refused`.
 * - A name that does not resolve is a plain `Error` with no code ("failed to lookup address
 *   information: Name or service not known"): matched by that prefix. `connect.host-not-found`.
 * - rustls sends no SNI for an IP address and verifies the certificate's IP addresses; the session
 *   reports servername null then, as no name was sent. `connect.ip-no-sni`.
 * - `TlsConn` has no setNoDelay/setKeepAlive, and with Nagle the client Finished and the first
 *   request wait for the server's delayed ACK. From connect() resolved to a 1 KiB echo (Node echo
 *   server, 40 runs): 42.07 ms p50 (40.76–44.67) over connectTls, 0.21 ms p50 (0.11–1.19) over
 *   `Deno.connect` + `setNoDelay` + `Deno.startTls`, which connect.ts uses. `connect.sni`, `connect.alpn`.
 *   Only connectTls takes a client certificate, so that case keeps the stall; an accepted
 *   listenTls conn has no setNoDelay either, and its first response waits too (43.6 ms p50): `server.*`.
 *   The kernel confirms it (TCP_NODELAY clear on both, SO_KEEPALIVE unsettable): capabilities
 *   `serverNoDelay`, `serverKeepAlive` and `clientCertificateSocketOptions` are false, core refuses an
 *   explicit noDelay: true or keepAlive there, and `server.socket-options.*` and
 *   `socket-options.client-certificate` are `unsupported`. Over Deno.connect + startTls both options
 *   reach the kernel: `socket-options.defaults`, `socket-options.no-delay-off`, `socket-options.keep-alive`.
 * - Closing a TlsConn while its handshake is pending leaves the TCP connection open until the peer
 *   sends or closes (still open after 10 s of silence), and nothing public can force it shut: a
 *   handshake timeout or abort is reported at once, but against a silent peer the socket lingers
 *   outside Deno's resource table. `connect.handshake-timeout`, `connect.signal-abort`.
 *   An accepted TlsConn is worse: its handshake runs from accept() on, whether or not handshake() is
 *   called, and neither close(), closeWrite(), readable.cancel(), writable.abort() nor dispose stops
 *   it. A silent client stays connected after core's handshake timeout (still open after 10
 *   minutes, both when handshake() was pending and when it was never called), and a connection
 *   refused over a server cap still completes its handshake, then gets close_notify and FIN.
 *   `dropDuringHandshake` is false: `server.handshake-timeout.drops-connection` is unsupported;
 *   `server.handshake-timeout.reported`, `server.pending-cap` and `server.max-connections` hold
 *   without the "no handshake byte" part.
 * - `close()` sends close_notify but never waits, and the peer's late close_notify then draws a
 *   RST: shutdownWrite() is `closeWrite()` (close_notify and FIN at once), the read loop reads on to
 *   null, and core calls release() (= close()) only when both directions are done.
 *   `shutdown-write.close-notify-then-fin`, `shutdown-write.peer-reads-all`, `close.waits-for-peer`,
 *   `close.peer-streams-after`, `close.timeout`, `shutdown-both.no-waiting`.
 * - `conn.readable.cancel()` closes the whole connection (close_notify and FIN), so `readable` is
 *   never touched: the loop reads with `conn.read()` into buffers of its own (1.8x the stream's
 *   throughput). A pending read pins its buffer, and every idle connection keeps one pending, so a
 *   quiet connection reads into a small buffer it reuses (core copies what it lends); once a read
 *   fills it, whole 16 KiB records are read, and a full one is handed to core as it is (a new one
 *   takes its place). A read never returns more than what the buffer holds, the rest waits in rustls
 *   for the next one. After shutdown('read') it keeps draining while core discards and counts.
 *   `shutdown-read.discards-and-counts`, `shutdown-read.peer-never-blocked`, `data.sha256-16mib`.
 * - Pausing means issuing no read: none stays pending while paused, so the peer feels TCP
 *   backpressure. `data.sha256-16mib`.
 * - Truncation is native: read() gives null after the peer's close_notify (end(true)) and rejects
 *   `UnexpectedEof` after a bare FIN, at a record boundary or inside a record (end(false)); core
 *   applies `truncation`. `truncation.fin-at-boundary`, `truncation.fin-mid-record`, `truncation.ignore`,
 *   `truncation.not-reading`, `truncation.warning-alert-then-fin`, `truncation.key-update-then-close-notify`,
 *   `interop.openssl.killed-mid-stream`.
 * - Deno is always half-open (writes after the peer's close_notify go out): core answers with
 *   shutdown('write') unless allowHalfOpen. `peer-close.half-open`, `peer-close.answers`.
 * - `caCerts` adds to Deno's root store (Mozilla's, DENO_TLS_CA_STORE's, DENO_CERT's) and nothing
 *   public replaces it or shows the peer's chain: core refuses `ca` unless caAddsToDefaultTrust
 *   (capability exclusiveCa false). Deno.startTls reads caCerts after the TCP connect, from core's
 *   copy. `connect.ca-adds-to-default-trust`, `connect.options-copied`.
 * - `write()` may take part of a chunk (write(16 MiB) took 65536 B): the transport loops until all
 *   of it is written and resolves only then, which is the backpressure core sees. Deno has taken (encrypted)
 *   the bytes when write() resolves, so the caller may reuse its buffer: `data.reused-buffer`. A write after
 *   `closeWrite()` rejects NotConnected: core refuses it first. `data.sha256-16mib`,
 *   `data.peer-stops-reading`, `data.small-writes-in-order`, `shutdown-write.write-after-rejects`,
 *   `shutdown-write.inside-read-loop`.
 * - Mid-stream, `ConnectionReset` is ERR_CONNECTION_RESET, `InvalidData` ERR_TLS_PROTOCOL, and a
 *   fatal alert ERR_TLS_ALERT. `reset.peer-rst-mid-stream`, `bad-peer.garbage-after-handshake`.
 * - There is no RST API: reset() closes at once, and Deno's close() still sends close_notify and a
 *   FIN in the background. `abort.rst-on-wire` is `unsupported` (abortiveReset: false);
 *   `abort.rejects-pending` holds: what our own close() interrupts (Interrupted, BadResource) is
 *   never reported, and an interrupted write rejects ERR_ABORTED. A close() that times out with output
 *   stuck behind a peer that stopped reading ends the same way: core's promises settle at once
 *   (ERR_CLOSE_TIMEOUT, closeNotifySent false), the conn leaves the resource table, but Deno keeps the
 *   queued ciphertext and, once the peer reads again, sends it, then close_notify and FIN (seen on the
 *   wire). `close.bounded.peer-not-reading`, `close.bounded.peer-not-reading-timeout`,
 *   `server.close.bounded.peer-not-reading` (their wire check needs abortiveReset).
 * - No handshake or idle timeout exists natively: core's timers. `connect.handshake-timeout`,
 *   `idle.fires`, `idle.reset-by-reads`, `idle.reset-by-writes`, `idle.reader-sees-timeout`,
 *   `idle.readable-errors`, `server.idle.reader-sees-timeout`.
 * - STARTTLS cannot use this transport: Deno.startTls is client-only (no server role at all), and it
 *   refuses a TcpConn while a read is pending on it ("Busy: TCP stream is currently in use"), which a
 *   plaintext phase always has (a pending read cannot be cancelled without closing the conn), so a
 *   client waiting for its own ClientHello would deadlock. Both roles run on node:net and node:tls
 *   over a cipher stream instead (starttls/): verification by rustls underneath, exact truncation
 *   verdicts, and the listener's tls.Server for the server handshake. `starttls.*`, `server.starttls.*`.
 * - On that path a paused node:tls socket loses the TCP EOF (a reader that fell behind never saw the
 *   end, either ending): core's backpressure holds the raw socket instead and TLS is never paused.
 *   `starttls.upgraded.reader-behind.*`, `server.starttls.upgraded.reader-behind.*`.
 * - On that path, once node:tls has read the peer's close_notify, end() seals ours but the socket is
 *   destroyed on 'finish' before the record goes out (the peer saw a bare FIN while the report said
 *   closeNotifySent): the transport takes the sealed record from the engine and sends it with the
 *   FIN itself. `starttls.upgraded.answers-close-notify`, `server.starttls.upgraded.half-open`.
 * - node:net sockets do not appear in Deno's resource table: the conformance runner's runtime leak
 *   probe cannot see STARTTLS connections, core's own counters do.
 */
import {
  type OpenContext,
  type OpenedTransport,
  SecureSocketError,
  type Transport,
  type TransportSink,
} from '@closenotify/core';
import { closeIfOpen, fromDenoError, isTruncation } from './errors.ts';
import { type PeerIdentity, sessionOf } from './session.ts';

/**
 * A read never returns more than one TLS record (16 KiB of plaintext) whatever the buffer size:
 * measured, 256 MiB from a Node server gave 16384 B per read with a 64 KiB buffer too, at the same
 * CPU per byte. A larger buffer would only cost memory.
 */
const RECORD_BYTES = 16 * 1024;
/**
 * The buffer a connection reads into while little or nothing arrives (every idle connection keeps
 * one read pending, which pins its buffer). A read that fills it means data is flowing, and the
 * next reads take whole records; a read shorter than it goes back to it.
 */
const QUIET_READ_BYTES = 2 * 1024;

/**
 * Completes the handshake of a connected (client) or accepted (server) TlsConn and resolves with
 * the transport once the peer is verified; on failure, or when core gives up, the conn is closed.
 */
export async function establishDenoTransport(
  conn: Deno.TlsConn,
  context: OpenContext,
  peer: PeerIdentity,
): Promise<OpenedTransport> {
  const { signal, sink } = context;
  const abandon = (): void => closeIfOpen(conn);
  signal.addEventListener('abort', abandon, { once: true });
  try {
    if (signal.aborted) throw signal.reason;
    const handshake = await conn.handshake();
    if (signal.aborted) throw signal.reason;
    const transport = new DenoTransport(conn, sink);
    // resume() starts the read loop: from here on the peer's bytes flow to core.
    transport.resume();
    return { transport, session: sessionOf(conn, handshake, peer) };
  } catch (error) {
    closeIfOpen(conn);
    // Once core gave up, its own error (timeout, abort) wins over the Interrupted our close caused.
    throw signal.aborted ? signal.reason : fromDenoError(error, 'handshake');
  } finally {
    signal.removeEventListener('abort', abandon);
  }
}

class DenoTransport implements Transport {
  readonly #conn: Deno.TlsConn;
  readonly #sink: TransportSink;
  /** Reused for every read while the peer is quiet: what a read gives is lent to core, which copies it. */
  readonly #quietBuffer = new Uint8Array(QUIET_READ_BYTES);
  /** While data flows, the next read's record buffer: handed to core when a read fills it, else reused. */
  #recordBuffer: Uint8Array | undefined;
  /** The buffer of the one read pending or being delivered, if any (at most one is ever pending). */
  #pendingBuffer: Uint8Array | undefined;
  #paused = false;
  /** The peer's stream is over (null, EOF or a read error): no read will be issued again. */
  #inboundDone = false;
  /** How core let go of the conn; nothing is reported to core afterwards. */
  #releasedBy: 'release' | 'reset' | undefined;

  constructor(conn: Deno.TlsConn, sink: TransportSink) {
    this.#conn = conn;
    this.#sink = sink;
  }

  /** Resolves once Deno took every byte: conn.write() may take only part of a chunk. */
  async write(chunk: Uint8Array): Promise<void> {
    try {
      let written = 0;
      while (written < chunk.byteLength) written += await this.#conn.write(chunk.subarray(written));
    } catch (error) {
      throw this.#releasedBy ? this.#interrupted() : fromDenoError(error, 'write');
    }
  }

  shutdownWrite(): Promise<void> {
    return this.#conn.closeWrite().catch((error: unknown) => {
      throw fromDenoError(error, 'shutdown');
    });
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#pendingBuffer === undefined) this.#readNext();
  }

  reset(): void {
    this.#closeConn('reset');
  }

  release(): void {
    this.#closeConn('release');
  }

  #closeConn(how: 'release' | 'reset'): void {
    if (this.#releasedBy) return;
    this.#releasedBy = how;
    closeIfOpen(this.#conn);
  }

  /** A write our own close() cut short: an abort's error, or a plain closed socket (close timeout). */
  #interrupted(): SecureSocketError {
    return this.#releasedBy === 'reset'
      ? new SecureSocketError('ERR_ABORTED', 'The socket was aborted', { phase: 'write' })
      : new SecureSocketError('ERR_SOCKET_CLOSED', 'The socket closed before the write completed', {
          phase: 'write',
        });
  }

  #wantsData(): boolean {
    return !this.#paused && !this.#inboundDone && this.#releasedBy === undefined;
  }

  /**
   * Issues the next read unless delivery is paused or over. The read loop is a chain of reads
   * settling into two handlers made once per connection, rather than an async function: an idle
   * connection then keeps no suspended generator, its promise and its await closures.
   */
  #readNext(): void {
    if (!this.#wantsData()) return;
    const buffer = this.#recordBuffer ?? this.#quietBuffer;
    this.#pendingBuffer = buffer;
    let read: Promise<number | null>;
    try {
      read = this.#conn.read(buffer);
    } catch (error) {
      this.#onReadFailed(error);
      return;
    }
    read.then(this.#onRead, this.#onReadFailed);
  }

  readonly #onRead = (count: number | null): void => {
    const buffer = this.#pendingBuffer!;
    if (this.#releasedBy) {
      this.#pendingBuffer = undefined;
      return;
    }
    if (count === null) {
      this.#pendingBuffer = undefined;
      this.#inboundDone = true;
      this.#sink.end(true);
      return;
    }
    // The buffer stays marked as in use while core takes what it holds: a resume() from inside the
    // sink issues no read into it. Core may also pause or release there, which the next read honours.
    if (count > 0) this.#deliver(buffer, count);
    this.#pendingBuffer = undefined;
    this.#readNext();
  };

  readonly #onReadFailed = (error: unknown): void => {
    this.#pendingBuffer = undefined;
    this.#inboundDone = true;
    // Interrupted or BadResource from our own close(): the end was ours, not the peer's.
    if (this.#releasedBy) return;
    if (isTruncation(error)) this.#sink.end(false);
    else this.#sink.error(fromDenoError(error, 'read'));
  };

  /**
   * Hands core what the last read gave. A full record buffer (every read of a bulk transfer) is
   * given as it is: a read() gets it without a copy (it must hand the caller a chunk of its own), and
   * the next read gets a new one; when core copied it all into waiting read(into) buffers instead,
   * it says so and the buffer is read into again, so a read(into) loop costs no allocation. Anything
   * shorter is lent from its buffer, which is read into again: core copies it once, straight into a
   * waiting read(into)'s buffer, or into a chunk of exactly its size.
   */
  #deliver(buffer: Uint8Array, count: number): void {
    if (buffer === this.#recordBuffer) {
      if (count === RECORD_BYTES) {
        // Core copied it all into waiting read(into) buffers: the next record goes into it again.
        if (this.#sink.data(buffer)) this.#recordBuffer = new Uint8Array(RECORD_BYTES);
        return;
      }
      // A short record: the flow slowed down, and the next pending read need not pin 16 KiB.
      if (count < QUIET_READ_BYTES) this.#recordBuffer = undefined;
    } else if (count === QUIET_READ_BYTES) {
      this.#recordBuffer = new Uint8Array(RECORD_BYTES);
    }
    this.#sink.borrowedData(buffer.subarray(0, count));
  }
}
