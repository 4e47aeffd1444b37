/**
 * Node's TLS socket as a closenotify Transport.
 *
 * What Node 20 does differently, and how it is papered over (the conformance case ids prove each):
 * - `end()` called synchronously while undecrypted records are buffered loses every later byte
 *   with no error (measured on Node 20.20, both TLS versions): shutdownWrite() always defers `end()` to the
 *   next turn of the loop. `shutdown-write.inside-read-loop`, `shutdown-write.peer-reads-all`.
 * - `tlsSocket.resetAndDestroy()` throws ERR_INVALID_HANDLE_TYPE: the adapter owns the raw
 *   net.Socket (TLS runs over a cipher stream fed from it, see below) and resets that; its 'close'
 *   destroys the cipher stream and the TLS socket. `abort.rst-on-wire`, `server.abort.rst-on-wire`.
 *   The same reset ends a close() whose output is stuck behind a peer that stopped reading (a plain
 *   destroy() hands the queued bytes to the kernel, which ends them with a FIN): the pending drain and a pending
 *   shutdownWrite() settle on 'close'. `close.bounded.peer-not-reading`,
 *   `close.bounded.peer-not-reading-timeout`, `server.close.bounded.peer-not-reading`.
 * - Over a socket handle Node's TLS emits the same 'end' for a close_notify, a bare FIN and a FIN
 *   that cuts a record (TLSWrap::ClearOut vs OnStreamRead). TLS therefore runs over a Duplex the
 *   adapter feeds from the raw socket (cipher-stream.ts): TLS decrypts each chunk of it synchronously,
 *   so its readable side has ended before the TCP EOF is handed over if and only if a close_notify
 *   arrived; 'end' reports exactly that, `sink.end(true | false)`. The check reads a Node internal,
 *   guarded and pinned (node-internals.ts). `truncation.fin-at-boundary`, `truncation.fin-mid-record`,
 *   `truncation.ignore`, `server.truncation.fin`, `interop.openssl.killed-mid-stream`,
 *   `interop.openssl.half-close`, `close.waits-for-peer`.
 * - Over a Duplex, every TLS write completes a loop turn later (JSStreamSocket): the cipher stream
 *   completes its own writes as soon as the raw socket took them, and pauses the raw socket while TLS
 *   is not reading. The cost is measured in docs/BENCHMARKS.md. `data.peer-stops-reading`,
 *   `data.sha256-16mib`, `data.reused-buffer`, test/receive-backpressure.test.ts.
 * - Over a Duplex, `tls.connect` drops `onread`, and 'data' costs a fresh Buffer, a Readable push and
 *   async hooks per TLS record: the adapter sets `onread` up on the TLS socket itself (guarded
 *   internals, node-internals.ts), so every connection decrypts into one shared buffer and core copies
 *   what it keeps (`sink.borrowedData`); a client's raw socket reads into one shared buffer too
 *   (cipher-stream.ts), copied only while TLS is paused. `data.concurrent-receivers`,
 *   `server.data.concurrent-receivers`, `data.sha256-16mib`, test/node-internals.test.ts.
 * - tls.Server never hands back which Duplex a TLSSocket runs over (remoteAddress is unknown over a
 *   Duplex): listen.ts matches handshakes through the TLS socket's handle, a guarded internal.
 *   `server.*`.
 * - tls.Server waits out the handshake of a client that half-closed before finishing it (a TCP probe
 *   that connects and closes): listen.ts ends the attempt once TLS has read up to the FIN.
 *   `server.client-fin-during-handshake`, `server.starttls.*`.
 * - `resetAndDestroy()` on the raw socket while its FIN is still queued in libuv fails (EINVAL) and
 *   leaves the TCP handle open for good (Node has marked it closing): the descriptor leaks and keeps
 *   the process alive. A close() whose flush grace runs out in that window is closed like a release
 *   instead. `close.bounded.no-wait-grace-after-fin-queued`, `server.close.bounded.no-wait-grace-after-fin-queued`.
 * - Over a Duplex TLS reports the shutdown done a loop turn or more after our close_notify left
 *   (JSStreamSocket completes the write, then the shutdown, each through setImmediate): under load the
 *   peer's reply, a bare FIN, overtook the report and failed shutdown('write') although our close_notify
 *   had gone out. shutdownWrite() therefore settles as soon as `end()` put close_notify in the kernel
 *   (nothing of ours queued); behind queued output it waits for the report, and while it is in flight
 *   with nothing of ours waiting for the kernel, the peer's end is reported right after it settles, so
 *   core hears them in the order they happened. `peer-close.fin-after-our-shutdown`.
 * - Destroying the TLS socket, JSStreamSocket, the cipher stream and the raw socket queues a chain of
 *   nextTicks (0.05-0.2 ms under load), and Node drains every nextTick before any promise: the reader
 *   waiting for read() → null waited for all of it, twice (TLS destroys itself inside its 'end' once
 *   both sides are done, and core released at once). TLS's autoDestroy is off (a guarded internal,
 *   node-internals.ts), and the transport asks core to release it on the next turn
 *   (`releaseOnNextTurn`), when it destroys the sockets. core's "releases a transport that asks for
 *   it on the next turn" test, test/node-internals.test.ts, `close.waits-for-peer`,
 *   `peer-close.answers`, the leak checks of every case.
 * - A write after `end()` destroys the whole socket, read half included: core refuses such
 *   writes before they reach Node. `shutdown-write.write-after-rejects`.
 * - A TLS error in the middle of a stream emits 'error' but never closes the socket: core
 *   releases the transport on every fatal error, which destroys both sockets. `bad-peer.garbage-after-handshake`.
 * - Node auto-ends on the peer's EOF unless `allowHalfOpen`: the adapter always asks for half-open
 *   and core decides when to answer. `peer-close.half-open`, `peer-close.answers`.
 * - No handshake timeout exists natively: core's, and a server's handshake that times out
 *   destroys the raw socket, so a silent client sees its connection end. `connect.handshake-timeout`,
 *   `server.handshake-timeout.reported`, `server.handshake-timeout.drops-connection`.
 * - `net.Server.close(callback)` calls back only once every accepted connection has closed:
 *   listen.ts resolves once the listening descriptor is closed. `server.close.prompt`,
 *   `server.iteration-break.prompt`, `server.close.closes-queued`, `server.iteration-stop.closes-queued`.
 * - A connection that closes during a server handshake (a client reset) need not reach
 *   tlsClientError: the raw socket's 'close' ends the attempt at once instead of at the handshake
 *   timeout. `server.client-reset-during-handshake`.
 * - tls.Server with rejectUnauthorized drops a client it refuses (a bad certificate after the handshake,
 *   none during it) without telling the server why: listen.ts lets the handshake finish and refuses an
 *   unauthorized client itself, with the code the other runtimes give. A client without a certificate
 *   therefore completes its handshake before the connection ends (no certificate_required alert).
 *   `server.client-certificate`, `server.client-certificate.codes`, `server.starttls.client-certificate.codes`.
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
 * - STARTTLS: a server-side `new TLSSocket(socket, { isServer: true })` completes the handshake with a
 *   rogue client certificate (only tls.Server's connection listener verifies it), so an upgraded
 *   server connection reaches the listener's tls.Server as its cipher stream, like a direct accept.
 *   `server.starttls.client-certificate`.
 * - STARTTLS: TLS over a net.Socket reads what that socket still buffers as if it came from the peer.
 *   The plaintext phase (plaintext.ts) hands every chunk to core at once, so plaintext received before
 *   startTls() is core's to judge (a client's early ClientHello goes to TLS first, anything else is
 *   refused); bytes that arrive later reach TLS and fail the handshake. `starttls.injection-refused`,
 *   `server.starttls.injection-refused`, `server.starttls.early-client-hello`.
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
import type { CipherStream } from './cipher-stream.ts';
import { fromNodeError } from './errors.ts';
import { keepUntilReleased, readIntoUserBuffer } from './node-internals.ts';
import { sessionOf } from './session.ts';

/**
 * The one buffer every TLS socket decrypts into: Node calls back synchronously for each read, and
 * core copies what it keeps before the callback returns (`sink.borrowedData`).
 */
const sharedPlaintextBuffer = Buffer.allocUnsafe(64 * 1024);

export interface HandshakeTarget {
  tls: TLSSocket;
  /** The ciphertext stream TLS runs over, fed from the raw socket the adapter owns. */
  cipher: CipherStream;
  /** 'secureConnect' for a client; null for a socket tls.Server already handed over as secure. */
  secureEvent: 'secureConnect' | null;
  servername: () => string | null;
}

const TRANSPORT = Symbol('closenotify.transport');

/** A TLS socket with its transport, for the listeners every connection shares. */
type OwnedTls = TLSSocket & { [TRANSPORT]: NodeTransport };

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
  const { tls, cipher, secureEvent } = target;
  const { raw } = cipher;
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
    let transport: NodeTransport;
    try {
      keepUntilReleased(tls);
      transport = NodeTransport.listen(tls, cipher, context.sink, handshake);
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
      resolve({ transport, session: sessionOf(tls, raw, target.servername()) });
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

/**
 * One connection's sockets as a Transport. Its event listeners close over the transport alone, so
 * an open connection keeps nothing of its handshake (the attempt's closures, core's open context).
 */
class NodeTransport implements Transport {
  readonly #tls: TLSSocket;
  readonly #cipher: CipherStream;
  readonly #raw: Socket;
  readonly #sink: TransportSink;
  /** While the handshake runs, and after it failed: events end the attempt instead of reaching core. */
  #handshake: Handshake | undefined;
  #drained: Promise<void> | undefined;
  /** shutdownWrite() until it settles. */
  #shuttingDown: Promise<void> | undefined;
  /** Until the handshake is verified. */
  #onRawError: ((error: Error) => void) | undefined;

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
  ): NodeTransport {
    const transport = new NodeTransport(tls, cipher, sink, handshake);
    (tls as OwnedTls)[TRANSPORT] = transport;
    tls.on('error', NodeTransport.#onTlsError);
    // Connect errors (ECONNREFUSED...) are reported from the raw socket, in their handshake phase;
    // the cipher stream also hands every raw error on to the TLS socket.
    transport.#onRawError = (error: Error) => transport.#rawError(error);
    cipher.raw.on('error', transport.#onRawError);
    tls.on('close', NodeTransport.#onClose);
    tls.on('end', NodeTransport.#onEnd);
    // A server's TLS socket may hold plaintext that came with the handshake: it goes first.
    for (let chunk: Buffer | null = tls.read(); chunk !== null; chunk = tls.read()) sink.data(chunk);
    readIntoUserBuffer(tls, {
      buffer: sharedPlaintextBuffer,
      callback: (length, buffer) => transport.#sink.borrowedData(buffer.subarray(0, length)),
    });
    // Flowing, so that the end of the stream is emitted once TLS pushes it.
    tls.resume();
    return transport;
  }

  // Shared by every connection (a listener's `this` is the TLS socket, which points to its
  // transport): three closures and their context per idle connection cost more heap than the
  // property. docs/BENCHMARKS.md.
  static readonly #onTlsError = function (this: OwnedTls, error: Error): void {
    this[TRANSPORT].#tlsError(error);
  };
  static readonly #onClose = function (this: OwnedTls): void {
    this[TRANSPORT].#closed();
  };
  static readonly #onEnd = function (this: OwnedTls): void {
    this[TRANSPORT].#ended();
  };

  /** The handshake is verified: from here on the sockets' events go to core. */
  established(): void {
    this.#handshake = undefined;
    // Raw errors matter only to the handshake; the cipher stream passes later ones on to TLS.
    if (this.#onRawError) this.#raw.off('error', this.#onRawError);
    this.#onRawError = undefined;
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
    const raw = this.#raw;
    const shuttingDown = new Promise<void>((resolve, reject) => {
      // Deferred: end() inside a read callback loses the records Node already buffered. It also
      // leaves a caller that sees the peer's end a turn to answer it otherwise (abort()) before
      // core's automatic close_notify goes out.
      setImmediate(() => {
        if (tls.destroyed) {
          reject(fromNodeError(new Error('The socket closed before close_notify could be sent'), 'shutdown'));
          return;
        }
        const finished = (): void => {
          tls.off('finish', finished);
          tls.off('close', closedFirst);
          resolve();
        };
        const closedFirst = (): void => {
          tls.off('finish', finished);
          reject(fromNodeError(new Error('The socket closed before close_notify was sent'), 'shutdown'));
        };
        tls.once('finish', finished);
        tls.once('close', closedFirst);
        const sentBefore = raw.bytesWritten;
        tls.end();
        // With nothing of ours queued, end() writes close_notify through the cipher stream at once.
        // Once the raw socket has handed it to the kernel it is gone, and the FIN is on its way:
        // JSStreamSocket ends the cipher stream, which ends the raw socket, a loop turn later. TLS
        // reports 'finish' only after those turns and the teardown they start, often after the
        // peer's reply arrived: waiting for it put all of that on the close path (docs/BENCHMARKS.md).
        if (raw.bytesWritten > sentBefore && raw.writableLength === 0) finished();
      });
    });
    this.#shuttingDown = shuttingDown;
    const settled = (): void => {
      this.#shuttingDown = undefined;
    };
    shuttingDown.then(settled, settled);
    return shuttingDown;
  }

  pause(): void {
    this.#tls.pause();
  }

  resume(): void {
    this.#tls.resume();
  }

  reset(): void {
    const raw = this.#raw;
    // The cipher stream's end() has queued the raw socket's FIN (writableFinished is still false):
    // libuv refuses a reset until that FIN is out (EINVAL), and Node then never closes the handle,
    // whose descriptor leaks and keeps the process alive. Nothing of ours is left to cut off there,
    // so the connection is closed like a release.
    if (raw.writableEnded && raw.writableLength === 0 && !raw.writableFinished) {
      destroyBoth(this.#tls, raw);
      return;
    }
    // The RST goes out on the raw handle; its 'close' destroys the cipher stream and the TLS socket.
    if (raw.destroyed) this.#tls.destroy();
    else raw.resetAndDestroy();
  }

  release(): void {
    destroyBoth(this.#tls, this.#raw);
  }

  /** See the header: destroying four streams queues nextTicks that Node runs before any promise. */
  get releaseOnNextTurn(): boolean {
    return true;
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
    if (this.#handshake) return;
    const closeNotify = this.#cipher.closeNotifyReceived();
    const shuttingDown = this.#shuttingDown;
    // Our close_notify (or what precedes it) waits only for JSStreamSocket's loop turns, not for the
    // peer: the shutdown settles first, and core takes it before the end (reactions run in the order
    // they were registered, and core's came with the call). Output stuck behind a peer that stopped
    // reading could wait forever: the end is not held for it.
    if (shuttingDown && this.#tls.writableLength === 0 && !this.#raw.writableNeedDrain) {
      const report = (): void => this.#sink.end(closeNotify);
      shuttingDown.then(report, report);
      return;
    }
    this.#sink.end(closeNotify);
  }
}
