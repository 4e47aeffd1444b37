/**
 * `closenotify/node-stream`: a ShutdownableSecureSocket as a Node `Duplex`, the shape that libraries
 * written for `net.Socket` / `tls.TLSSocket` take (MQTT.js, node-postgres, ...). It uses nothing but
 * `node:stream`, which Node, Bun and Deno all have, so the same bridge runs on the three runtimes.
 * It lives in its own entry so that the main entry keeps loading where `node:stream` does not exist.
 *
 * How Node stream operations map onto the socket:
 * - reading pulls `socket.read()` only when the Duplex wants data (its readable buffer is below
 *   `highWaterMark`), so a slow consumer slows the peer down instead of growing a buffer;
 * - `'end'` is the peer's close_notify (a clean end of stream); a truncation, a reset, an idle timeout
 *   and every other failure destroy the Duplex with the socket's SecureSocketError (its `code` intact);
 * - `write(chunk, cb)`: `cb` runs once `socket.write()` resolved, so the chunk is the caller's again;
 *   the Duplex buffers up to `highWaterMark` before `write()` returns false;
 * - `end()` is `shutdown('write')`: close_notify and FIN after every byte written;
 * - `destroy(error)` is `abort(error)` (RST where `capabilities.abortiveReset`); `destroy()` without an
 *   error is a bounded `close()` once our close_notify is out (`end()` finished, or the socket answered
 *   the peer's), and `abort()` before: a stream torn down mid-write must never look complete to the peer;
 * - `'close'` is emitted once the socket's `closed` has resolved: nothing is held after it.
 */
import { Duplex } from 'node:stream';
import {
  SecureSocketError,
  type SessionInfo,
  type ShutdownableSecureSocket,
  type SocketState,
} from '@closenotify/core/public';

/** States in which the socket has already sent (or queued) its close_notify. */
function closeNotifyQueued(state: SocketState): boolean {
  return state === 'writeShut' || state === 'closing' || state === 'closed';
}

/** The largest delay a timer takes, as for the socket's own timeouts. */
const MAX_TIMEOUT_MS = 2147483647;

export interface NodeDuplexOptions {
  /**
   * As `net.Socket`'s: false (the default) ends the writable side once the readable side has ended
   * (after the Duplex's buffered writes went out). Set it true only together with the socket's own
   * `allowHalfOpen: true`, which is what keeps the socket writable after the peer's close_notify.
   */
  allowHalfOpen?: boolean;
  /** Bytes buffered on each side before backpressure applies. Default: Node's (16 KiB, 64 KiB in Node 22+). */
  highWaterMark?: number;
}

/** A Node `Duplex` over a ShutdownableSecureSocket; see the module comment for the mapping. */
export class SecureSocketDuplex extends Duplex {
  /** The socket this Duplex drives. Its `closed` report says how the connection ended. */
  readonly secureSocket: ShutdownableSecureSocket;
  /** As on `tls.TLSSocket`. */
  readonly encrypted = true;
  /** Always false: the socket is connected before it is bridged (see `connect()`). */
  readonly connecting = false;
  #session: SessionInfo | undefined;
  #reading = false;
  #idleTimeoutMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: ShutdownableSecureSocket, options: NodeDuplexOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
    });
    this.secureSocket = socket;
    // `opened` is already resolved for a socket from connect(), listen() or startTls().
    socket.opened.then(
      (session) => {
        this.#session = session;
      },
      () => {},
    );
  }

  get remoteAddress(): string | undefined {
    return this.#session?.remoteAddress?.hostname;
  }

  get remotePort(): number | undefined {
    return this.#session?.remoteAddress?.port;
  }

  get localAddress(): string | undefined {
    return this.#session?.localAddress?.hostname;
  }

  get localPort(): number | undefined {
    return this.#session?.localAddress?.port;
  }

  get alpnProtocol(): string | false {
    return this.#session?.alpnProtocol ?? false;
  }

  /**
   * The socket is already connected (and verified): this only announces it, with `'connect'` and
   * `'ready'` on the next tick, for libraries that call `connect()` on the stream they were given
   * (node-postgres does). The arguments are ignored; a listener function among them is added once.
   */
  connect(...args: unknown[]): this {
    const listener = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (listener !== undefined) this.once('connect', listener);
    queueMicrotask(() => {
      if (this.destroyed) return;
      this.emit('connect');
      this.emit('ready');
    });
    return this;
  }

  /**
   * As `net.Socket#setTimeout`: emits `'timeout'` after `ms` without a byte read or written, and does
   * nothing else (the listener decides; `destroy()` is the usual answer). 0 turns it off. For a limit
   * that closes the socket itself, use the socket's `idleTimeoutMs`.
   */
  setTimeout(ms: number, listener?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0 && ms <= MAX_TIMEOUT_MS)) {
      // Thrown, as net.Socket#setTimeout throws for a bad delay: it is a programming error.
      throw new SecureSocketError(
        'ERR_INVALID_OPTION',
        `setTimeout(ms): ms must be a number from 0 to ${MAX_TIMEOUT_MS}, got ${String(ms)}`,
        { phase: 'read' },
      );
    }
    if (listener !== undefined) {
      if (ms === 0) this.removeListener('timeout', listener);
      else this.once('timeout', listener);
    }
    this.#idleTimeoutMs = ms;
    this.#restartIdleTimer();
    return this;
  }

  /** A documented no-op: TCP_NODELAY is set at connect() (`noDelay`, default true). */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** A documented no-op: keep-alive is set at connect() (`keepAlive`). */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  /** A documented no-op: the socket keeps the event loop alive until it is closed. */
  ref(): this {
    return this;
  }

  /** A documented no-op: the socket keeps the event loop alive until it is closed. */
  unref(): this {
    return this;
  }

  address(): { address: string; port: number } | Record<string, never> {
    const local = this.#session?.localAddress;
    return local ? { address: local.hostname, port: local.port } : {};
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.secureSocket.read().then(
      (chunk) => {
        this.#reading = false;
        if (chunk !== null) this.#restartIdleTimer();
        this.push(chunk);
      },
      (error: unknown) => {
        this.#reading = false;
        this.destroy(error as Error);
      },
    );
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.secureSocket.write(chunk).then(
      () => {
        this.#restartIdleTimer();
        callback();
      },
      (error: unknown) => callback(error as Error),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.secureSocket.shutdown('write').then(
      () => callback(),
      (error: unknown) => callback(error as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopIdleTimer();
    const socket = this.secureSocket;
    if (error === null && (this.writableFinished || closeNotifyQueued(socket.state))) {
      // Our close_notify is out (end() finished, or the socket answered the peer's): nothing more
      // can look complete than already does, so wait (bounded by closeTimeoutMs) for the peer's.
      socket.close().then(() => callback(null));
      return;
    }
    socket.abort(error ?? undefined);
    socket.closed.then(() => callback(error));
  }

  #restartIdleTimer(): void {
    this.#stopIdleTimer();
    if (this.#idleTimeoutMs === 0 || this.destroyed) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      this.emit('timeout');
    }, this.#idleTimeoutMs);
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['allowHalfOpen', 'highWaterMark']);
const SOCKET_METHODS = ['read', 'write', 'shutdown', 'close', 'abort'] as const;

function invalid(message: string): SecureSocketError {
  return new SecureSocketError('ERR_INVALID_OPTION', `toNodeDuplex: ${message}`, { phase: 'connect' });
}

/** Refuses what cannot work, before any Duplex exists (as connect() does with its options). */
function validate(socket: unknown, options: unknown): asserts options is NodeDuplexOptions {
  const candidate = socket as Partial<ShutdownableSecureSocket> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    SOCKET_METHODS.some((name) => typeof candidate[name] !== 'function') ||
    !(candidate.opened instanceof Promise) ||
    !(candidate.closed instanceof Promise)
  ) {
    throw invalid('socket must be a ShutdownableSecureSocket (from connect(), listen() or startTls())');
  }
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const [name, value] of Object.entries(options)) {
    if (!OPTION_NAMES.has(name)) throw invalid(`unknown option ${JSON.stringify(name)}`);
    if (value === undefined) continue;
    if (name === 'allowHalfOpen' && typeof value !== 'boolean')
      throw invalid('allowHalfOpen must be a boolean');
    if (name === 'highWaterMark' && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
      throw invalid('highWaterMark must be an integer of 0 or more');
    }
  }
}

/**
 * The socket as a Node `Duplex`; the socket should not be read or written directly afterwards.
 * Throws `ERR_INVALID_OPTION` for something that is not a socket, or a bad or unknown option.
 */
export function toNodeDuplex(
  socket: ShutdownableSecureSocket,
  options?: NodeDuplexOptions,
): SecureSocketDuplex {
  validate(socket, options);
  return new SecureSocketDuplex(socket, options);
}
