import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { cipherOf, netAddressOf, type SessionInfo, tlsVersionOf } from '@closenotify/core';

/**
 * node:tls on Deno reports the version and cipher too, which a native TlsConn does not; the peer's
 * certificate stays null, as on every Deno socket (capabilities.sessionInfo.peerCertificate).
 */
export function nodeTlsSessionOf(tls: TLSSocket, raw: Socket, servername: string | null): SessionInfo {
  return {
    protocol: tlsVersionOf(tls.getProtocol()),
    cipher: cipherOf(tls.getCipher()),
    alpnProtocol: typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : null,
    servername,
    peerCertificate: null,
    authorized: tls.authorized,
    localAddress: netAddressOf(raw.localAddress, raw.localPort),
    remoteAddress: netAddressOf(raw.remoteAddress, raw.remotePort),
  };
}
