import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { cipherOf, netAddressOf, peerCertificateOf, type SessionInfo, tlsVersionOf } from '@closenotify/core';

export function sessionOf(tls: TLSSocket, raw: Socket, servername: string | null): SessionInfo {
  return {
    protocol: tlsVersionOf(tls.getProtocol()),
    cipher: cipherOf(tls.getCipher()),
    alpnProtocol: typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : null,
    servername,
    peerCertificate: peerCertificateOf(tls.getPeerX509Certificate()),
    authorized: tls.authorized,
    localAddress: netAddressOf(raw.localAddress, raw.localPort),
    remoteAddress: netAddressOf(raw.remoteAddress, raw.remotePort),
  };
}
