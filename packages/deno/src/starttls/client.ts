import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type OpenContext,
  type OpenedTransport,
  type ResolvedConnectOptions,
  serverNameIndication,
} from '@closenotify/core';
import { fromNodeCompatError } from '../errors.ts';
import { CipherStream } from './cipher-stream.ts';
import { openPlaintext } from './plaintext.ts';
import { establishTlsTransport } from './tls-transport.ts';

/** Resolves once TCP is connected, with a plaintext socket whose startTls() runs node:tls over it. */
export function connectPlaintext(
  context: OpenContext,
  options: ResolvedConnectOptions,
): Promise<OpenedTransport> {
  const raw = netConnect({
    host: options.hostname,
    port: options.port,
    noDelay: options.noDelay,
    keepAlive: options.keepAlive !== false,
    allowHalfOpen: true,
  });
  return new Promise<OpenedTransport>((resolve, reject) => {
    const failed = (error: Error): void => {
      context.signal.removeEventListener('abort', aborted);
      reject(fromNodeCompatError(error, 'connect'));
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
      // Core hands a client's upgrade the connect options with startTls()'s overrides.
      resolve(
        openPlaintext(raw, context.sink, (socket, upgrade, handoff) =>
          startClientTls(socket, upgrade, handoff.options!),
        ),
      );
    };
    raw.once('error', failed);
    raw.once('connect', connected);
    context.signal.addEventListener('abort', aborted, { once: true });
  });
}

/** The client handshake over the connected socket: Deno's node:tls verifies chain and name (rustls). */
function startClientTls(
  raw: Socket,
  context: OpenContext,
  options: ResolvedConnectOptions,
): Promise<OpenedTransport> {
  const cipher = new CipherStream(raw);
  const tls = tlsConnect({
    socket: cipher,
    // The name verified (and sent as SNI unless it is an IP address, which rustls never sends).
    host: options.servername,
    servername: options.servername,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    ALPNProtocols: options.alpn,
    rejectUnauthorized: true,
  });
  return establishTlsTransport(
    { tls, cipher, secureEvent: 'secureConnect', servername: serverNameIndication(options.servername) },
    context,
  );
}
