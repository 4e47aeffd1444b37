import type { Capabilities } from '@closenotify/core';

/** What @closenotify/deno can do on Deno 2.9.6; the conformance suite checks every flag. */
export const capabilities: Capabilities = Object.freeze({
  // closeWrite() sends close_notify and the FIN at once, and read() goes on to the peer's close_notify.
  halfClose: true,
  // Core ends delivery; the read loop keeps draining, so the peer is never blocked.
  shutdownRead: true,
  // rustls tells them apart: read() gives null after close_notify, rejects UnexpectedEof after a bare FIN.
  truncationDetection: true,
  // Deno has no RST API: abort() closes, and close() sends close_notify and a FIN.
  abortiveReset: false,
  sessionInfo: Object.freeze({
    // TlsConn.handshake() gives the ALPN protocol and nothing else about the session.
    protocol: false,
    cipher: false,
    alpnProtocol: true,
    // The name a client sent and verified; a server does not learn the client's SNI (null there).
    servername: true,
    peerCertificate: false,
    // A client only connects once rustls verified the peer; a server never verifies a client (false).
    authorized: true,
    localAddress: true,
    remoteAddress: true,
  }),
  // Client side only: TcpConn.setKeepAlive(true) before startTls; the accepted TlsConn of a server has none.
  keepAlive: true,
  // setKeepAlive takes no delay: the kernel default applies (7200 s on Linux).
  keepAliveInitialDelay: false,
  // Core's timer: Deno has no idle timeout of its own.
  idleTimeout: true,
  // Core has no startTls() on the socket yet.
  startTls: false,
  server: true,
  // A client can present one (Deno.connectTls takes cert/key); listenTls cannot ask a client for one.
  clientCertificates: true,
  // Per connection Deno can skip the hostname check only, never the chain check (a process-wide flag).
  disableVerification: false,
  // rustls negotiates TLS 1.2 or 1.3 and Deno has no option to narrow that (core refuses other bounds).
  versionBounds: false,
  // Deno.listenTls cannot ask a client for a certificate (core refuses requestClientCert).
  requestClientCertificates: false,
  // caCerts adds to the root store (Mozilla's, DENO_CERT's, DENO_TLS_CA_STORE's) and no public API
  // replaces it or shows the peer's chain: core refuses `ca` unless caAddsToDefaultTrust is true.
  exclusiveCa: false,
});
