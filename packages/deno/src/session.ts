import { netAddressOf, type SessionInfo } from '@closenotify/core';

/** What we know about the peer's identity, which Deno itself does not report. */
export interface PeerIdentity {
  /** The name a client sent and verified; null on a server (Deno does not expose the client's SNI). */
  servername: string | null;
  /** A client: rustls verified the chain and the name before the handshake resolved. A server: never verified. */
  authorized: boolean;
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
    localAddress: netAddressOf(conn.localAddr.hostname, conn.localAddr.port),
    remoteAddress: netAddressOf(conn.remoteAddr.hostname, conn.remoteAddr.port),
  };
}
