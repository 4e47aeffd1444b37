/**
 * The error codes Node and Bun attach to their errors (`err.code`: errno names, OpenSSL verify
 * results, Node's ERR_SSL_* and ERR_TLS_*) mapped to spec §5 codes. Shared because Bun reports
 * Node's codes: mapping by code, never by message, is the only portable way (the texts differ).
 */
import { type ErrorCode, type ErrorPhase, SecureSocketError } from './errors.ts';

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  // The chain verifies but is not valid for a TLS server (extendedKeyUsage without serverAuth).
  'INVALID_PURPOSE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/**
 * getaddrinfo() failed. Node and Bun report "no such name" (EAI_NONAME, EAI_NODATA) as ENOTFOUND and the
 * other failures by their EAI_ name; a resolver that failed for now (EAI_AGAIN) or for good (EAI_FAIL)
 * still leaves the name unresolved, and the native error stays the cause.
 */
const HOST_NOT_FOUND = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA', 'EAI_AGAIN', 'EAI_FAIL']);

/** The spec §5 code for a native error code, or undefined when the code is not a known one. */
export function errorCodeForNative(nativeCode: unknown, phase: ErrorPhase): ErrorCode | undefined {
  if (typeof nativeCode !== 'string') return undefined;
  if (UNTRUSTED.has(nativeCode)) return 'ERR_TLS_CERT_UNTRUSTED';
  if (EXPIRED.has(nativeCode)) return 'ERR_TLS_CERT_EXPIRED';
  if (HOST_NOT_FOUND.has(nativeCode)) return 'ERR_HOST_NOT_FOUND';
  switch (nativeCode) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH':
      return 'ERR_TLS_HOSTNAME_MISMATCH';
    case 'ECONNREFUSED':
      return 'ERR_CONNECT_REFUSED';
    case 'ETIMEDOUT':
      return phase === 'connect' ? 'ERR_CONNECT_TIMEOUT' : 'ERR_CONNECTION_RESET';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    // The peer dropped the connection before we could use it (a RST on accept that lands while
    // socket options are set or TLS starts).
    case 'ENOTCONN':
      return 'ERR_CONNECTION_RESET';
    case 'EPROTO':
      return 'ERR_TLS_PROTOCOL';
    case 'EADDRINUSE':
      return 'ERR_ADDRESS_IN_USE';
    // A server that requires a client certificate got none (OpenSSL's reason, as Node names it).
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'ERR_TLS_CERT_MISSING';
  }
  // The certificate or key given could not be parsed (Node's OpenSSL, Bun's BoringSSL).
  if (nativeCode.startsWith('ERR_OSSL_') || nativeCode.startsWith('ERR_BORINGSSL'))
    return 'ERR_INVALID_OPTION';
  // A fatal alert the peer sent us: ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, ...
  if (/^ERR_SSL_(TLSV1|TLSV13|SSLV3)_ALERT_/.test(nativeCode)) return 'ERR_TLS_ALERT';
  if (nativeCode.startsWith('ERR_SSL_')) return 'ERR_TLS_PROTOCOL';
  return undefined;
}

/**
 * The refusal of a client whose handshake completed without a verified certificate, on a server that
 * requires one and lets node:tls finish the handshake (rejectUnauthorized off) so that it learns why:
 * node:tls with rejectUnauthorized on drops such a client without telling the server anything.
 * `verifyResult` is the TLS socket's authorizationError, the name of OpenSSL's verify result. A client
 * that sent no certificate is ERR_TLS_CERT_MISSING; any other failed verification of a chain it sent is
 * untrusted unless it names a known verdict (expired).
 */
export function clientCertificateRefusal(verifyResult: unknown, presented: boolean): SecureSocketError {
  if (!presented) {
    return new SecureSocketError('ERR_TLS_CERT_MISSING', 'The client presented no certificate', {
      phase: 'handshake',
    });
  }
  const name = typeof verifyResult === 'string' ? verifyResult : String(verifyResult ?? 'unknown');
  const code = errorCodeForNative(name, 'handshake');
  return new SecureSocketError(
    code === 'ERR_TLS_CERT_EXPIRED' ? code : 'ERR_TLS_CERT_UNTRUSTED',
    `The client certificate was refused: ${name}`,
    { phase: 'handshake', cause: verifyResult },
  );
}
