/**
 * The one error type of closenotify. Every failure, on every runtime, surfaces as a
 * `SecureSocketError` with a stable `code`: the same failure gives the same code everywhere, and
 * the runtime's own error stays available as `cause` (spec §5).
 */

export const ERROR_CODES = [
  'ERR_CONNECT_REFUSED',
  'ERR_CONNECT_TIMEOUT',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_TLS_CERT_UNTRUSTED',
  'ERR_TLS_CERT_EXPIRED',
  'ERR_TLS_HOSTNAME_MISMATCH',
  'ERR_TLS_PROTOCOL',
  'ERR_TLS_ALERT',
  'ERR_TLS_TRUNCATED',
  'ERR_CONNECTION_RESET',
  'ERR_WRITE_AFTER_SHUTDOWN',
  'ERR_SOCKET_CLOSED',
  'ERR_ABORTED',
  'ERR_UNSUPPORTED',
  'ERR_INVALID_OPTION',
  'ERR_RUNTIME_UNSUPPORTED',
  // Beyond spec §5's list: listen() could not bind because the address is taken.
  'ERR_ADDRESS_IN_USE',
  // close() gave up before every accepted byte and our close_notify were sent (contract v2: close() is bounded).
  'ERR_CLOSE_TIMEOUT',
  // The idle timeout closed the socket: pending and later reads and writes fail with it, never a clean end.
  'ERR_IDLE_TIMEOUT',
  // A server refused a connection because maxPendingConnections or maxConnections was reached.
  'ERR_SERVER_BUSY',
  // A listen() onSocket handler threw or its promise rejected; the thrown value is the cause.
  'ERR_HANDLER_FAILED',
  // contract v2: the host name did not resolve (no such name, or the resolver failed); phase 'connect'.
  'ERR_HOST_NOT_FOUND',
  // The adapter's exact truncation check found the runtime internal it relies on changed (Bun's key log
  // no longer opens the peer's records): no verdict, rather than a wrong one; phase 'read'.
  'ERR_TRUNCATION_CHECK_FAILED',
  // A plaintext socket after startTls(): the connection belongs to the secure socket startTls() returns.
  'ERR_SOCKET_DETACHED',
  // startTls() refused the upgrade: plaintext that is not the peer's TLS handshake was waiting unread
  // (STARTTLS command injection); the connection is closed.
  'ERR_STARTTLS_REFUSED',
  // read(into) was given something it cannot fill: not a Uint8Array, empty, or transferred away.
  'ERR_INVALID_ARGUMENT',
  // A server that asks for client certificates refused a client that presented none; phase 'handshake'.
  // Its own code, not ERR_TLS_CERT_UNTRUSTED: the remedy is to configure the client's cert/key, not its CA.
  'ERR_TLS_CERT_MISSING',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** `'server'`: listen() itself, or a failure a server handled on its own (see ListenOptions.onError). */
export type ErrorPhase = 'connect' | 'handshake' | 'read' | 'write' | 'shutdown' | 'close' | 'server';

// Symbol.for, not a module-local symbol: two installed copies of core must recognise each other's errors.
const brand = Symbol.for('closenotify.SecureSocketError');

export interface SecureSocketErrorOptions {
  phase: ErrorPhase;
  cause?: unknown;
}

export class SecureSocketError extends Error {
  readonly code: ErrorCode;
  readonly phase: ErrorPhase;

  constructor(code: ErrorCode, message: string, options: SecureSocketErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SecureSocketError';
    this.code = code;
    this.phase = options.phase;
    Object.defineProperty(this, brand, { value: true });
  }

  /** `instanceof` that also holds across duplicate installs of @closenotify/core. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSecureSocketError(value);
  }
}

export function isSecureSocketError(value: unknown): value is SecureSocketError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
