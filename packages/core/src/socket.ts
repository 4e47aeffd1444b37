/**
 * The lifecycle engine: one `SecureSocket` per connection, the same on every runtime. It owns the
 * state and the close choreography (close_notify ordering, the timers, the close report), the
 * handshake and the STARTTLS hand-over; its read side (read-side.ts) and write side (write-side.ts)
 * keep the queues. An adapter only supplies a Transport and reports runtime events through the
 * TransportSink.
 */
import { assertSupported } from './connect.ts';
import { CLOSE_FLUSH_GRACE_MS, DEFAULT_CLOSE_TIMEOUT_MS, MAX_TIMEOUT_MS } from './constants.ts';
import { Deferred, ignore, LazyDeferred, RESOLVED, rejected } from './deferred.ts';
import { socketClosed, socketOpened } from './diagnostics.ts';
import { type ErrorPhase, isSecureSocketError, SecureSocketError } from './errors.ts';
import { errorCodeForNative } from './native-codes.ts';
import {
  type ResolvedConnectOptions,
  type ResolvedSocketOptions,
  resolveStartTlsOptions,
} from './options.ts';
import { type Pacer, ReadSide } from './read-side.ts';
import { upgradeRefusal } from './starttls.ts';
import { nextState, type SocketEvent } from './state.ts';
import type {
  OpenContext,
  OpenedTransport,
  OpenTransport,
  Transport,
  TransportSink,
  UpgradeTransport,
} from './transport.ts';
import type {
  Capabilities,
  CloseInitiator,
  CloseReport,
  SessionInfo,
  ShutdownableSecureSocket,
  ShutdownHow,
  SocketState,
  StartTlsOptions,
} from './types.ts';
import { type WriteHost, WriteSide } from './write-side.ts';

const encoder = new TextEncoder();

/** Which side of the connection a socket is, and whether it starts in plaintext (STARTTLS). */
export interface SocketMode {
  readonly role: 'client' | 'server';
  readonly plaintext: boolean;
}

const MODES: readonly SocketMode[] = [
  { role: 'client', plaintext: false },
  { role: 'client', plaintext: true },
  { role: 'server', plaintext: false },
  { role: 'server', plaintext: true },
].map((mode) => Object.freeze(mode as SocketMode));

/** The mode, shared by every socket that has it (not one more object per connection). */
export function socketMode(role: SocketMode['role'], plaintext: boolean): SocketMode {
  return MODES[(role === 'server' ? 2 : 0) + (plaintext ? 1 : 0)]!;
}

/**
 * Who keeps count of a server's sockets, told directly rather than through promises: two waiting
 * promises and their reactions per accepted connection would cost more heap than the socket itself.
 */
export interface SocketOwner {
  /** `socket` closed; its `closed` resolves with the report. */
  socketClosed(socket: SecureSocket): void;
  /** The connection is over: the socket closed and, when startTls() handed it on, the socket it became closed too. */
  connectionClosed(): void;
}

/**
 * How establish() starts: a client's connect, a server's accepted connection (TCP is up), or the
 * handshake of startTls() over a connection a plaintext socket handed over.
 */
export type EstablishStart = 'connect' | 'accept' | 'upgrade';

/** Wraps anything thrown at core into a SecureSocketError, keeping it as the cause. */
export function toSecureSocketError(cause: unknown, phase: ErrorPhase): SecureSocketError {
  if (isSecureSocketError(cause)) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = errorCodeForNative((cause as { code?: unknown } | null)?.code, phase) ?? 'ERR_SOCKET_CLOSED';
  return new SecureSocketError(code, `The socket failed: ${message}`, { phase, cause });
}

/**
 * Lets go of a transport on a closing path. What a runtime throws there must not keep `closed`
 * pending or reach the caller of abort() or an adapter's event handler: it is returned to be kept.
 */
function letGo(transport: Transport | undefined, how: 'release' | 'reset'): SecureSocketError | undefined {
  try {
    transport?.[how]();
    return undefined;
  } catch (cause) {
    return toSecureSocketError(cause, 'close');
  }
}

// Node, Bun and Deno all have it; core's own types name no runtime.
declare function setImmediate(task: () => void): unknown;

/** Why `into` cannot be read into (read(into)), or undefined when it can. */
function readBufferRefusal(into: unknown): SecureSocketError | undefined {
  if (!(into instanceof Uint8Array)) {
    return new SecureSocketError('ERR_INVALID_ARGUMENT', 'read(into) takes a Uint8Array', { phase: 'read' });
  }
  if (into.byteLength === 0) {
    // A view of a transferred (detached) buffer has no bytes left either.
    return new SecureSocketError(
      'ERR_INVALID_ARGUMENT',
      'read(into) needs room for at least one byte: the buffer is empty or was transferred',
      { phase: 'read' },
    );
  }
  return undefined;
}

/**
 * A byte stream's enqueue() transfers the chunk's whole ArrayBuffer. A chunk that is all of its
 * buffer is core's alone and goes as it is; a view of a larger buffer (the rest of a chunk a
 * read(into) took in part, or a runtime's shared pool) is copied, so nothing else loses its memory.
 */
function transferable(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = chunk;
  const whole = chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength;
  return whole && buffer instanceof ArrayBuffer ? (chunk as Uint8Array<ArrayBuffer>) : copyOf(chunk);
}

/** A copy in a buffer of its own. Not slice(): a Node or Bun Buffer's slice() is a view, not a copy. */
function copyOf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** What an open socket reads of its options. */
type OpenSocketOptions = Pick<
  ResolvedSocketOptions,
  'allowHalfOpen' | 'truncation' | 'closeTimeoutMs' | 'idleTimeoutMs'
>;

const DEFAULT_OPEN_OPTIONS: OpenSocketOptions = Object.freeze({
  allowHalfOpen: false,
  truncation: 'error',
  closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS,
  idleTimeoutMs: 0,
});

/**
 * What an open TLS socket keeps of its options: one shared object when they are the defaults (most
 * connections), rather than each connection keeping its whole resolved options (about 200 bytes).
 */
function openOptionsOf(options: ResolvedSocketOptions): OpenSocketOptions {
  const defaults = DEFAULT_OPEN_OPTIONS;
  const isDefault =
    options.allowHalfOpen === defaults.allowHalfOpen &&
    options.truncation === defaults.truncation &&
    options.closeTimeoutMs === defaults.closeTimeoutMs &&
    options.idleTimeoutMs === defaults.idleTimeoutMs;
  return isDefault ? defaults : options;
}

/** SecureSocket's handlers for what its adapter reports; set once, by its static block. */
let reportTo: {
  [Event in Exclude<keyof TransportSink, 'data' | 'borrowedData'>]: (
    socket: SecureSocket,
    ...args: Parameters<TransportSink[Event]>
  ) => void;
} & { data(socket: SecureSocket, chunk: Uint8Array, borrowed: boolean): boolean };

/** SecureSocket's handlers for its read and write sides; set once, by its static block. */
let hooksOf: {
  pause(socket: SecureSocket): void;
  resume(socket: SecureSocket): void;
  writeTransport(socket: SecureSocket): Transport | undefined;
  touch(socket: SecureSocket): void;
  writeFailed(socket: SecureSocket, cause: unknown): SecureSocketError;
  drained(socket: SecureSocket): void;
};

/**
 * One small object per socket whose methods every socket shares (closures per socket would cost
 * more heap than most of the socket's own state): the adapter's view of the socket (a TransportSink)
 * and what the read and write sides call back into. The adapter only sees the TransportSink type.
 */
class SocketSink implements TransportSink, Pacer, WriteHost {
  readonly #socket: SecureSocket;

  constructor(socket: SecureSocket) {
    this.#socket = socket;
  }

  data(chunk: Uint8Array): boolean {
    return reportTo.data(this.#socket, chunk, false);
  }

  borrowedData(view: Uint8Array): void {
    reportTo.data(this.#socket, view, true);
  }

  end(closeNotify: boolean | null): void {
    reportTo.end(this.#socket, closeNotify);
  }

  error(error: SecureSocketError): void {
    reportTo.error(this.#socket, error);
  }

  closed(): void {
    reportTo.closed(this.#socket);
  }

  pause(): void {
    hooksOf.pause(this.#socket);
  }

  resume(): void {
    hooksOf.resume(this.#socket);
  }

  writeTransport(): Transport | undefined {
    return hooksOf.writeTransport(this.#socket);
  }

  touch(): void {
    hooksOf.touch(this.#socket);
  }

  writeFailed(cause: unknown): SecureSocketError {
    return hooksOf.writeFailed(this.#socket, cause);
  }

  drained(): void {
    hooksOf.drained(this.#socket);
  }
}

export class SecureSocket implements ShutdownableSecureSocket {
  readonly capabilities: Capabilities;

  #state: SocketState = 'connecting';
  #options: OpenSocketOptions;
  /** Every option: kept while establishing and, on a plaintext socket, for startTls(). */
  #resolved: ResolvedSocketOptions | undefined;
  readonly #mode: SocketMode;
  readonly #startedAt = performance.now();
  #transport: Transport | undefined;
  readonly #opened = new LazyDeferred<SessionInfo>();
  readonly #closed = new LazyDeferred<CloseReport>();
  readonly #owner: SocketOwner | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** The adapter's view of this socket, and its read and write sides' way back into it. */
  readonly #sink = new SocketSink(this);
  readonly #reading = new ReadSide(this.#sink);
  readonly #writing = new WriteSide(this.#sink);
  #readShutLocally = false;

  // Close choreography.
  #writeShutdown: Deferred<void> | undefined;
  #writeShutdownStarted = false;
  #closeNotifySent = false;

  // Peer and close bookkeeping.
  #peerEnded = false;
  #closeNotifyReceived: boolean | null = false;
  #truncated: boolean | null = false;
  #firstToShut: 'local' | 'peer' | undefined;
  #initiator: CloseInitiator | undefined;
  #error: SecureSocketError | undefined;
  /** What the transport threw when it was let go; the report's error when nothing else went wrong. */
  #letGoError: SecureSocketError | undefined;
  #closeCall: Promise<CloseReport> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastActivity = 0;
  #signalCleanup: (() => void) | undefined;
  /** A peer end reported before the transport was attached (undefined: none). */
  #endBeforeAttach: boolean | null | undefined;
  /** Set while establish() runs: the socket ending (abort, fatal error) ends the attempt at once. */
  #abandonEstablish: ((error: SecureSocketError) => void) | undefined;
  /** close() with a timeout waits for the peer's close_notify; close({ timeoutMs: 0 }) does not. */
  #closeWaitsForPeer = true;

  // STARTTLS (plaintext sockets only).
  /** The adapter's handshake over this plaintext connection. */
  #upgrade: UpgradeTransport | undefined;
  /** startTls() was called: every method rejects with this, and the connection is no longer ours. */
  #detached: SecureSocketError | undefined;
  /** The connection went on in the socket startTls() returned. */
  #upgraded = false;

  static {
    reportTo = {
      data: (socket, chunk, borrowed) => socket.#receive(chunk, borrowed),
      end: (socket, closeNotify) => socket.#peerEnd(closeNotify),
      error: (socket, error) => socket.#fail(error),
      closed: (socket) => socket.#transportClosed(),
    };
    hooksOf = {
      pause: (socket) => socket.#pace('pause'),
      resume: (socket) => socket.#pace('resume'),
      writeTransport: (socket) => (socket.#state === 'closed' ? undefined : socket.#transport),
      touch: (socket) => socket.#touch(),
      writeFailed: (socket, cause) => {
        const error = toSecureSocketError(cause, 'write');
        socket.#fail(error);
        return error;
      },
      drained: (socket) => {
        if (socket.#writeShutdown) socket.#sendCloseNotify();
      },
    };
  }

  constructor(
    options: ResolvedSocketOptions,
    capabilities: Capabilities,
    mode: SocketMode,
    owner?: SocketOwner,
  ) {
    this.#options = options;
    this.#resolved = options;
    this.#mode = mode;
    this.#owner = owner;
    this.capabilities = capabilities;
    socketOpened();
  }

  get state(): SocketState {
    return this.#state;
  }

  get opened(): Promise<SessionInfo> {
    return this.#opened.promise;
  }

  get closed(): Promise<CloseReport> {
    return this.#closed.promise;
  }

  get readable(): ReadableStream<Uint8Array> {
    // A byte stream, so that getReader({ mode: 'byob' }) reads into the caller's buffer. No
    // autoAllocateChunkSize: a default reader gets the chunks as they came, without a copy.
    this.#readable ??= new ReadableStream(
      {
        type: 'bytes',
        pull: (controller) => this.#pull(controller),
        cancel: () => this.shutdown('read'),
      },
      { highWaterMark: 0 },
    );
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.shutdown('write'),
      abort: (reason) => this.abort(reason),
    });
    return this.#writable;
  }

  // ---- reading -------------------------------------------------------------------------------

  read(into?: Uint8Array): Promise<Uint8Array | null> {
    if (into !== undefined) {
      const refusal = readBufferRefusal(into);
      if (refusal) return rejected(refusal);
    }
    // Before the queue: what a detached socket still holds is judged by startTls(), never read.
    if (this.#detached) return rejected(this.#detached);
    return this.#reading.read(into);
  }

  /**
   * One pull of `readable`. Every byte goes through enqueue(), never by answering a BYOB request in
   * place: a request can outlive its reader (released while its read waited), and the bytes that
   * answer it are then queued where a waiting default reader never gets them (Node 20, Bun 1.4.5 and
   * Deno 2.9.6 alike), while enqueue() reaches whichever reader waits. For a BYOB read the stream
   * copies into the reader's buffer; it is offered no more than fits (the rest stays in core's queue,
   * so read() after a reader is released misses nothing). Bytes already queued go at once, without a
   * promise.
   */
  #pull(controller: ReadableByteStreamController): Promise<void> | undefined {
    const room = controller.byobRequest?.view?.byteLength;
    const queued = this.#detached ? undefined : this.#reading.takeChunk(room);
    if (queued === undefined) return this.read().then((chunk) => this.#deliverLate(controller, chunk, room));
    controller.enqueue(transferable(queued));
    return undefined;
  }

  /** `room`: the size of the BYOB request that started the pull, if any. */
  #deliverLate(
    controller: ReadableByteStreamController,
    chunk: Uint8Array | null,
    room: number | undefined,
  ): void {
    if (chunk === null) {
      controller.close();
      // A BYOB read waiting at the end completes (done) only once its request is answered, empty.
      controller.byobRequest?.respond(0);
      return;
    }
    if (room !== undefined && room < chunk.byteLength) {
      this.#reading.giveBack(chunk.subarray(room));
      controller.enqueue(copyOf(chunk.subarray(0, room)));
      return;
    }
    controller.enqueue(transferable(chunk));
  }

  /** Whether the chunk itself was kept (see TransportSink.data). */
  #receive(chunk: Uint8Array, borrowed: boolean): boolean {
    if (this.#state === 'closed') return false;
    this.#touch();
    return this.#reading.receive(chunk, borrowed, this.#transport !== undefined);
  }

  // A transport that throws on pause or resume can no longer pace the peer: that is a fatal error.
  #pace(how: 'pause' | 'resume'): void {
    try {
      this.#transport?.[how]();
    } catch (cause) {
      this.#fail(toSecureSocketError(cause, 'read'));
    }
  }

  #peerEnd(closeNotify: boolean | null): void {
    if (this.#state === 'closed' || this.#peerEnded) return;
    if (this.#state === 'connecting' || this.#state === 'handshaking') {
      // An adapter may already read between its handshake and core attaching the transport (a peer
      // that sends close_notify at once): kept for #attach. Had the handshake failed, open() rejects.
      this.#endBeforeAttach = closeNotify;
      return;
    }
    this.#peerEnded = true;
    this.#firstToShut ??= 'peer';
    // Plain TCP has no close_notify: its FIN is the clean end, never a truncation.
    const verdict = this.#mode.plaintext ? true : closeNotify;
    this.#closeNotifyReceived = this.#mode.plaintext ? false : closeNotify;
    this.#truncated = verdict === null ? null : !verdict;
    if (verdict === false && this.#options.truncation === 'error' && !this.#reading.done) {
      this.#fail(
        new SecureSocketError(
          'ERR_TLS_TRUNCATED',
          'The peer ended the connection without close_notify: the data may be truncated',
          { phase: 'read' },
        ),
      );
      return;
    }
    this.#apply('peerEnded');
    this.#reading.finish(false);
    if (!this.#options.allowHalfOpen) this.#shutdownWrite();
    this.#releaseWhenDone();
  }

  // ---- writing -------------------------------------------------------------------------------

  write(data: Uint8Array | string): Promise<void> {
    const chunk = typeof data === 'string' ? encoder.encode(data) : data;
    if (!(chunk instanceof Uint8Array)) {
      return rejected(
        new SecureSocketError('ERR_INVALID_OPTION', 'write() takes a Uint8Array or a string', {
          phase: 'write',
        }),
      );
    }
    const refusal = this.#writeRefusal();
    if (refusal) return rejected(refusal);
    return this.#writing.write(chunk);
  }

  #writeRefusal(): SecureSocketError | undefined {
    if (this.#detached) return this.#detached;
    if (this.#error) return this.#error;
    if (this.#writeShutdown) {
      return new SecureSocketError(
        'ERR_WRITE_AFTER_SHUTDOWN',
        "write() after shutdown('write'): our close_notify is already queued",
        { phase: 'write' },
      );
    }
    if (this.#state === 'closed' || !this.#transport) return this.#closedError('write');
    return undefined;
  }

  // ---- shutdown and close --------------------------------------------------------------------

  shutdown(how: ShutdownHow): Promise<void> {
    if (this.#detached) return rejected(this.#detached);
    switch (how) {
      case 'read':
        this.#shutdownRead();
        return RESOLVED;
      case 'write':
        return this.#shutdownWrite();
      case 'both':
        this.#shutdownRead();
        return this.#shutdownWrite();
      default:
        return rejected(
          new SecureSocketError(
            'ERR_INVALID_OPTION',
            `shutdown() takes 'read', 'write' or 'both', got ${String(how)}`,
            { phase: 'shutdown' },
          ),
        );
    }
  }

  #shutdownRead(): void {
    if (this.#readShutLocally || this.#state === 'closed') return;
    this.#readShutLocally = true;
    this.#firstToShut ??= 'local';
    this.#apply('readShutdown');
    this.#reading.finish(true);
    this.#releaseWhenDone();
  }

  #shutdownWrite(): Promise<void> {
    if (this.#writeShutdown) return this.#writeShutdown.promise;
    this.#writeShutdown = new Deferred<void>();
    if (this.#state === 'closed') {
      if (this.#closeNotifySent) this.#writeShutdown.resolve();
      else this.#writeShutdown.reject(this.#closedError('shutdown'));
    } else {
      this.#firstToShut ??= 'local';
      this.#apply('writeShutdown');
      this.#writing.pump();
    }
    return this.#writeShutdown.promise;
  }

  #sendCloseNotify(): void {
    if (this.#writeShutdownStarted || !this.#transport) return;
    this.#writeShutdownStarted = true;
    const done = this.#writeShutdown!;
    const sent = (): void => {
      // After a close timeout reset the transport, its late word changes nothing.
      if (this.#state === 'closed') return;
      this.#closeNotifySent = true;
      done.resolve();
      this.#releaseWhenDone();
    };
    let pending: Promise<void> | undefined;
    try {
      pending = this.#transport.shutdownWrite();
    } catch (cause) {
      this.#shutdownFailed(cause);
      return;
    }
    if (pending === undefined) sent();
    else pending.then(sent, (cause: unknown) => this.#shutdownFailed(cause));
  }

  #shutdownFailed(cause: unknown): void {
    const error = toSecureSocketError(cause, 'shutdown');
    this.#writeShutdown?.reject(error);
    this.#fail(error);
  }

  close(options?: { timeoutMs?: number }): Promise<CloseReport> {
    const timeoutMs = options?.timeoutMs ?? this.#options.closeTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return rejected(
        new SecureSocketError(
          'ERR_INVALID_OPTION',
          `Invalid option "timeoutMs": expected a finite number of milliseconds, at least 0, got ${String(timeoutMs)}`,
          { phase: 'close' },
        ),
      );
    }
    // A detached socket has nothing left to close; its report says where the connection went.
    if (this.#detached) return this.closed;
    this.#closeCall ??= this.#beginClose(timeoutMs);
    return this.#closeCall;
  }

  #beginClose(timeoutMs: number): Promise<CloseReport> {
    if (this.#state === 'closed') return this.closed;
    this.#firstToShut ??= 'local';
    this.#apply('closeStarted');
    this.#clearIdleTimer();
    this.#closeWaitsForPeer = timeoutMs > 0;
    // contract v2: close() is bounded. Even when it does not wait for the peer, the timer bounds
    // flushing what write() accepted and handing over our close_notify. Armed before anything below
    // can end the socket, so that #finish clears it.
    const bound = Math.min(Math.max(timeoutMs, CLOSE_FLUSH_GRACE_MS), MAX_TIMEOUT_MS);
    this.#closeTimer = setTimeout(() => this.#closeTimedOut(bound), bound);
    this.#shutdownRead();
    this.#shutdownWrite();
    this.#releaseWhenDone();
    return this.closed;
  }

  #closeTimedOut(afterMs: number): void {
    this.#closeTimer = undefined;
    this.#initiator ??= 'timeout';
    if (!this.#writesPending()) {
      this.#release();
      return;
    }
    // Our close_notify is still queued behind output the peer does not take. A FIN now would make the
    // missing bytes look like a clean end or a truncation to the peer; a reset says the exchange failed.
    this.#error ??= new SecureSocketError(
      'ERR_CLOSE_TIMEOUT',
      `close() gave up after ${afterMs} ms: accepted bytes and our close_notify were still queued (the peer was not taking them), so the connection was reset`,
      { phase: 'close' },
    );
    const error = this.#error;
    const transport = this.#transport;
    this.#apply('failed');
    this.#rejectWrites(error);
    this.#letGoError ??= letGo(transport, 'reset');
    this.#finish();
  }

  /** Releases the transport once both directions are done (or close() does not wait for the peer). */
  #releaseWhenDone(): void {
    if (this.#state !== 'closing') return;
    if (this.#closeNotifySent && (this.#peerEnded || !this.#closeWaitsForPeer)) this.#release();
  }

  // abort, #fail and #release move to `closed` before they touch the transport: a runtime that
  // reports events synchronously from inside reset() or release() then finds the socket closed.
  #release(): void {
    if (this.#state === 'closed') return;
    const transport = this.#transport;
    this.#transport = undefined;
    this.#apply('released');
    // Built only when a write still waits: an Error captures a stack, which a clean close never needs.
    if (this.#writesPending()) this.#rejectWrites(this.#closedError('write'));
    this.#stopTimers();
    const letGoAndFinish = (): void => {
      this.#letGoError ??= letGo(transport, 'release');
      this.#finish();
    };
    // The reads that ended just now resume first; a costly teardown runs on the next turn.
    if (transport?.releaseOnNextTurn) setImmediate(letGoAndFinish);
    else letGoAndFinish();
  }

  abort(reason?: unknown): void {
    // Once startTls() handed the connection over this socket is closed, and aborting it touches nothing.
    if (this.#state === 'closed') return;
    const error = new SecureSocketError('ERR_ABORTED', 'The socket was aborted', {
      phase: this.#phase(),
      cause: reason,
    });
    this.#error = error;
    this.#initiator = 'abort';
    this.#reading.error = error;
    const transport = this.#transport;
    this.#apply('aborted');
    this.#reading.finish(true);
    this.#rejectWrites(error);
    this.#letGoError ??= letGo(transport, 'reset');
    this.#finish();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- STARTTLS ------------------------------------------------------------------------------

  startTls(options?: StartTlsOptions): Promise<ShutdownableSecureSocket> {
    if (this.#detached) return rejected(this.#detached);
    if (!this.#mode.plaintext) {
      return rejected(
        new SecureSocketError(
          'ERR_UNSUPPORTED',
          "startTls() upgrades plaintext sockets only (secureTransport: 'starttls')",
          { phase: 'handshake' },
        ),
      );
    }
    if (this.#state !== 'plaintext' || !this.#upgrade) {
      return rejected(
        this.#error ??
          new SecureSocketError('ERR_SOCKET_CLOSED', 'startTls() needs an open plaintext connection', {
            phase: 'handshake',
          }),
      );
    }
    let upgradeOptions: ResolvedSocketOptions;
    try {
      upgradeOptions = resolveStartTlsOptions(this.#resolved!, options, this.#mode.role);
      if (this.#mode.role === 'client')
        assertSupported(upgradeOptions as ResolvedConnectOptions, this.capabilities);
    } catch (cause) {
      return rejected(toSecureSocketError(cause, 'handshake'));
    }
    // Detached from here on: nothing more is handed to this socket's reader, and writes are refused.
    this.#detached = new SecureSocketError(
      'ERR_SOCKET_DETACHED',
      'startTls() took this connection: use the socket it returned',
      { phase: this.#phase() },
    );
    this.#clearIdleTimer();
    this.#reading.rejectWaiting(this.#detached);
    return this.#handOver(upgradeOptions, this.#upgrade);
  }

  async #handOver(
    options: ResolvedSocketOptions,
    upgrade: UpgradeTransport,
  ): Promise<ShutdownableSecureSocket> {
    // What write() accepted goes out first, in plaintext: usually the STARTTLS request itself.
    await this.#writesFlushed(options.handshakeTimeoutMs);
    if (this.#state !== 'plaintext') {
      const error =
        this.#error ??
        new SecureSocketError(
          'ERR_SOCKET_CLOSED',
          'The connection ended before the TLS handshake could start',
          {
            phase: 'handshake',
          },
        );
      this.#fail(error);
      throw error;
    }
    const unread = this.#reading.takeUnread();
    const refusal = upgradeRefusal(this.#mode.role, unread);
    if (refusal) {
      this.#reading.bytesDiscarded += unread?.byteLength ?? 0;
      this.#fail(refusal, 'reset');
      throw refusal;
    }
    // TLS reads the connection from here on; a paused plaintext reader must not hold it back.
    if (this.#reading.paused) this.#reading.resume();
    this.#transport = undefined;
    this.#upgraded = true;
    this.#apply('upgraded');
    this.#finish();
    // The connection lives on in the new socket: its owner counts it there.
    const secure = new SecureSocket(
      options,
      this.capabilities,
      socketMode(this.#mode.role, false),
      this.#owner,
    );
    const client = this.#mode.role === 'client';
    return secure.establish(
      (context) =>
        upgrade(context, {
          options: client ? (options as ResolvedConnectOptions) : undefined,
          received: client ? undefined : unread,
        }),
      'upgrade',
    );
  }

  /** Until every accepted write was taken; a peer that takes nothing fails the upgrade at its timeout. */
  async #writesFlushed(limitMs: number): Promise<void> {
    if (!this.#writesPending()) return;
    const timer =
      limitMs > 0
        ? setTimeout(() => {
            const error = new SecureSocketError(
              'ERR_HANDSHAKE_TIMEOUT',
              `startTls(): the bytes written before it were not taken within ${limitMs} ms`,
              { phase: 'handshake' },
            );
            this.#fail(error, 'reset');
          }, limitMs)
        : undefined;
    try {
      for (;;) {
        const waiting = this.#writing.last;
        if (waiting === undefined || this.#state === 'closed') return;
        await waiting.catch(ignore);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- failure and the end -------------------------------------------------------------------

  #fail(error: SecureSocketError, letGoBy: 'release' | 'reset' = 'release'): void {
    if (this.#state === 'closed') return;
    this.#error = error;
    this.#initiator ??= 'error';
    const transport = this.#transport;
    this.#apply('failed');
    if (!this.#reading.done) {
      this.#reading.error = error;
      this.#reading.finish(false);
    }
    this.#rejectWrites(error);
    this.#letGoError ??= letGo(transport, letGoBy);
    this.#finish();
  }

  #transportClosed(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'closing' && this.#peerEnded) {
      this.#release();
      return;
    }
    this.#fail(
      new SecureSocketError('ERR_SOCKET_CLOSED', 'The runtime closed the connection unexpectedly', {
        phase: this.#phase(),
      }),
    );
  }

  #writesPending(): boolean {
    return this.#writing.pending || (this.#writeShutdown !== undefined && !this.#closeNotifySent);
  }

  #rejectWrites(error: SecureSocketError): void {
    this.#writing.rejectAll(error);
    if (this.#writeShutdown && !this.#closeNotifySent) this.#writeShutdown.reject(error);
  }

  #closedError(phase: ErrorPhase): SecureSocketError {
    return this.#error ?? new SecureSocketError('ERR_SOCKET_CLOSED', 'The socket is closed', { phase });
  }

  #stopTimers(): void {
    this.#clearIdleTimer();
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
  }

  #finish(): void {
    this.#stopTimers();
    this.#signalCleanup?.();
    this.#signalCleanup = undefined;
    this.#transport = undefined;
    socketClosed();
    this.#abandonEstablish?.(this.#closedError('handshake'));
    if (this.#error) this.#opened.reject(this.#error);
    const report: CloseReport = {
      initiator: this.#initiator ?? this.#firstToShut ?? 'local',
      // A plaintext socket's write side ends with a bare FIN.
      closeNotifySent: this.#closeNotifySent && !this.#mode.plaintext,
      closeNotifyReceived: this.#closeNotifyReceived,
      truncated: this.#truncated,
      bytesRead: this.#reading.bytesRead,
      bytesWritten: this.#writing.bytesWritten,
      bytesDiscarded: this.#reading.bytesDiscarded,
      durationMs: performance.now() - this.#startedAt,
    };
    // The socket's own error stays the report's: reads and writes already rejected with it.
    const error = this.#error ?? this.#letGoError;
    if (error) report.error = error;
    if (this.#upgraded) report.upgraded = true;
    this.#closed.resolve(report);
    this.#owner?.socketClosed(this);
    if (!this.#upgraded) this.#owner?.connectionClosed();
  }

  #apply(event: SocketEvent): void {
    this.#state = nextState(this.#state, event);
  }

  #phase(): ErrorPhase {
    switch (this.#state) {
      case 'connecting':
        return 'connect';
      case 'handshaking':
        return 'handshake';
      case 'closing':
      case 'closed':
        return 'close';
      default:
        return 'read';
    }
  }

  // ---- idle timer ----------------------------------------------------------------------------

  #touch(): void {
    if (this.#idleTimer !== undefined) this.#lastActivity = performance.now();
  }

  #armIdleTimer(delayMs: number): void {
    this.#idleTimer = setTimeout(() => {
      // One timer per socket, re-armed lazily: resetting a timer on every chunk would cost more than the chunk.
      const idleFor = performance.now() - this.#lastActivity;
      const limit = this.#options.idleTimeoutMs;
      if (idleFor + 1 < limit) {
        this.#armIdleTimer(limit - idleFor);
        return;
      }
      this.#idleTimer = undefined;
      this.#initiator ??= 'idle';
      // contract v2: a reader sees the idle timeout (as Go's deadline errors), never a clean end that
      // a read-until-EOF protocol would take for a complete response; later writes get it too.
      const error = new SecureSocketError(
        'ERR_IDLE_TIMEOUT',
        `No byte was read or written for ${limit} ms: the idle timeout closed the socket`,
        { phase: 'read' },
      );
      this.#error ??= error;
      if (!this.#reading.done) this.#reading.error = error;
      this.close();
    }, delayMs);
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  // ---- establishing (used by connectWith / listenWith) ---------------------------------------

  /** Runs the adapter's open() under the handshake timeout and the caller's signal. */
  async establish(open: OpenTransport, start: EstablishStart): Promise<this> {
    const { handshakeTimeoutMs, signal } = this.#resolved!;
    if (start === 'accept') this.#apply(this.#mode.plaintext ? 'connectedPlaintext' : 'connected');
    if (start === 'upgrade') {
      this.#apply('connectedPlaintext');
      this.#apply('startTls');
    }
    if (signal?.aborted) {
      const error = this.#abortedBySignal(signal);
      this.#fail(error);
      throw error;
    }
    const controller = new AbortController();
    const gaveUp = new Deferred<never>();
    const giveUp = (error: SecureSocketError): void => {
      gaveUp.reject(error);
      controller.abort(error);
    };
    this.#abandonEstablish = giveUp;
    const onAbort = (): void => giveUp(this.#abortedBySignal(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      handshakeTimeoutMs > 0
        ? setTimeout(() => giveUp(this.#handshakeTimeout(handshakeTimeoutMs)), handshakeTimeoutMs)
        : undefined;
    const context = this.#openContext(controller.signal);
    let attempt: Promise<OpenedTransport>;
    try {
      attempt = Promise.resolve(open(context));
    } catch (cause) {
      attempt = Promise.reject(cause);
    }
    try {
      const opened = await Promise.race([attempt, gaveUp.promise]);
      if (this.#state === 'closed') {
        letGo(opened.transport, 'release');
        throw this.#closedError('handshake');
      }
      this.#attach(opened);
      return this;
    } catch (cause) {
      const error = toSecureSocketError(cause, this.#phase());
      controller.abort(error);
      // A handshake that completes after we gave up must not leak its socket.
      attempt.then((late) => letGo(late.transport, 'reset'), ignore);
      this.#fail(error);
      throw error;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#abandonEstablish = undefined;
    }
  }

  /**
   * What the adapter gets to open with. Built outside establish(), so that an adapter keeping it
   * for the connection's life does not keep establish()'s timer, controller and closures too.
   */
  #openContext(signal: AbortSignal): OpenContext {
    return {
      sink: this.#sink,
      signal,
      connected: () => {
        // A plaintext socket has no handshake: it is open (plaintext) once attached.
        if (this.#state === 'connecting' && !this.#mode.plaintext) this.#apply('connected');
      },
    };
  }

  #attach({ transport, session, upgrade }: OpenedTransport): void {
    this.#transport = transport;
    if (this.#mode.plaintext) {
      this.#upgrade = upgrade;
      if (this.#state === 'connecting') this.#apply('connectedPlaintext');
    } else {
      if (this.#state === 'connecting') this.#apply('connected');
      this.#apply('handshakeComplete');
    }
    this.#opened.resolve(session);
    if (this.#reading.paused) this.#reading.pause();
    const { signal, idleTimeoutMs } = this.#resolved!;
    if (!this.#mode.plaintext) {
      this.#options = openOptionsOf(this.#resolved!);
      this.#resolved = undefined;
    }
    if (signal) {
      const onAbort = (): void => this.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#signalCleanup = () => signal.removeEventListener('abort', onAbort);
    }
    if (idleTimeoutMs > 0) {
      this.#lastActivity = performance.now();
      this.#armIdleTimer(idleTimeoutMs);
    }
    if (this.#endBeforeAttach !== undefined) this.#peerEnd(this.#endBeforeAttach);
  }

  #abortedBySignal(signal: AbortSignal): SecureSocketError {
    return new SecureSocketError('ERR_ABORTED', 'connect() was aborted by its signal', {
      phase: this.#phase(),
      cause: signal.reason,
    });
  }

  #handshakeTimeout(ms: number): SecureSocketError {
    return this.#state === 'connecting'
      ? new SecureSocketError('ERR_CONNECT_TIMEOUT', `TCP connect did not complete within ${ms} ms`, {
          phase: 'connect',
        })
      : new SecureSocketError('ERR_HANDSHAKE_TIMEOUT', `The TLS handshake did not complete within ${ms} ms`, {
          phase: 'handshake',
        });
  }
}
