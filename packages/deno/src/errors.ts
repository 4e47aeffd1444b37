import {
  type ErrorCode,
  type ErrorPhase,
  errorCodeForNative,
  isSecureSocketError,
  SecureSocketError,
} from '@closenotify/core';

/*
 * Deno reports OS errors with an errno `code` (ConnectionRefused: ECONNREFUSED, ConnectionReset:
 * ECONNRESET), which core maps. TLS failures are all `InvalidData` with rustls' Display text and no
 * code, so they are the one place where the message is matched, narrowly, with the error kept as cause.
 */
const RECEIVED_ALERT = /^received fatal alert: /;
const INVALID_CERTIFICATE = 'invalid peer certificate: ';
// rustls 0.23 prints these CertificateError variants with context ("certificate expired: verification
// time ...") or, without context, by their Debug name ("Expired").
const EXPIRED = /^(certificate expired|Expired|certificate not valid yet|NotValidYet)\b/;
const WRONG_HOST = /^(certificate not valid for name|NotValidForName)\b/;
// Self-signed and unknown-CA chains are both UnknownIssuer in webpki; a self-signed certificate that
// is marked as a CA (`openssl req -x509` does so by default) is CaUsedAsEndEntity.
// A chain valid for another purpose only (extendedKeyUsage without serverAuth) is InvalidPurpose, which
// rustls prints with context: "certificate does not allow extended key usage for server authentication, ...".
const UNTRUSTED =
  /^(UnknownIssuer|BadSignature|InvalidPurpose|certificate does not allow extended key usage|Other\(OtherError\(CaUsedAsEndEntity\)\))/;
/**
 * getaddrinfo() failed: Deno gives a plain Error (no code) with Rust's "failed to lookup address
 * information: " and the resolver's text ("Name or service not known", "Temporary failure in name
 * resolution", ...). Any of them leaves the name unresolved.
 */
const LOOKUP_FAILED = /^failed to lookup address information: /;

function tlsFailureCode(message: string): ErrorCode {
  if (RECEIVED_ALERT.test(message)) return 'ERR_TLS_ALERT';
  if (message.startsWith(INVALID_CERTIFICATE)) {
    const reason = message.slice(INVALID_CERTIFICATE.length);
    if (EXPIRED.test(reason)) return 'ERR_TLS_CERT_EXPIRED';
    if (WRONG_HOST.test(reason)) return 'ERR_TLS_HOSTNAME_MISMATCH';
    if (UNTRUSTED.test(reason)) return 'ERR_TLS_CERT_UNTRUSTED';
  }
  // "received corrupt message of type InvalidContentType" (plaintext, garbage) and every other rustls error.
  return 'ERR_TLS_PROTOCOL';
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function codeOf(error: unknown, message: string, phase: ErrorPhase): ErrorCode {
  switch (nameOf(error)) {
    case 'InvalidData':
      return tlsFailureCode(message);
    // Only reaches here before the handshake completed: afterwards an EOF is the peer's end (truncation).
    case 'UnexpectedEof':
      return 'ERR_CONNECTION_RESET';
    case 'Error':
      if (LOOKUP_FAILED.test(message)) return 'ERR_HOST_NOT_FOUND';
      break;
  }
  const nativeCode = (error as { code?: unknown } | null)?.code;
  return (
    errorCodeForNative(nativeCode, phase) ??
    (phase === 'handshake' ? 'ERR_TLS_PROTOCOL' : 'ERR_SOCKET_CLOSED')
  );
}

/** A Deno error as a SecureSocketError with its spec §5 code; the Deno error stays the cause. */
export function fromDenoError(error: unknown, phase: ErrorPhase): SecureSocketError {
  if (isSecureSocketError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SecureSocketError(codeOf(error, message, phase), message, { phase, cause: error });
}

/**
 * An error of Deno's node:net or node:tls (the STARTTLS path): a Node `code` where Deno's node layer
 * sets one (ECONNRESET, ERR_SSL_...), else the Deno error underneath (rustls' text).
 */
export function fromNodeCompatError(error: unknown, phase: ErrorPhase): SecureSocketError {
  if (isSecureSocketError(error)) return error;
  const code = errorCodeForNative((error as { code?: unknown } | null)?.code, phase);
  if (code === undefined) return fromDenoError(error, phase);
  const message = error instanceof Error ? error.message : String(error);
  return new SecureSocketError(code, message, { phase, cause: error });
}

/** Deno.listenTls throws a plain Error for a key it cannot parse or that does not match the certificate. */
export function fromListenError(error: unknown): SecureSocketError {
  if (nameOf(error) !== 'Error') return fromDenoError(error, 'server');
  return new SecureSocketError('ERR_INVALID_OPTION', `Deno rejected cert/key: ${(error as Error).message}`, {
    phase: 'server',
    cause: error,
  });
}

/** rustls' verdict on an EOF that came without close_notify (after the handshake: a truncation). */
export function isTruncation(error: unknown): boolean {
  return nameOf(error) === 'UnexpectedEof';
}

export function unsupported(what: string): SecureSocketError {
  return new SecureSocketError('ERR_UNSUPPORTED', `Deno cannot honour ${what}`, { phase: 'connect' });
}

export function runtimeUnsupported(): SecureSocketError {
  return new SecureSocketError(
    'ERR_RUNTIME_UNSUPPORTED',
    '@closenotify/deno needs Deno: globalThis.Deno is missing',
    {
      phase: 'connect',
    },
  );
}

/** Import-time safe: the check runs when connect() or listen() is called, so tooling can still import us. */
export function hasDenoRuntime(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno === 'object';
}

/**
 * Closes a Deno resource that may already be gone (consumed by startTls, or closed before): only
 * that BadResource is expected, so only that is swallowed.
 */
export function closeIfOpen(resource: { close(): void }): void {
  try {
    resource.close();
  } catch (error) {
    if (nameOf(error) !== 'BadResource') throw error;
  }
}
