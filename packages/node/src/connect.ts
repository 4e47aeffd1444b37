import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type ConnectOptions,
  connectWith,
  type ShutdownableSecureSocket,
  serverNameIndication,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { CipherStream } from './cipher-stream.ts';
import { secureContextFor } from './secure-context.ts';
import { establishNodeTransport } from './socket.ts';

/** Connects and resolves once the handshake is done and the peer verified. */
export function connect(options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  return connectWith(options, capabilities, (context, resolved) => {
    const raw = netConnect({
      host: resolved.hostname,
      port: resolved.port,
      noDelay: resolved.noDelay,
      keepAlive: resolved.keepAlive !== false,
      keepAliveInitialDelay: resolved.keepAlive ? resolved.keepAlive.initialDelayMs : undefined,
      allowHalfOpen: true,
    });
    raw.once('connect', () => context.connected());
    const sni = serverNameIndication(resolved.servername);
    // TLS over a Duplex the adapter feeds from the raw socket: the only way to tell a close_notify
    // from a bare TCP EOF on Node (cipher-stream.ts).
    const cipher = new CipherStream(raw);
    const tls = tlsConnect({
      socket: cipher,
      // Node sends `servername` as SNI even when it is an IP address (with a process-wide deprecation
      // warning). Without one it sends none and verifies the certificate against `host`, which over an
      // existing socket is used for nothing else.
      ...(sni === null ? { host: resolved.servername } : { servername: sni }),
      ALPNProtocols: resolved.alpn,
      rejectUnauthorized: !resolved.dangerouslyDisableVerification,
      secureContext: secureContextFor(resolved),
      // Half-open comes from the cipher stream (TLSSocket copies socket.allowHalfOpen).
    });
    return establishNodeTransport(
      { tls, cipher, secureEvent: 'secureConnect', servername: () => sni },
      context,
    );
  });
}
