import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { NetAddress, SessionInfo, TlsVersion } from '@closenotify/core';

function addressOf(hostname: string | undefined, port: number | undefined): NetAddress | null {
  return hostname && port !== undefined ? { hostname, port } : null;
}

function versionOf(protocol: string | null): TlsVersion | null {
  return protocol === 'TLSv1.2' || protocol === 'TLSv1.3' ? protocol : null;
}

export function sessionOf(tls: TLSSocket, raw: Socket, servername: string | null): SessionInfo {
  const cipher = tls.getCipher();
  const certificate = tls.getPeerX509Certificate();
  return {
    protocol: versionOf(tls.getProtocol()),
    cipher: cipher ? { name: cipher.name, standardName: cipher.standardName } : null,
    alpnProtocol: typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : null,
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
    authorized: tls.authorized,
    localAddress: addressOf(raw.localAddress, raw.localPort),
    remoteAddress: addressOf(raw.remoteAddress, raw.remotePort),
  };
}
