/**
 * The WinterTC Sockets API (the draft `connect(address, options)` of WinterTC55/proposal-sockets-api,
 * the API of Cloudflare's `cloudflare:sockets`) over any closenotify adapter. It only uses web
 * streams and promises, so one implementation serves Node, Bun and Deno: `socketsApi(adapter)` binds
 * it to the adapter's connect().
 *
 * Where the draft is silent, the stronger closenotify rules hold: `close()` sends close_notify and waits
 * for the peer's (bounded by `closeTimeoutMs`), and a stream that ends without the peer's close_notify
 * is a truncation: `readable` errors and `closed` rejects with `ERR_TLS_TRUNCATED` (unless
 * `truncation: 'ignore'`). Every failure is a `SecureSocketError` with a stable code.
 */

import { assertSupported } from './connect.ts';
import { SecureSocketError } from './errors.ts';
import { resolveConnectOptions } from './options.ts';
import type {
  Capabilities,
  CloseReport,
  ConnectOptions,
  NetAddress,
  SessionInfo,
  ShutdownableSecureSocket,
  StartTlsOptions,
} from './types.ts';

export interface SocketAddress {
  hostname: string;
  port: number;
}

/** `"host:port"` (an IPv6 address in brackets: `"[::1]:443"`) or `{ hostname, port }`. */
export type AnySocketAddress = string | SocketAddress;

/** `'off'`: plain TCP; `'on'`: TLS from the start; `'starttls'`: plain TCP until `startTls()`. */
export type SecureTransportKind = 'off' | 'on' | 'starttls';

/**
 * The draft's four options, plus every closenotify connect() option that does not duplicate one of
 * them (`ca`, `truncation`, `closeTimeoutMs`, `signal`, ...), as a runtime's binding object may add.
 */
export interface SocketsApiOptions
  extends Omit<ConnectOptions, 'hostname' | 'port' | 'servername' | 'secureTransport'> {
  /** Default `'off'`, as in the draft: pass `'on'` for TLS. */
  secureTransport?: SecureTransportKind;
  /** Default false: the peer's end of stream closes our side too, and then the socket. */
  allowHalfOpen?: boolean;
  /** The name sent as SNI and verified against the certificate. Default: the address's hostname. */
  sni?: string;
  alpn?: string[];
}

/** What `opened` resolves with. Addresses are `"host:port"` strings (`"[::1]:443"` for IPv6). */
export interface SocketInfo {
  remoteAddress: string | null;
  localAddress: string | null;
  /** The protocol ALPN agreed on, or null. */
  alpn: string | null;
  /** closenotify's full session info (TLS version, cipher, peer certificate, ...). */
  session: SessionInfo;
}

/** startTls() options: the draft has none; Cloudflare's `expectedServerHostname`, and closenotify's. */
export interface SocketsApiStartTlsOptions extends StartTlsOptions {
  /** Cloudflare's name for `servername`. */
  expectedServerHostname?: string;
}

/** The part of an adapter the facade needs: every closenotify adapter module is one. */
export interface SocketsApiAdapter {
  connect(options: ConnectOptions): Promise<ShutdownableSecureSocket>;
  readonly capabilities: Capabilities;
}

export type SocketsApiConnect = (address: AnySocketAddress, options?: SocketsApiOptions) => Socket;

/** The draft's `connect()` bound to one adapter. */
export function socketsApi(adapter: SocketsApiAdapter): SocketsApiConnect {
  return (address, options) => connectSocket(adapter, address, options);
}

function invalid(message: string): SecureSocketError {
  return new SecureSocketError('ERR_INVALID_OPTION', message, { phase: 'connect' });
}

/** Parses an address the way the draft writes them: `host:port`, `[v6]:port`, or the dictionary. */
export function parseSocketAddress(address: AnySocketAddress): SocketAddress {
  let hostname: unknown;
  let port: unknown;
  if (typeof address === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
    if (!match) throw invalid(`address must be "host:port" or "[ipv6]:port", got ${JSON.stringify(address)}`);
    hostname = match[1] ?? match[2];
    port = Number(match[3]);
  } else if (typeof address === 'object' && address !== null) {
    ({ hostname, port } = address);
  } else {
    throw invalid('address must be a "host:port" string or { hostname, port }');
  }
  if (typeof hostname !== 'string' || hostname === '')
    throw invalid('address hostname must be a non-empty string');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`address port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  return { hostname, port };
}

function connectSocket(
  adapter: SocketsApiAdapter,
  address: AnySocketAddress,
  options: SocketsApiOptions = {},
): Socket {
  const { hostname, port } = parseSocketAddress(address);
  const { secureTransport = 'off', sni, signal, ...rest } = options;
  if (secureTransport !== 'off' && secureTransport !== 'on' && secureTransport !== 'starttls') {
    throw invalid(`secureTransport must be 'off', 'on' or 'starttls', got ${String(secureTransport)}`);
  }
  if (secureTransport === 'off' && (sni !== undefined || options.alpn !== undefined)) {
    throw invalid("sni and alpn need TLS: secureTransport 'on' or 'starttls'");
  }
  const connectOptions: ConnectOptions = {
    ...rest,
    hostname,
    port,
    ...(sni === undefined ? {} : { servername: sni }),
    // A plain TCP socket is a plaintext socket that is never upgraded.
    secureTransport: secureTransport === 'on' ? 'on' : 'starttls',
  };
  // Bad options throw here, synchronously, as the draft wants of a connect() that returns a Socket.
  assertSupported(resolveConnectOptions(connectOptions), adapter.capabilities);
  const cancel = new AbortController();
  const combined = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
  const start = adapter.connect({ ...connectOptions, signal: combined });
  return new Socket(start, secureTransport, cancel);
}

const detached = () =>
  new SecureSocketError(
    'ERR_SOCKET_DETACHED',
    'startTls() took this connection: use the socket it returned',
    {
      phase: 'handshake',
    },
  );

/** `host:port`, with an IPv6 address in brackets. */
function addressText(address: NetAddress | null): string | null {
  if (!address) return null;
  return address.hostname.includes(':')
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

/** Marks a promise handled (the draft: opened and closed never count as unhandled rejections). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * A connection as the draft describes it. Created by `connect()` (never with `new`), usable at once:
 * writes wait for the handshake.
 */
export class Socket implements AsyncDisposable {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array | string>;
  readonly opened: Promise<SocketInfo>;
  /**
   * Resolves when the connection is over cleanly: after close(), or once both directions ended (with
   * `allowHalfOpen: false` the peer's end is enough). Rejects with the error that ended it: a failed
   * connect, a reset, a truncation (`ERR_TLS_TRUNCATED`), a close that could not flush.
   */
  readonly closed: Promise<void>;
  /**
   * closenotify's report of how the connection ended (close_notify sent and received, truncated, bytes
   * counted). Never rejects; null when no connection was established.
   */
  readonly closeReport: Promise<CloseReport | null>;

  readonly #start: Promise<ShutdownableSecureSocket>;
  readonly #secureTransport: SecureTransportKind;
  readonly #cancel: AbortController;
  #inner: ShutdownableSecureSocket | undefined;
  #upgraded = false;
  #closeCalled: Promise<void> | undefined;
  #readableController!: ReadableStreamDefaultController<Uint8Array>;
  #writableController!: WritableStreamDefaultController;
  #streamsEnded = false;
  #settleClosed!: { resolve: () => void; reject: (error: unknown) => void };
  #rejectOpened: ((reason: unknown) => void) | undefined;

  /** @internal Use `connect()` or `startTls()`. */
  constructor(
    start: Promise<ShutdownableSecureSocket>,
    secureTransport: SecureTransportKind,
    cancel: AbortController,
  ) {
    this.#start = start;
    this.#secureTransport = secureTransport;
    this.#cancel = cancel;
    this.closed = handled(
      new Promise<void>((resolve, reject) => {
        this.#settleClosed = { resolve, reject };
      }),
    );
    this.opened = handled(
      new Promise<SocketInfo>((resolve, reject) => {
        this.#rejectOpened = reject;
        start.then((inner) => inner.opened.then((session) => resolve(socketInfo(session)), reject), reject);
      }),
    );
    this.closeReport = start.then(
      (inner) => inner.closed,
      () => null,
    );
    start.then(
      (inner) => this.#attach(inner),
      (error: unknown) => this.#fail(error),
    );
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#readableController = controller;
        },
        pull: async (controller) => {
          const inner = await this.#start;
          const chunk = await inner.read();
          if (this.#streamsEnded) return;
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: async () => {
          if (this.#inner && !this.#upgraded) await this.#inner.shutdown('read').catch(() => {});
        },
      },
      // Nothing is read ahead: bytes the application has not asked for stay in the socket, where
      // startTls() can see them (STARTTLS injection) and shutdown('read') can count them.
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array | string>({
      start: (controller) => {
        this.#writableController = controller;
      },
      write: async (chunk) => {
        const inner = await this.#start;
        await inner.write(bytesOf(chunk));
      },
      close: async () => {
        const inner = await this.#start;
        await inner.shutdown('write');
      },
      abort: async (reason) => {
        const inner = await this.#start.catch(() => undefined);
        inner?.abort(reason);
      },
    });
  }

  /** True once startTls() took this socket's connection. */
  get upgraded(): boolean {
    return this.#upgraded;
  }

  /**
   * Closes the connection: our close_notify (TLS) or FIN, then up to `closeTimeoutMs` for the peer's end.
   * Returns `closed`. With a `reason`, `readable` and `writable` error with it; before the connection
   * is open, the connect is cancelled and `opened` rejects (with `reason` when given).
   */
  close(reason?: unknown): Promise<void> {
    this.#closeCalled ??= this.#close(reason);
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => {});
  }

  /**
   * Upgrades a `secureTransport: 'starttls'` socket: returns a new Socket whose `opened` resolves after
   * the verified handshake; this socket is `upgraded`, its streams end and its `closed` resolves. Throws
   * (`ERR_UNSUPPORTED`) on any other socket, and `ERR_SOCKET_DETACHED` or `ERR_SOCKET_CLOSED` on one
   * already upgraded or closed.
   */
  startTls(options: SocketsApiStartTlsOptions = {}): Socket {
    if (this.#secureTransport !== 'starttls') {
      throw new SecureSocketError(
        'ERR_UNSUPPORTED',
        "startTls() upgrades sockets opened with secureTransport: 'starttls' only",
        { phase: 'handshake' },
      );
    }
    if (this.#upgraded) throw detached();
    if (this.#closeCalled) {
      throw new SecureSocketError('ERR_SOCKET_CLOSED', 'startTls() on a closed socket', {
        phase: 'handshake',
      });
    }
    const { expectedServerHostname, ...startTlsOptions } = options;
    if (expectedServerHostname !== undefined) startTlsOptions.servername ??= expectedServerHostname;
    this.#upgraded = true;
    this.#endStreams(detached());
    const secure = this.#start.then((plain) => plain.startTls(startTlsOptions));
    return new Socket(secure, 'on', new AbortController());
  }

  // The streams end through the inner socket itself: a read after the end gets its null or its error
  // (after every byte delivered before it), a write its rejection. Only close(reason) and startTls()
  // end them from here.
  #attach(inner: ShutdownableSecureSocket): void {
    this.#inner = inner;
    inner.closed.then((report) => {
      if (this.#upgraded || !report.error) this.#settleClosed.resolve();
      else this.#settleClosed.reject(report.error);
    });
  }

  #fail(error: unknown): void {
    // A connect cancelled by close() is the clean end the draft promises; anything else is the error.
    if (this.#closeCalled) this.#settleClosed.resolve();
    else this.#settleClosed.reject(error);
  }

  /** Ends both streams once: cleanly (`undefined`) or with `error`. Reads already pending get the same. */
  #endStreams(error: unknown): void {
    if (this.#streamsEnded) return;
    this.#streamsEnded = true;
    try {
      if (error === undefined) this.#readableController.close();
      else this.#readableController.error(error);
    } catch {
      // The stream already ended (read to its end, or cancelled): nothing to tell it.
    }
    this.#writableController.error(
      error ?? new SecureSocketError('ERR_SOCKET_CLOSED', 'the socket is closed', { phase: 'write' }),
    );
  }

  async #close(reason: unknown): Promise<void> {
    if (reason !== undefined) this.#endStreams(reason);
    if (!this.#inner) {
      this.#rejectOpened?.(
        reason ??
          new SecureSocketError('ERR_ABORTED', 'close() before the connection opened', { phase: 'connect' }),
      );
      this.#cancel.abort(reason);
    }
    const inner = await this.#start.catch(() => undefined);
    if (!inner) return;
    // startTls() handed the connection on; closing it is the new socket's job.
    if (this.#upgraded) return;
    await inner.close();
  }
}

function socketInfo(session: SessionInfo): SocketInfo {
  return {
    remoteAddress: addressText(session.remoteAddress),
    localAddress: addressText(session.localAddress),
    alpn: session.alpnProtocol,
    session,
  };
}

/** The writable takes strings and any BufferSource, as Cloudflare's does. */
function bytesOf(chunk: unknown): Uint8Array | string {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new SecureSocketError(
    'ERR_INVALID_OPTION',
    'writable takes a string, an ArrayBuffer or a view of one',
    {
      phase: 'write',
    },
  );
}
