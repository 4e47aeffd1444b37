import { type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type ConnectOptions,
  connectWith,
  type OpenContext,
  type OpenedTransport,
  type ResolvedConnectOptions,
  type ShutdownableSecureSocket,
  serverNameIndication,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { CipherStream } from './cipher-stream.ts';
import { fromNodeError } from './errors.ts';
import { openPlaintext } from './plaintext.ts';
import { secureContextFor } from './secure-context.ts';
import { establishNodeTransport } from './socket.ts';

/**
 * Connects and resolves once the handshake is done and the peer verified; with
 * `secureTransport: 'starttls'`, once TCP is connected, with a plaintext socket whose startTls()
 * runs the same handshake over the same connection.
 */
export function connect(options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  return connectWith(options, capabilities, (context, resolved) => {
    const options: NetConnectOpts = {
      host: resolved.hostname,
      port: resolved.port,
      noDelay: resolved.noDelay,
      keepAlive: resolved.keepAlive !== false,
      keepAliveInitialDelay: resolved.keepAlive ? resolved.keepAlive.initialDelayMs : undefined,
      allowHalfOpen: true,
    };
    if (resolved.secureTransport === 'starttls') return connectPlaintext(netConnect(options), context);
    // TLS over a Duplex the adapter feeds from the raw socket: the only way to tell a close_notify
    // from a bare TCP EOF on Node (cipher-stream.ts).
    const cipher = CipherStream.connect(options);
    cipher.raw.once('connect', () => context.connected());
    return startClientTls(cipher, context, resolved);
  });
}

function connectPlaintext(raw: Socket, context: OpenContext): Promise<OpenedTransport> {
  return new Promise<OpenedTransport>((resolve, reject) => {
    const failed = (error: Error): void => {
      context.signal.removeEventListener('abort', aborted);
      reject(fromNodeError(error, 'connect'));
      raw.destroy();
    };
    const aborted = (): void => {
      raw.off('error', failed);
      raw.off('connect', connected);
      reject(context.signal.reason);
      raw.destroy();
    };
    const connected = (): void => {
      raw.off('error', failed);
      context.signal.removeEventListener('abort', aborted);
      resolve(
        // Core hands a client's upgrade the connect options with startTls()'s overrides.
        openPlaintext(raw, context.sink, (socket, upgradeContext, handoff) =>
          startClientTls(new CipherStream(socket), upgradeContext, handoff.options!),
        ),
      );
    };
    raw.once('error', failed);
    raw.once('connect', connected);
    context.signal.addEventListener('abort', aborted, { once: true });
  });
}

/** The client handshake over the cipher stream of a raw socket, connected or still connecting. */
function startClientTls(
  cipher: CipherStream,
  context: OpenContext,
  resolved: ResolvedConnectOptions,
): Promise<OpenedTransport> {
  const sni = serverNameIndication(resolved.servername);
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
}
