/**
 * The STARTTLS injection defence (CVE-2011-0411, CVE-2021-23222): what a plaintext socket may still hold
 * unread when startTls() hands its connection to TLS. Adapters only report bytes; the rule is here, so
 * every runtime refuses the same bytes with the same code.
 */
import { SecureSocketError } from './errors.ts';

/** TLS record content type of handshake messages (RFC 8446 §5.1). */
const HANDSHAKE_RECORD = 22;

/**
 * Whether `bytes` can be the start of a TLS handshake record: content type 22 and a 3.x legacy record
 * version (a ClientHello record says 3.1 or 3.3; 3.0 to 3.4 are let through and TLS judges the rest).
 * A prefix too short to show the version is let through as well: TLS reads the rest from the wire.
 */
export function beginsHandshakeRecord(bytes: Uint8Array): boolean {
  if (bytes[0] !== HANDSHAKE_RECORD) return false;
  if (bytes.length > 1 && bytes[1] !== 3) return false;
  return bytes.length <= 2 || bytes[2]! <= 4;
}

/**
 * Why the upgrade must be refused, or undefined when it may go on. A client must have read everything:
 * the server sends nothing between its go-ahead and our ClientHello, so anything waiting was injected
 * (or pipelined by a server that does not wait for us). A server may hold the client's ClientHello,
 * which can arrive before the server's own startTls() call, and nothing else.
 */
export function upgradeRefusal(
  role: 'client' | 'server',
  unread: Uint8Array | undefined,
): SecureSocketError | undefined {
  if (unread === undefined || unread.byteLength === 0) return undefined;
  if (role === 'server' && beginsHandshakeRecord(unread)) return undefined;
  const what =
    role === 'client'
      ? 'the server sent plaintext that was not read before the handshake'
      : 'the client sent plaintext that is not a TLS handshake after its STARTTLS request';
  return new SecureSocketError(
    'ERR_STARTTLS_REFUSED',
    `startTls() refused: ${what} (${unread.byteLength} bytes; STARTTLS command injection, CVE-2011-0411); the connection was closed`,
    { phase: 'handshake' },
  );
}
