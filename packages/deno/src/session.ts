import type { NetAddress, SessionInfo } from '@closenotify/core';

/** What we know about the peer's identity, which Deno itself does not report. */
export interface PeerIdentity {
  /** The name a client sent and verified; null on a server (Deno does not expose the client's SNI). */
  servername: string | null;
  /** A client: rustls verified the chain and the name before the handshake resolved. A server: never verified. */
  authorized: boolean;
}

function addressOf(address: Deno.NetAddr): NetAddress {
  return { hostname: address.hostname, port: address.port };
}

/** Deno's handshake reports only the ALPN protocol: version, cipher and certificate are null, never a guess. */
export function sessionOf(
  conn: Deno.TlsConn,
  handshake: Deno.TlsHandshakeInfo,
  peer: PeerIdentity,
): SessionInfo {
  return {
    protocol: null,
    cipher: null,
    alpnProtocol: handshake.alpnProtocol,
    servername: peer.servername,
    peerCertificate: null,
    authorized: peer.authorized,
    localAddress: addressOf(conn.localAddr),
    remoteAddress: addressOf(conn.remoteAddr),
  };
}
