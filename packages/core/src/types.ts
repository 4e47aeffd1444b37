import type { SecureSocketError } from './errors.ts';

/** BSD shutdown(2) directions: SHUT_RD, SHUT_WR, SHUT_RDWR. */
export type ShutdownHow = 'read' | 'write' | 'both';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export type TruncationPolicy = 'error' | 'ignore';

export type SocketState =
  | 'connecting'
  | 'handshaking'
  | 'plaintext'
  | 'open'
  | 'readShut'
  | 'writeShut'
  | 'closing'
  | 'closed';

export type CloseInitiator = 'local' | 'peer' | 'idle' | 'timeout' | 'abort' | 'error';

export interface NetAddress {
  hostname: string;
  port: number;
}

/** Options shared by `connect()` and `listen()`. */
export interface SocketOptions {
  /**
   * Trust anchors (PEM). They replace the runtime's default trust store; a runtime that can only add
   * them to it (capabilities.exclusiveCa false) refuses `ca` unless `caAddsToDefaultTrust` is true.
   */
  ca?: string | string[];
  /**
   * Trust `ca` and the runtime's default trust store (its root certificates plus any extra roots it
   * was started with, such as NODE_EXTRA_CA_CERTS or DENO_CERT). Default false: `ca` alone.
   */
  caAddsToDefaultTrust?: boolean;
  alpn?: string[];
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** Keep writing after the peer's close_notify. Default false: we answer it with our own. */
  allowHalfOpen?: boolean;
  /** Default 30000; 0 turns the limit off. */
  handshakeTimeoutMs?: number;
  /**
   * Close (as `close()`) after this long with no byte read or written. Default 0 = off. Pending and
   * later reads and writes then reject `ERR_IDLE_TIMEOUT` (never a clean end of stream), and the
   * close report has `initiator: 'idle'` and that error.
   */
  idleTimeoutMs?: number;
  /** `close()`'s default `timeoutMs`. Default 5000; 0 = do not wait for the peer. */
  closeTimeoutMs?: number;
  keepAlive?: boolean | { initialDelayMs: number };
  /** Default true (TCP_NODELAY). */
  noDelay?: boolean;
  /** What a transport EOF without the peer's close_notify means. Default 'error'. */
  truncation?: TruncationPolicy;
}

export interface ConnectOptions extends SocketOptions {
  hostname: string;
  port: number;
  /** SNI and the name verified against the certificate. Default: hostname. */
  servername?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string;
  key?: string;
  signal?: AbortSignal;
  /** 'starttls': the socket starts in plaintext and `startTls()` upgrades it. Default 'on'. */
  secureTransport?: 'on' | 'starttls';
  /** Turns certificate and hostname verification off. Never in production. */
  dangerouslyDisableVerification?: boolean;
}

/**
 * What `startTls()` may change for its handshake. A client takes every other setting from its
 * connect() options; a server uses its listener's certificate, key, trust and versions, and takes
 * only the per-socket settings.
 */
export interface StartTlsOptions {
  /** Client only. */
  servername?: string;
  /** Client only. */
  ca?: string | string[];
  /** Client only. */
  caAddsToDefaultTrust?: boolean;
  /** Client only. */
  alpn?: string[];
  /** Client only. */
  minVersion?: TlsVersion;
  /** Client only. */
  maxVersion?: TlsVersion;
  /** Client only. */
  cert?: string;
  /** Client only. */
  key?: string;
  /** Client only. */
  dangerouslyDisableVerification?: boolean;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  closeTimeoutMs?: number;
  allowHalfOpen?: boolean;
  truncation?: TruncationPolicy;
}

export interface ListenOptions extends SocketOptions {
  /** Default '127.0.0.1'. */
  hostname?: string;
  /** Default 0: the system picks a free port, read it from `server.address`. */
  port?: number;
  cert: string;
  key: string;
  /** Ask clients for a certificate and verify it against `ca`, which is then required. */
  requestClientCert?: boolean;
  /**
   * 'starttls': accepted sockets start in plaintext and `startTls()` runs the server handshake with
   * this listener's credentials. Default 'on'.
   */
  secureTransport?: 'on' | 'starttls';
  /** Called for every incoming connection that fails before or during its handshake. */
  onHandshakeError?: (error: SecureSocketError) => void;
  /**
   * Called for every failure the server handles on its own, with phase `'server'`: a connection
   * refused over a cap (`ERR_SERVER_BUSY`), an `onSocket` handler that threw or whose promise
   * rejected (`ERR_HANDLER_FAILED`, the thrown value as `cause`; that socket is aborted). Without it,
   * each such failure is written to `console.warn`. A throwing onError is ignored.
   */
  onError?: (error: SecureSocketError) => void;
  /**
   * Connections accepted but not yet handed to the application (handshaking, or waiting for the
   * async iterator). Over it, a new connection is refused at once, before any TLS work
   * (`ERR_SERVER_BUSY` through onError). Default 128; 0 = no limit.
   */
  maxPendingConnections?: number;
  /**
   * Live sockets this server accepted, handed out ones included, until each one closes. Over it, a
   * new connection is refused at once (`ERR_SERVER_BUSY` through onError). Default 10000; 0 = no limit.
   */
  maxConnections?: number;
  signal?: AbortSignal;
}

export interface CipherInfo {
  name: string;
  standardName: string;
}

export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  subjectAltNames: string[];
}

/** What the handshake established. A field the runtime cannot give is `null`, never a guess. */
export interface SessionInfo {
  protocol: TlsVersion | null;
  cipher: CipherInfo | null;
  alpnProtocol: string | null;
  servername: string | null;
  peerCertificate: PeerCertificateInfo | null;
  authorized: boolean | null;
  localAddress: NetAddress | null;
  remoteAddress: NetAddress | null;
}

export interface CloseReport {
  initiator: CloseInitiator;
  closeNotifySent: boolean;
  /** null: the runtime cannot tell a close_notify from a bare EOF. */
  closeNotifyReceived: boolean | null;
  /** The peer's stream ended without close_notify; null when the runtime cannot tell. */
  truncated: boolean | null;
  /** Plaintext bytes handed to the application. */
  bytesRead: number;
  /** Plaintext bytes accepted by the runtime for sending. */
  bytesWritten: number;
  /** Plaintext bytes received but never handed to the application (after shutdown('read') or close). */
  bytesDiscarded: number;
  /**
   * What ended the socket: a fatal error, `ERR_ABORTED`, `ERR_IDLE_TIMEOUT`, or `ERR_CLOSE_TIMEOUT` when
   * close() reset a connection whose output was stuck; absent after a clean close. When nothing else
   * went wrong but letting go of the runtime's socket threw, an error whose `cause` is what was thrown.
   */
  error?: SecureSocketError;
  /** A plaintext socket that `startTls()` detached: the connection lives on in the socket it returned. */
  upgraded?: true;
  durationMs: number;
}

export interface SessionInfoCapabilities {
  protocol: boolean;
  cipher: boolean;
  alpnProtocol: boolean;
  servername: boolean;
  peerCertificate: boolean;
  authorized: boolean;
  localAddress: boolean;
  remoteAddress: boolean;
}

/** What an adapter can do on its runtime. The conformance suite reads this same object. */
export interface Capabilities {
  /** shutdown('write') sends close_notify + FIN and reading goes on. */
  halfClose: boolean;
  /** shutdown('read') ends reading at once while the peer is still drained. */
  shutdownRead: boolean;
  /** A transport EOF without close_notify is told apart from a clean close. */
  truncationDetection: boolean;
  /** abort() puts a TCP RST on the wire. */
  abortiveReset: boolean;
  sessionInfo: SessionInfoCapabilities;
  /** keepAlive (SO_KEEPALIVE) reaches a client socket. */
  keepAlive: boolean;
  /** keepAlive: { initialDelayMs } is honoured, not only on/off. */
  keepAliveInitialDelay: boolean;
  /** An accepted socket gets TCP_NODELAY as noDelay says (default true); else it keeps the kernel's Nagle. */
  serverNoDelay: boolean;
  /** keepAlive reaches an accepted socket. */
  serverKeepAlive: boolean;
  /** noDelay and keepAlive reach a client socket that presents a certificate (cert/key) too. */
  clientCertificateSocketOptions: boolean;
  idleTimeout: boolean;
  startTls: boolean;
  server: boolean;
  clientCertificates: boolean;
  /** dangerouslyDisableVerification can be honoured per connection. */
  disableVerification: boolean;
  /** minVersion / maxVersion other than TLS 1.2..1.3 can be forced. */
  versionBounds: boolean;
  /** A server can ask for a client certificate and verify it (listen({ requestClientCert })). */
  requestClientCertificates: boolean;
  /**
   * A server drops an accepted connection whose handshake has not finished at once: the client
   * sees its TCP connection end when the handshake times out or the server closes, and a
   * connection refused over a cap gets no TLS byte.
   */
  dropDuringHandshake: boolean;
  /** `ca` replaces the runtime's default trust; when false, `ca` needs `caAddsToDefaultTrust: true`. */
  exclusiveCa: boolean;
  /**
   * As a TLS 1.2 server, a client's last alert before its FIN is read exactly: close_notify or not.
   * When false, such an ending reports closeNotifyReceived and truncated as null (cannot tell); a
   * bare FIN after data or inside a record is still a truncation.
   */
  tls12ServerCloseNotify: boolean;
}

export interface ShutdownableSecureSocket extends AsyncDisposable {
  readonly state: SocketState;
  /**
   * Ends (done) on the peer's close_notify. A byte stream: `getReader({ mode: 'byob' })` reads into
   * the caller's buffer; a default reader gets each chunk as the runtime delivered it.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /** writable.close() is shutdown('write'). */
  readonly writable: WritableStream<Uint8Array>;
  /** Already resolved when connect() resolves. */
  readonly opened: Promise<SessionInfo>;
  /** Resolves once, when the socket is closed. Never rejects. */
  readonly closed: Promise<CloseReport>;
  readonly capabilities: Capabilities;
  /** Resolves when the runtime accepted the bytes (backpressure). */
  write(data: Uint8Array | string): Promise<void>;
  /**
   * The next bytes received; null: clean end of stream. Without `into`, a chunk the caller owns. With
   * `into` (a non-empty Uint8Array), a view of `into` filled with 1..into.byteLength bytes; the bytes
   * that did not fit wait for the next read, and `into` is never written once its read settled. A
   * bad `into` rejects `ERR_INVALID_ARGUMENT`. An error or truncation rejects as without `into`.
   */
  read(into?: Uint8Array): Promise<Uint8Array | null>;
  shutdown(how: ShutdownHow): Promise<void>;
  /**
   * shutdown('both'), then waits up to `timeoutMs` (default `closeTimeoutMs`) for the peer's
   * close_notify, then releases the transport. Always settles within `timeoutMs` plus a small margin
   * (50 ms), whatever the peer does: `timeoutMs: 0` does not wait for the peer, but still sends what
   * write() accepted and our close_notify when the peer takes them within the margin. When it cannot
   * (the peer stopped reading), the report says `closeNotifySent: false`, `initiator: 'timeout'` and
   * `error` `ERR_CLOSE_TIMEOUT`, pending writes and shutdown('write') reject with that error, and the
   * connection is reset (RST where `capabilities.abortiveReset`). Never rejects, except for a bad
   * `timeoutMs` (`ERR_INVALID_OPTION`).
   */
  close(options?: { timeoutMs?: number }): Promise<CloseReport>;
  abort(reason?: unknown): void;
  /**
   * Plaintext sockets only (`secureTransport: 'starttls'`): runs the TLS handshake over this
   * connection and resolves with the verified secure socket. This socket is detached at once: its
   * methods reject `ERR_SOCKET_DETACHED`, and its `closed` resolves with `upgraded: true`. Plaintext
   * received and not read by then is refused (`ERR_STARTTLS_REFUSED`, the connection is closed),
   * except, on a server, the start of the client's TLS handshake.
   */
  startTls(options?: StartTlsOptions): Promise<ShutdownableSecureSocket>;
}

export interface SecureServer extends AsyncDisposable, AsyncIterable<ShutdownableSecureSocket> {
  readonly address: NetAddress;
  readonly capabilities: Capabilities;
  /** Resolves when the listener is closed. Never rejects. */
  readonly closed: Promise<void>;
  /**
   * Stops accepting and resolves once the listener is closed, without waiting for any connection.
   * Sockets already handed out stay open and stay yours; accepted ones never handed out are closed
   * (a handshake in progress is aborted, a socket waiting for the iterator gets a close that does
   * not wait). Ending a `for await` loop over the server (break, return, throw) closes it likewise.
   */
  close(): Promise<void>;
}
