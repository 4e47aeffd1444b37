import { describe, expect, it } from 'vitest';
import {
  clientCertificateRefusal,
  ERROR_CODES,
  errorCodeForNative,
  isErrorCode,
  isSecureSocketError,
  SecureSocketError,
} from '../src/index.ts';

describe('SecureSocketError', () => {
  it('carries code, phase and cause', () => {
    const cause = new Error('read ECONNRESET');
    const error = new SecureSocketError('ERR_CONNECTION_RESET', 'reset', { phase: 'read', cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SecureSocketError);
    expect(error.name).toBe('SecureSocketError');
    expect(error.code).toBe('ERR_CONNECTION_RESET');
    expect(error.phase).toBe('read');
    expect(error.cause).toBe(cause);
  });

  it('is recognised across duplicate installs through its Symbol.for brand', () => {
    // What a second copy of core produces: another class, the same registered symbol.
    class OtherCopy extends Error {
      constructor() {
        super('from another copy');
        Object.defineProperty(this, Symbol.for('closenotify.SecureSocketError'), { value: true });
      }
    }
    const foreign = new OtherCopy();
    expect(foreign instanceof SecureSocketError).toBe(true);
    expect(isSecureSocketError(foreign)).toBe(true);
    expect(new Error('plain') instanceof SecureSocketError).toBe(false);
    expect(isSecureSocketError(null)).toBe(false);
  });

  it('lists every spec §5 code', () => {
    expect(ERROR_CODES).toEqual(
      expect.arrayContaining([
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
      ]),
    );
    expect(isErrorCode('ERR_ABORTED')).toBe(true);
    expect(isErrorCode('ECONNRESET')).toBe(false);
  });
});

describe('errorCodeForNative', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'handshake', 'ERR_TLS_CERT_UNTRUSTED'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'handshake', 'ERR_TLS_CERT_UNTRUSTED'],
    ['CERT_HAS_EXPIRED', 'handshake', 'ERR_TLS_CERT_EXPIRED'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'handshake', 'ERR_TLS_HOSTNAME_MISMATCH'],
    ['ECONNREFUSED', 'connect', 'ERR_CONNECT_REFUSED'],
    ['ETIMEDOUT', 'connect', 'ERR_CONNECT_TIMEOUT'],
    ['ECONNRESET', 'read', 'ERR_CONNECTION_RESET'],
    ['ENOTCONN', 'handshake', 'ERR_CONNECTION_RESET'],
    ['EPROTO', 'handshake', 'ERR_TLS_PROTOCOL'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'handshake', 'ERR_TLS_PROTOCOL'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'handshake', 'ERR_TLS_ALERT'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'handshake', 'ERR_TLS_ALERT'],
    ['INVALID_PURPOSE', 'handshake', 'ERR_TLS_CERT_UNTRUSTED'],
    ['ENOTFOUND', 'connect', 'ERR_HOST_NOT_FOUND'],
    ['EAI_AGAIN', 'connect', 'ERR_HOST_NOT_FOUND'],
    ['EAI_FAIL', 'connect', 'ERR_HOST_NOT_FOUND'],
    ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'handshake', 'ERR_TLS_CERT_MISSING'],
  ] as const)('%s in %s is %s', (native, phase, expected) => {
    expect(errorCodeForNative(native, phase)).toBe(expected);
  });

  it('leaves unknown codes to the adapter', () => {
    expect(errorCodeForNative('EWHATEVER', 'read')).toBeUndefined();
    expect(errorCodeForNative(undefined, 'read')).toBeUndefined();
  });
});

describe('errorCodeForNative for set-up errors', () => {
  it('maps a taken address and unparsable certificates', () => {
    expect(errorCodeForNative('EADDRINUSE', 'connect')).toBe('ERR_ADDRESS_IN_USE');
    expect(errorCodeForNative('ERR_OSSL_PEM_NO_START_LINE', 'connect')).toBe('ERR_INVALID_OPTION');
    expect(errorCodeForNative('ERR_BORINGSSL', 'connect')).toBe('ERR_INVALID_OPTION');
  });
});

describe('clientCertificateRefusal', () => {
  it.each([
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', true, 'ERR_TLS_CERT_UNTRUSTED'],
    ['CERT_HAS_EXPIRED', true, 'ERR_TLS_CERT_EXPIRED'],
    ['CERT_NOT_YET_VALID', true, 'ERR_TLS_CERT_EXPIRED'],
    // A verdict with no code of its own still refuses the certificate, never the connection.
    ['ECONNRESET', true, 'ERR_TLS_CERT_UNTRUSTED'],
    [undefined, true, 'ERR_TLS_CERT_UNTRUSTED'],
    ['UNSPECIFIED', false, 'ERR_TLS_CERT_MISSING'],
  ] as const)('%s (certificate presented: %s) is %s', (verifyResult, presented, expected) => {
    const error = clientCertificateRefusal(verifyResult, presented);
    expect(error.code).toBe(expected);
    expect(error.phase).toBe('handshake');
  });
});
