import {
  type ErrorCode,
  type ErrorPhase,
  errorCodeForNative,
  isSecureSocketError,
  SecureSocketError,
} from '@closenotify/core';

/*
 * Bun reports Node's codes (ECONNRESET, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...), which
 * core maps. One refinement only Bun needs, decided by a code, never by the wording:
 * every BoringSSL failure is EPROTO, with the packed error code at the start of the message
 *   ("error:1000042e:SSL routines:OPENSSL_internal:TLSV1_ALERT_PROTOCOL_VERSION"). BoringSSL packs
 *   (library << 24 | reason) and files an alert received from the peer under reason 1000 + the
 *   alert number (SSL_AD_REASON_OFFSET), which is what Node reports as ERR_SSL_*_ALERT_*.
 * A server that requires a client certificate and got none fails with BoringSSL's
 *   PEER_DID_NOT_RETURN_A_CERTIFICATE (packed 0x100000c0, measured), which Node reports as
 *   ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: ERR_TLS_CERT_MISSING on both (`server.client-certificate.codes`).
 * (Certificates, keys and trust anchors Bun cannot load throw ERR_BORINGSSL or ERR_OSSL_*, which core
 * maps to ERR_INVALID_OPTION.)
 */
const PACKED_BORINGSSL_ERROR = /^error:([0-9a-f]{8}):/;
const ERR_LIB_SSL = 16;
const SSL_AD_REASON_OFFSET = 1000;
const SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE = 0xc0;
const CERTIFICATE_VERDICTS = new Set<ErrorCode>([
  'ERR_TLS_CERT_UNTRUSTED',
  'ERR_TLS_CERT_EXPIRED',
  'ERR_TLS_HOSTNAME_MISMATCH',
]);

/** The reason of a packed BoringSSL error of the SSL library, or null for another library or message. */
function sslReasonOf(message: string): number | null {
  const packed = PACKED_BORINGSSL_ERROR.exec(message);
  if (!packed) return null;
  const code = Number.parseInt(packed[1]!, 16);
  return code >>> 24 === ERR_LIB_SSL ? code & 0xfff : null;
}

function codeOf(nativeCode: unknown, message: string, phase: ErrorPhase): ErrorCode {
  if (nativeCode === 'EPROTO') {
    const reason = sslReasonOf(message);
    if (reason !== null && reason >= SSL_AD_REASON_OFFSET) return 'ERR_TLS_ALERT';
    if (reason === SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return 'ERR_TLS_CERT_MISSING';
  }
  return (
    errorCodeForNative(nativeCode, phase) ??
    (phase === 'handshake' ? 'ERR_TLS_PROTOCOL' : 'ERR_SOCKET_CLOSED')
  );
}

/** A Bun error as a SecureSocketError with its spec §5 code; the Bun error stays the cause. */
export function fromBunError(error: unknown, phase: ErrorPhase): SecureSocketError {
  if (isSecureSocketError(error)) return error;
  const nativeCode = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new SecureSocketError(codeOf(nativeCode, message, phase), message, { phase, cause: error });
}

/** Why a handshake ended when its socket closed: the runtime's error, or a bare close (the peer's FIN). */
export function closedDuringHandshake(error: Error | undefined): SecureSocketError {
  return error
    ? fromBunError(error, 'handshake')
    : new SecureSocketError('ERR_CONNECTION_RESET', 'The connection closed during the TLS handshake', {
        phase: 'handshake',
      });
}

/** Whether a failed handshake failed only on the certificate check (what verification turned off forgives). */
export function isCertificateVerdict(error: Error | null): boolean {
  return (
    error !== null &&
    CERTIFICATE_VERDICTS.has(codeOf((error as { code?: unknown }).code, error.message, 'handshake'))
  );
}

/** Whether a failed handshake failed on the host name only (the chain itself verified). */
export function isHostnameVerdict(error: Error | null): boolean {
  return (
    error !== null &&
    codeOf((error as { code?: unknown }).code, error.message, 'handshake') === 'ERR_TLS_HOSTNAME_MISMATCH'
  );
}

/** connect() and listen() run only where Bun's native sockets exist; importing the package works anywhere. */
export function assertBunRuntime(operation: 'connect' | 'listen'): void {
  if (typeof globalThis.Bun === 'undefined') {
    throw new SecureSocketError(
      'ERR_RUNTIME_UNSUPPORTED',
      `@closenotify/bun: ${operation}() needs Bun's native sockets and globalThis.Bun is missing; use the adapter for this runtime`,
      { phase: 'connect' },
    );
  }
}
