/**
 * The contract between core and an adapter. Core owns the lifecycle: an adapter implements the
 * handful of transport primitives below and reports what its runtime does through the sink. It
 * never assigns the state, never decides when to send close_notify and never keeps timers of its own.
 */
import type { SecureSocketError } from './errors.ts';
import type { ResolvedConnectOptions } from './options.ts';
import type { NetAddress, SessionInfo } from './types.ts';

/** Primitives an adapter implements over its runtime's socket. */
export interface Transport {
  /**
   * Hands plaintext to the runtime, in order. Returns undefined when the runtime took the bytes
   * and can take more at once, or a promise that settles when it can (backpressure). Rejects, with a
   * SecureSocketError, only when the bytes cannot be sent. Once it returned undefined or its promise
   * resolved, the chunk is the caller's again: a runtime that still holds it must have been given a copy.
   */
  write(chunk: Uint8Array): Promise<void> | undefined;
  /**
   * Sends close_notify and then the TCP FIN, after every byte already handed to write(), while
   * reading goes on. Settles when both are on their way.
   */
  shutdownWrite(): Promise<void> | undefined;
  /** Stops delivering inbound data, so the peer feels TCP backpressure. */
  pause(): void;
  resume(): void;
  /** Abortive close: a TCP RST where the runtime can, else the closest it has. Frees everything. */
  reset(): void;
  /** Frees the runtime resources once the graceful exchange is over, or after a fatal error. Idempotent. */
  release(): void;
  /**
   * True where release() costs enough to delay a reader (Node's destroy chain and its nextTicks, Bun's
   * close(): 50-100 µs each): core then calls it on the next turn of the event loop, after the
   * continuations of the reads that the close settled, and settles `closed` after it. The socket is
   * closed from the start: nothing reaches the transport in between.
   */
  readonly releaseOnNextTurn?: boolean;
}

/** What an adapter reports. Calls after the socket is closed are ignored. */
export interface TransportSink {
  /**
   * Plaintext from the peer. Returns true when core keeps the chunk as it is: the adapter must not
   * touch it again. False when core kept nothing of it (it copied every byte into waiting read(into)
   * buffers, or discarded them): the adapter may read into that buffer again, which saves a runtime
   * that reads into buffers of its own a fresh one per chunk while the application reads into its own.
   */
  data(chunk: Uint8Array): boolean;
  /**
   * Plaintext from the peer in a buffer the adapter reuses: the view is valid only during this call.
   * Core copies it once, straight into a waiting read(into)'s buffer when there is one, else into
   * memory of its own; a runtime that decrypts into one reused buffer needs no copy of its own.
   */
  borrowedData(view: Uint8Array): void;
  /**
   * The peer's stream ended. `true`: after its close_notify; `false`: a transport EOF without
   * close_notify (truncation); `null`: the runtime cannot tell the two apart.
   */
  end(closeNotify: boolean | null): void;
  /** A fatal transport or TLS error, already mapped to its spec §5 code. */
  error(error: SecureSocketError): void;
  /** The runtime closed the transport (normally after release()). */
  closed(): void;
}

export interface OpenContext {
  readonly sink: TransportSink;
  /**
   * Aborted when connect() gives up (handshake timeout, the caller's signal). The adapter must then
   * reject and free whatever it had started; core also releases a transport that arrives late.
   */
  readonly signal: AbortSignal;
  /** TCP is connected and the handshake began (tells ERR_CONNECT_TIMEOUT from ERR_HANDSHAKE_TIMEOUT). */
  connected(): void;
}

export interface OpenedTransport {
  transport: Transport;
  session: SessionInfo;
  /**
   * Only for a plaintext connection (`secureTransport: 'starttls'`): its transport is then plain TCP
   * (write and read plaintext, shutdownWrite() sends a bare FIN, sink.end() reports the peer's FIN), and
   * this runs the TLS handshake over the same connection.
   */
  upgrade?: UpgradeTransport;
}

/** What core hands an adapter for startTls(). */
export interface TlsHandoff {
  /** Client: the connect() options with startTls()'s overrides. Server: undefined (the listener's own). */
  readonly options: ResolvedConnectOptions | undefined;
  /**
   * Server: bytes that arrived in plaintext before startTls() and begin a TLS handshake record (a
   * client's ClientHello can overtake the server's call); TLS must read them before anything else.
   * Core refuses the upgrade when the waiting bytes are anything else, so the adapter never judges bytes.
   */
  readonly received: Uint8Array | undefined;
}

/**
 * Stops reporting plaintext to the old sink, runs the handshake over the same TCP connection with
 * `context` (its sink is the new socket's, its signal ends the attempt), and resolves once verified,
 * with the secure transport. On failure it rejects and frees the connection, like OpenTransport.
 */
export type UpgradeTransport = (context: OpenContext, handoff: TlsHandoff) => Promise<OpenedTransport>;

/** Connects (or, on a server, completes an accepted connection's handshake) and resolves once verified. */
export type OpenTransport = (context: OpenContext) => Promise<OpenedTransport>;

/** A runtime listener, as an adapter starts it for listen(). */
export interface Listener {
  readonly address: NetAddress;
  /**
   * Stops accepting. Resolves once the listening handle is closed, without waiting for the
   * connections it accepted: those are core's, or the application's.
   */
  close(): Promise<void>;
}

/** One TCP connection the listener accepted, before any TLS work on it. */
export interface AcceptedConnection {
  /** Runs the server handshake (see OpenTransport). */
  open: OpenTransport;
  /**
   * Closes the TCP connection without a handshake: a RST where the runtime can, and no TLS byte
   * sent where the runtime allows it. Frees everything. Never throws.
   */
  refuse(): void;
}

/**
 * Called by the adapter's listener for every accepted TCP connection. Core calls exactly one of
 * `open` or `refuse`, synchronously, before returning, so a runtime whose later events need
 * per-connection state (Bun's socket.data) can bind it inside `open`, and a refused connection
 * never sees a handshake.
 */
export type AcceptConnection = (connection: AcceptedConnection) => void;
