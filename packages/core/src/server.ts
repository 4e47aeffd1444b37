/**
 * What every adapter's listen() shares: validation, a handshake timeout per accepted connection,
 * caps on pending and live connections, delivery to the callback or the async iterator, and no
 * socket left behind when the server closes. Adapters only start and stop the runtime listener.
 */
import { assertListenSupported } from './connect.ts';
import { serverClosed, serverOpened } from './diagnostics.ts';
import { isSecureSocketError, SecureSocketError } from './errors.ts';
import { type ResolvedListenOptions, resolveListenOptions } from './options.ts';
import { SecureSocket, type SocketOwner, socketMode } from './socket.ts';
import type { AcceptConnection, AcceptedConnection, Listener } from './transport.ts';
import type {
  Capabilities,
  ListenOptions,
  NetAddress,
  SecureServer,
  ShutdownableSecureSocket,
} from './types.ts';

export type StartListener = (accept: AcceptConnection, options: ResolvedListenOptions) => Promise<Listener>;

export type SocketHandler = (socket: ShutdownableSecureSocket) => unknown;

export async function listenWith(
  options: ListenOptions,
  capabilities: Capabilities,
  start: StartListener,
  onSocket?: SocketHandler,
): Promise<SecureServer> {
  const resolved = resolveListenOptions(options);
  assertListenSupported(resolved, capabilities);
  if (!capabilities.server) {
    throw new SecureSocketError('ERR_UNSUPPORTED', "This runtime's adapter cannot listen", {
      phase: 'server',
    });
  }
  if (onSocket !== undefined && typeof onSocket !== 'function') {
    throw new SecureSocketError('ERR_INVALID_OPTION', 'listen(): onSocket must be a function', {
      phase: 'server',
    });
  }
  const server = new Server(resolved, capabilities, onSocket);
  await server.start(start);
  return server;
}

class Server implements SecureServer {
  readonly capabilities: Capabilities;
  readonly #options: ResolvedListenOptions;
  readonly #socketOptions: ResolvedListenOptions;
  readonly #onSocket: SocketHandler | undefined;
  #listener: Listener | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });
  /** Accepted, handshake not finished. */
  readonly #handshaking = new Set<SecureSocket>();
  /** Handshake done, waiting for the async iterator. */
  readonly #ready: SecureSocket[] = [];
  readonly #waiting: Array<(result: IteratorResult<ShutdownableSecureSocket>) => void> = [];
  /** Accepted sockets not closed yet, handed out or not. */
  #live = 0;
  #onAbort: (() => void) | undefined;
  /** What every accepted socket reports its end to (one object per server, not closures per socket). */
  readonly #owner: SocketOwner = {
    socketClosed: (socket) => {
      const queued = this.#ready.indexOf(socket);
      if (queued >= 0) this.#ready.splice(queued, 1);
    },
    // A STARTTLS connection stays live in the socket startTls() returned.
    connectionClosed: () => {
      this.#live -= 1;
    },
  };

  constructor(
    options: ResolvedListenOptions,
    capabilities: Capabilities,
    onSocket: SocketHandler | undefined,
  ) {
    this.#options = options;
    // The server's signal stops the server; accepted sockets live on their own.
    this.#socketOptions = { ...options, signal: undefined };
    this.capabilities = capabilities;
    this.#onSocket = onSocket;
  }

  get address(): NetAddress {
    return this.#listener?.address ?? { hostname: this.#options.hostname, port: this.#options.port };
  }

  async start(start: StartListener): Promise<void> {
    const { signal } = this.#options;
    if (signal?.aborted) {
      throw new SecureSocketError('ERR_ABORTED', 'listen() was aborted by its signal', {
        phase: 'server',
        cause: signal.reason,
      });
    }
    this.#listener = await start((connection) => this.#accept(connection), this.#options);
    serverOpened();
    if (signal) {
      this.#onAbort = () => void this.close();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #accept(connection: AcceptedConnection): void {
    if (this.#closing) {
      connection.refuse();
      return;
    }
    const busy = this.#busy();
    if (busy) {
      // Refused before any TLS work: a flood costs one accept and one close per connection.
      connection.refuse();
      this.#report(
        new SecureSocketError('ERR_SERVER_BUSY', `Connection refused: ${busy}`, { phase: 'server' }),
      );
      return;
    }
    const socket = new SecureSocket(
      this.#socketOptions,
      this.capabilities,
      socketMode('server', this.#options.secureTransport === 'starttls'),
      this.#owner,
    );
    this.#handshaking.add(socket);
    this.#live += 1;
    socket.establish(connection.open, 'accept').then(
      () => {
        this.#handshaking.delete(socket);
        this.#deliver(socket);
      },
      (error: unknown) => {
        this.#handshaking.delete(socket);
        this.#reportHandshakeError(error);
      },
    );
  }

  /** Why a new connection cannot be taken now, or undefined when it can. */
  #busy(): string | undefined {
    const { maxPendingConnections, maxConnections } = this.#options;
    const pending = this.#handshaking.size + this.#ready.length;
    if (maxPendingConnections > 0 && pending >= maxPendingConnections) {
      return `${pending} connections are handshaking or waiting to be taken (maxPendingConnections)`;
    }
    if (maxConnections > 0 && this.#live >= maxConnections) {
      return `${this.#live} connections are open (maxConnections)`;
    }
    return undefined;
  }

  #deliver(socket: SecureSocket): void {
    if (this.#onSocket) {
      this.#handOver(socket, this.#onSocket);
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: socket, done: false });
    // One that closed since its handshake already told the owner: it must not wait in the queue.
    else if (socket.state !== 'closed') this.#ready.push(socket);
  }

  #handOver(socket: SecureSocket, onSocket: SocketHandler): void {
    const failed = (cause: unknown): void => {
      const error = new SecureSocketError('ERR_HANDLER_FAILED', 'The onSocket handler failed', {
        phase: 'server',
        cause,
      });
      socket.abort(error);
      this.#report(error);
    };
    try {
      const result = onSocket(socket);
      if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, failed);
      }
    } catch (error) {
      failed(error);
    }
  }

  #reportHandshakeError(error: unknown): void {
    const handler = this.#options.onHandshakeError;
    if (!handler || !isSecureSocketError(error)) return;
    try {
      handler(error);
    } catch {
      // A throwing error handler must not take the server down with it.
    }
  }

  /** A failure nobody else will see: onError, or a warning; never an exception out of core. */
  #report(error: SecureSocketError): void {
    const handler = this.#options.onError;
    if (!handler) {
      console.warn(
        `closenotify: ${error.code}: ${error.message} (pass listen({ onError }) to handle it)`,
        error,
      );
      return;
    }
    try {
      handler(error);
    } catch {
      // A throwing error handler must not take the server down with it.
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#onAbort) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const listenerClosed = this.#listener?.close();
    // Accepted sockets nobody took are the server's to close; handed-out ones stay the caller's.
    const stopped = new SecureSocketError('ERR_ABORTED', 'The server closed during the handshake', {
      phase: 'server',
    });
    for (const socket of this.#handshaking) socket.abort(stopped);
    this.#handshaking.clear();
    for (const socket of this.#ready.splice(0)) void socket.close({ timeoutMs: 0 });
    try {
      await listenerClosed;
    } finally {
      for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
      if (this.#listener) serverClosed();
      this.#resolveClosed();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ShutdownableSecureSocket> {
    return {
      next: () => {
        const socket = this.#ready.shift();
        if (socket) return Promise.resolve({ value: socket, done: false });
        if (this.#closing) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
