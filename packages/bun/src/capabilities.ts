import type { Capabilities } from '@closenotify/core';

/** What @closenotify/bun can do on Bun 1.4.5; the conformance suite checks every flag. */
export const capabilities: Capabilities = Object.freeze({
  // socket.shutdown() puts close_notify and the FIN on the wire at once and reading goes on.
  halfClose: true,
  // Core discards and counts while the adapter keeps reading (Bun's own shutdown(true) would stall the peer).
  shutdownRead: true,
  // Bun's `end` is the same for close_notify, a bare FIN and a FIN mid-record: the adapter opens the
  // peer's last record itself (upgradeTLS ciphertext plus the key log, see socket.ts).
  truncationDetection: true,
  // socket.terminate(): SO_LINGER 0, a TCP RST.
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
  // setKeepAlive(true, ms) sets TCP_KEEPIDLE in whole seconds (7000 ms: `ss` shows 6.99 s).
  keepAliveInitialDelay: true,
  serverNoDelay: true,
  serverKeepAlive: true,
  clientCertificateSocketOptions: true,
  idleTimeout: true,
  // Plain Bun sockets until startTls(), then the same TLS paths as a direct connect or accept (plaintext.ts).
  startTls: true,
  server: true,
  clientCertificates: true,
  disableVerification: true,
  versionBounds: true,
  requestClientCertificates: true,
  // terminate() ends an accepted socket at once, from its `open` handler before any TLS byte.
  dropDuringHandshake: true,
  // BoringSSL gets `ca` as the whole trust store, as in Node.
  exclusiveCa: true,
  // A server that may negotiate TLS 1.2 runs node:tls over a Duplex, whose ciphertext shows its own
  // hello random: the client's last alert is opened in both versions (duplex-server.ts).
  tls12ServerCloseNotify: true,
});
