import type { Capabilities } from '@closenotify/core';

/** What @closenotify/node can do on Node 20; the conformance suite checks every flag. */
export const capabilities: Capabilities = Object.freeze({
  halfClose: true,
  shutdownRead: true,
  // Exact: TLS runs over a Duplex the adapter feeds, which sees whether TLS ended on a close_notify
  // before the TCP EOF reached it (cipher-stream.ts).
  truncationDetection: true,
  abortiveReset: true,
  sessionInfo: Object.freeze({
    protocol: true,
    cipher: true,
    alpnProtocol: true,
    servername: true,
    peerCertificate: true,
    authorized: true,
    localAddress: true,
    remoteAddress: true,
  }),
  keepAlive: true,
  keepAliveInitialDelay: true,
  serverNoDelay: true,
  serverKeepAlive: true,
  clientCertificateSocketOptions: true,
  idleTimeout: true,
  // The plaintext phase runs on the raw socket the adapter owns; startTls() puts the same cipher stream
  // under TLS as a direct connect or accept (plaintext.ts).
  startTls: true,
  server: true,
  clientCertificates: true,
  disableVerification: true,
  versionBounds: true,
  requestClientCertificates: true,
  // The adapter holds the raw TCP socket of every accepted connection: destroy() or resetAndDestroy()
  // ends it at once, whatever the handshake is doing.
  dropDuringHandshake: true,
  // A SecureContext built with `ca` holds those anchors only (Node's root store is left out).
  exclusiveCa: true,
  tls12ServerCloseNotify: true,
});
