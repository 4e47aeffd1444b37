import type { X509Certificate } from 'node:crypto';
import type { NetAddress, SessionInfo, TlsVersion } from '@closenotify/core';
import type { Socket } from 'bun';

function addressOf(hostname: string | undefined, port: number | undefined): NetAddress | null {
  return hostname && port ? { hostname, port } : null;
}

function versionOf(protocol: string | null | undefined): TlsVersion | null {
  return protocol === 'TLSv1.2' || protocol === 'TLSv1.3' ? protocol : null;
}

/**
 * What the handshake established. Read in the `handshake` handler: before it, getTLSVersion()
 * already answers 'TLSv1.2' on a socket still negotiating.
 */
export function sessionOf(socket: Socket<unknown>, servername: string | null): SessionInfo {
  const cipher = socket.getCipher();
  // Undefined when the peer sent none (a client the server did not ask for a certificate).
  const certificate: X509Certificate | undefined = socket.getPeerX509Certificate();
  return {
    protocol: versionOf(socket.getTLSVersion()),
    cipher: cipher ? { name: cipher.name, standardName: cipher.standardName } : null,
    // false when no protocol was agreed: null in the contract.
    alpnProtocol: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
    servername,
    peerCertificate: certificate
      ? {
          subject: certificate.subject,
          issuer: certificate.issuer,
          validFrom: certificate.validFrom,
          validTo: certificate.validTo,
          fingerprint256: certificate.fingerprint256,
          subjectAltNames: certificate.subjectAltName?.split(', ') ?? [],
        }
      : null,
    authorized: socket.authorized,
    localAddress: addressOf(socket.localAddress, socket.localPort),
    remoteAddress: addressOf(socket.remoteAddress, socket.remotePort),
  };
}
