import {
  type ErrorPhase,
  errorCodeForNative,
  isSecureSocketError,
  SecureSocketError,
} from '@closenotify/core';

/** A Node error as a SecureSocketError with its spec §5 code; the Node error stays the cause. */
export function fromNodeError(error: unknown, phase: ErrorPhase): SecureSocketError {
  if (isSecureSocketError(error)) return error;
  const nativeCode = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const code =
    errorCodeForNative(nativeCode, phase) ??
    (phase === 'handshake' ? 'ERR_TLS_PROTOCOL' : 'ERR_SOCKET_CLOSED');
  return new SecureSocketError(code, message, { phase, cause: error });
}
