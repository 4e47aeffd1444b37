/**
 * What every adapter's listen() shares: validation, a handshake timeout per accepted connection,
 * delivery to the callback or the async iterator, and no socket left behind when the server closes.
 */
import { assertListenSupported } from './connect.ts';
import { serverClosed, serverOpened } from './diagnostics.ts';
import { isSecureSocketError, SecureSocketError } from './errors.ts';
import { type ResolvedListenOptions, resolveListenOptions } from './options.ts';
import { SecureSocket } from './socket.ts';
import type { AcceptConnection, Listener, OpenTransport } from './transport.ts';
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
      phase: 'connect',
    });
  }
  if (onSocket !== undefined && typeof onSocket !== 'function') {
    throw new SecureSocketError('ERR_INVALID_OPTION', 'listen(): onSocket must be a function', {
      phase: 'connect',
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
  readonly #handshaking = new Set<SecureSocket>();
  readonly #ready: ShutdownableSecureSocket[] = [];
  readonly #waiting: Array<(result: IteratorResult<ShutdownableSecureSocket>) => void> = [];
  #onAbort: (() => void) | undefined;

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
        phase: 'connect',
        cause: signal.reason,
      });
    }
    this.#listener = await start((open) => this.#accept(open), this.#options);
    serverOpened();
    if (signal) {
      this.#onAbort = () => void this.close();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #accept(open: OpenTransport): void {
    const socket = new SecureSocket(this.#socketOptions, this.capabilities);
    if (this.#closing) {
      socket.establish(open, { accepted: true }).then(
        (late) => late.abort(),
        () => {},
      );
      return;
    }
    this.#handshaking.add(socket);
    socket.establish(open, { accepted: true }).then(
      (ready) => {
        this.#handshaking.delete(ready);
        this.#deliver(ready);
      },
      (error: unknown) => {
        this.#handshaking.delete(socket);
        this.#reportHandshakeError(error);
      },
    );
  }

  #deliver(socket: ShutdownableSecureSocket): void {
    if (this.#onSocket) {
      try {
        const result = this.#onSocket(socket);
        if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => socket.abort(error));
        }
      } catch (error) {
        socket.abort(error);
      }
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: socket, done: false });
    else this.#ready.push(socket);
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

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#onAbort) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    for (const socket of this.#handshaking) socket.abort(new Error('the server closed'));
    this.#handshaking.clear();
    try {
      await this.#listener?.close();
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
