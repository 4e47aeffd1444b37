import type { TLSSocket } from 'node:tls';
import { cipherOf, netAddressOf, peerCertificateOf, type SessionInfo, tlsVersionOf } from '@closenotify/core';
import type { Socket } from 'bun';

/**
 * What the handshake established. Read in the `handshake` handler: before it, getTLSVersion()
 * already answers 'TLSv1.2' on a socket still negotiating.
 */
export function sessionOf(socket: Socket<unknown>, servername: string | null): SessionInfo {
  return {
    protocol: tlsVersionOf(socket.getTLSVersion()),
    cipher: cipherOf(socket.getCipher()),
    // false when no protocol was agreed: null in the contract.
    alpnProtocol: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
    servername,
    // Undefined when the peer sent none (a client the server did not ask for a certificate).
    peerCertificate: peerCertificateOf(socket.getPeerX509Certificate()),
    authorized: socket.authorized,
    localAddress: netAddressOf(socket.localAddress, socket.localPort),
    remoteAddress: netAddressOf(socket.remoteAddress, socket.remotePort),
  };
}

/** The same for node:tls over a Duplex (duplex-server.ts): the addresses are the raw socket's. */
export function duplexSessionOf(
  tls: TLSSocket,
  raw: Socket<unknown>,
  servername: string | null,
): SessionInfo {
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
