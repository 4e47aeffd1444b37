/**
 * Node's TLS socket as a closenotify Transport.
 *
 * What Node 20 does differently, and how it is papered over (the conformance case ids prove each):
 * - `end()` called synchronously while undecrypted records are buffered loses every later byte
 *   with no error (measured on Node 20.20, both TLS versions): shutdownWrite() always defers `end()` to the
 *   next turn of the loop. `shutdown-write.inside-read-loop`, `shutdown-write.peer-reads-all`.
 * - `tlsSocket.resetAndDestroy()` throws ERR_INVALID_HANDLE_TYPE: the adapter owns the raw
 *   net.Socket under `tls.connect({ socket })` and resets that, and only that (a later
 *   `tls.destroy()` closes the handle twice and segfaults). `abort.rst-on-wire`, `server.abort.rst-on-wire`.
 *   The same reset ends a close() whose output is stuck behind a peer that stopped reading (a plain
 *   destroy() hands the queued bytes to the kernel, which ends them with a FIN): the pending drain and a pending
 *   shutdownWrite() settle on 'close'. `close.bounded.peer-not-reading`,
 *   `close.bounded.peer-not-reading-timeout`, `server.close.bounded.peer-not-reading`.
 * - `resetAndDestroy()` while end()'s FIN is still queued in libuv fails (EINVAL) and leaves the TCP
 *   handle open for good (Node has marked it closing): the descriptor leaks and keeps the process
 *   alive. A close() whose flush grace runs out in that window is closed like a release instead.
 *   `close.bounded.no-wait-grace-after-fin-queued`, `server.close.bounded.no-wait-grace-after-fin-queued`.
 * - `onread` (the fast read path) is ignored when a socket is passed in, so reads use 'data' events:
 *   the price of a documented RST; see docs/BENCHMARKS.md.
 * - A write after `end()` destroys the whole socket, read half included: core refuses such
 *   writes before they reach Node. `shutdown-write.write-after-rejects`.
 * - A TLS error in the middle of a stream emits 'error' but never closes the socket: core
 *   releases the transport on every fatal error, which destroys both sockets. `bad-peer.garbage-after-handshake`.
 * - Node auto-ends on the peer's EOF unless `allowHalfOpen`: the adapter always asks for half-open
 *   and core decides when to answer. `peer-close.half-open`, `peer-close.answers`.
 * - 'end' is the same for close_notify and for a bare TCP EOF, so `end(null)` (cannot tell) is
 *   reported, never a guess. `truncation.*` are `unsupported` here.
 * - No handshake timeout exists natively: core's, and a server's handshake that times out
 *   destroys the raw socket, so a silent client sees its connection end. `connect.handshake-timeout`,
 *   `server.handshake-timeout.reported`, `server.handshake-timeout.drops-connection`.
 * - `net.Server.close(callback)` calls back only once every accepted connection has closed:
 *   listen.ts resolves once the listening descriptor is closed. `server.close.prompt`,
 *   `server.iteration-break.prompt`, `server.close.closes-queued`, `server.iteration-stop.closes-queued`.
 * - A client that resets during a server handshake reaches tlsClientError on a TLSSocket whose
 *   remoteAddress is already gone, so it cannot be matched to its attempt: the raw socket's 'close'
 *   ends the attempt at once instead of at the handshake timeout. `server.client-reset-during-handshake`.
 * - A connection refused over a server cap is `resetAndDestroy()`ed in the 'connection' callback,
 *   before TLS touches it: a RST and no handshake byte. `server.pending-cap`, `server.max-connections`.
 * - `tls.write()` returns true while it still holds the chunk: one written behind a write in
 *   progress waits by reference in the Writable's buffer, so a caller refilling its buffer once
 *   write() resolved sent altered bytes. Such a chunk is copied; one written to an idle socket is
 *   encrypted at once and kept by nobody, so bulk writes (which wait for 'drain') are rarely copied.
 *   Resolving on Node's write callback instead cut awaited 100 B writes from 0.41x raw to 0.06x
 *   (medians of 15 interleaved rounds); copying every chunk cost bulk sends 0.64x raw against 0.79x.
 *   `data.reused-buffer`, `server.data.reused-buffer`.
 * - `setKeepAlive(true, ms)` rounds the delay down to whole seconds and reads 0 as "keep the system
 *   default", so 300 ms left TCP_KEEPIDLE at 7200 s: core rounds every delay to at least one second.
 *   `socket-options.keep-alive-short-delay`, `server.socket-options.keep-alive-short-delay`.
 * - `servername` is sent as SNI even when it is an IP address (RFC 6066 §3 forbids it), with a
 *   process-wide DeprecationWarning (DEP0123): connect.ts passes an IP as `host` instead, which sends
 *   no SNI and verifies the certificate's IP addresses. `connect.ip-no-sni`, test/ip-sni.test.ts.
 * - A certificate for another purpose (extendedKeyUsage without serverAuth) fails with OpenSSL's
 *   INVALID_PURPOSE, an untrusted chain for a server. `bad-peer.wrong-key-usage`.
 * - A SecureContext costs a fifth of the connection rate, so secure-context.ts reuses them, compared
 *   by the PEM contents (core copies `ca`), never by the caller's array. `connect.options-copied`.
 * - Node 20 keeps NODE_EXTRA_CA_CERTS roots in its shared store only: any context given `ca` loses
 *   them, so `caAddsToDefaultTrust` lists the bundled roots and that file's certificates next to `ca`.
 *   `connect.ca-replaces-default-trust`, `connect.ca-adds-to-default-trust`.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type {
  OpenContext,
  OpenedTransport,
  SecureSocketError,
  Transport,
  TransportSink,
} from '@closenotify/core';
import { fromNodeError } from './errors.ts';
import { sessionOf } from './session.ts';

export interface HandshakeTarget {
  tls: TLSSocket;
  raw: Socket;
  /** 'secureConnect' for a client; null for a socket tls.Server already handed over as secure. */
  secureEvent: 'secureConnect' | null;
  servername: () => string | null;
}

/** The attempt in progress: a failure rejects open() and destroys both sockets. */
interface Handshake {
  fail(error: SecureSocketError): void;
  phase(): 'connect' | 'handshake';
}

/**
 * Wires a TLS socket to core: resolves with the transport once the handshake is verified, and
 * rejects (after destroying both sockets) on any failure or when core gives up.
 */
export function establishNodeTransport(
  target: HandshakeTarget,
  context: OpenContext,
): Promise<OpenedTransport> {
  const { tls, raw, secureEvent } = target;
  const { signal } = context;
  // Node clears raw.connecting before it reports a failed connect, so remember whether TCP came up.
  let tcpUp = !raw.connecting;
  raw.once('connect', () => {
    tcpUp = true;
  });

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
      phase: () => (tcpUp ? 'handshake' : 'connect'),
    };
    const onAbort = (): void => handshake.fail(signal.reason as SecureSocketError);
    signal.addEventListener('abort', onAbort, { once: true });
    const transport = NodeTransport.listen(tls, raw, context.sink, handshake);
    const secured = (): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      transport.established();
      resolve({ transport, session: sessionOf(tls, raw, target.servername()) });
    };
    if (secureEvent) tls.once(secureEvent, secured);
    else secured();
  });
}

function destroyBoth(tls: TLSSocket, raw: Socket): void {
  tls.destroy();
  raw.destroy();
}

/**
 * One connection's sockets as a Transport. Its event listeners close over the transport alone, so
 * an open connection keeps nothing of its handshake (the attempt's closures, core's open context).
 */
class NodeTransport implements Transport {
  readonly #tls: TLSSocket;
  readonly #raw: Socket;
  readonly #sink: TransportSink;
  /** While the handshake runs, and after it failed: events end the attempt instead of reaching core. */
  #handshake: Handshake | undefined;
  #drained: Promise<void> | undefined;

  private constructor(tls: TLSSocket, raw: Socket, sink: TransportSink, handshake: Handshake) {
    this.#tls = tls;
    this.#raw = raw;
    this.#sink = sink;
    this.#handshake = handshake;
  }

  static listen(tls: TLSSocket, raw: Socket, sink: TransportSink, handshake: Handshake): NodeTransport {
    const transport = new NodeTransport(tls, raw, sink, handshake);
    tls.on('error', (error: Error) => transport.#tlsError(error));
    // Before the handshake, connect errors (ECONNREFUSED...) are emitted on the raw socket only;
    // afterwards everything surfaces on the TLS socket, and this just keeps raw errors handled.
    raw.on('error', (error: Error) => transport.#rawError(error));
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
    // A chunk written while an earlier one is still in progress waits in the Writable's buffer by
    // reference, after write() already resolved: it gets a copy, so the caller owns its buffer again.
    // On an idle socket Node encrypts the chunk at once and keeps nothing.
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
    return new Promise<void>((resolve, reject) => {
      // Deferred: end() inside a read callback loses the records Node already buffered.
      setImmediate(() => {
        if (tls.destroyed) {
          reject(fromNodeError(new Error('The socket closed before close_notify could be sent'), 'shutdown'));
          return;
        }
        const finished = (): void => {
          tls.off('close', closedFirst);
          resolve();
        };
        const closedFirst = (): void => {
          tls.off('finish', finished);
          reject(fromNodeError(new Error('The socket closed before close_notify was sent'), 'shutdown'));
        };
        tls.once('finish', finished);
        tls.once('close', closedFirst);
        tls.end();
      });
    });
  }

  pause(): void {
    this.#tls.pause();
  }

  resume(): void {
    this.#tls.resume();
  }

  reset(): void {
    const tls = this.#tls;
    // end() has handed its close_notify to the TCP handle and queued the FIN (writableFinished is
    // still false): libuv refuses a reset until that FIN is out (EINVAL), and Node then never
    // closes the handle, whose descriptor leaks and keeps the process alive. Nothing of ours is
    // left to cut off there, so the connection is closed like a release.
    if (tls.writableEnded && tls.writableLength === 0 && !tls.writableFinished) {
      destroyBoth(tls, this.#raw);
      return;
    }
    // The RST goes out on the raw handle; Node then destroys the TLS socket by itself. Destroying it
    // again here closes the TCP handle twice and crashes the process (SIGSEGV on Node 20.20).
    if (this.#raw.destroyed) tls.destroy();
    else this.#raw.resetAndDestroy();
  }

  release(): void {
    destroyBoth(this.#tls, this.#raw);
  }

  #tlsError(error: Error): void {
    const handshake = this.#handshake;
    if (handshake) handshake.fail(fromNodeError(error, handshake.phase()));
    else this.#sink.error(fromNodeError(error, 'read'));
  }

  #rawError(error: Error): void {
    const handshake = this.#handshake;
    if (handshake) handshake.fail(fromNodeError(error, handshake.phase()));
  }

  #closed(): void {
    if (!this.#handshake) {
      this.#sink.closed();
      return;
    }
    this.#handshake.fail(
      fromNodeError(
        Object.assign(new Error('The connection closed during the handshake'), { code: 'ECONNRESET' }),
        'handshake',
      ),
    );
  }

  #ended(): void {
    if (!this.#handshake) this.#sink.end(null);
  }
}
