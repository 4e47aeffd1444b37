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
    // TlsConn.handshake() gives the ALPN protocol and nothing else about the session (a socket that
    // startTls() upgraded, over node:tls, reports the version and cipher too).
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
  // TcpConn.setKeepAlive(true) before startTls (client side; see serverKeepAlive).
  keepAlive: true,
  // setKeepAlive takes no delay: the kernel default applies (7200 s on Linux).
  keepAliveInitialDelay: false,
  // An accepted TlsConn has no setNoDelay: TCP_NODELAY stays clear (Nagle on) whatever noDelay says,
  // and core refuses an explicit noDelay: true on a server.
  serverNoDelay: false,
  // Nor setKeepAlive: core refuses keepAlive on a server.
  serverKeepAlive: false,
  // A client certificate needs Deno.connectTls, whose TlsConn has neither: Nagle stays on, and core
  // refuses keepAlive and an explicit noDelay: true with cert/key.
  clientCertificateSocketOptions: false,
  // Core's timer: Deno has no idle timeout of its own.
  idleTimeout: true,
  // Both roles, over node:net and node:tls (starttls/): Deno.startTls is client-only and cannot take a
  // TcpConn with a read pending.
  startTls: true,
  server: true,
  // A client can present one (Deno.connectTls takes cert/key); listenTls cannot ask a client for one.
  clientCertificates: true,
  // Per connection Deno can skip the hostname check only, never the chain check (a process-wide flag).
  disableVerification: false,
  // rustls negotiates TLS 1.2 or 1.3 and Deno has no option to narrow that (core refuses other bounds).
  versionBounds: false,
  // Deno.listenTls cannot ask a client for a certificate (core refuses requestClientCert).
  requestClientCertificates: false,
  // An accepted TlsConn runs its handshake in the background from accept() on, and close() does not
  // stop it: a silent client keeps its TCP connection until it sends or closes (measured: still open
  // after 10 minutes), and a refused client still completes its handshake before the close_notify.
  dropDuringHandshake: false,
  // caCerts adds to the root store (Mozilla's, DENO_CERT's, DENO_TLS_CA_STORE's) and no public API
  // replaces it or shows the peer's chain: core refuses `ca` unless caAddsToDefaultTrust is true.
  exclusiveCa: false,
  tls12ServerCloseNotify: true,
});
