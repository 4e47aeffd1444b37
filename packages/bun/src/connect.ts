import {
  type ConnectOptions,
  connectWith,
  type OpenContext,
  type OpenedTransport,
  type ResolvedConnectOptions,
  type ShutdownableSecureSocket,
  serverNameIndication,
} from '@closenotify/core';
import type { Socket, TLSOptions } from 'bun';
import { capabilities } from './capabilities.ts';
import { assertBunRuntime, fromBunError } from './errors.ts';
import { BunPlaintext } from './plaintext.ts';
import { BunConnection, type ConnectionSettings } from './socket.ts';
import { clientTlsOptions } from './tls-options.ts';

/** A STARTTLS socket's raw half routes to the TLS connection once it upgraded (plaintext.ts). */
const plaintextHandlers = BunPlaintext.connectHandlers(BunConnection.rawEvents);

/**
 * Connects and resolves once the handshake is done and the peer verified; with
 * `secureTransport: 'starttls'`, once TCP is connected, with a plaintext socket whose startTls()
 * runs the same handshake over the same connection.
 */
export async function connect(options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  assertBunRuntime('connect');
  return connectWith(options, capabilities, (context, resolved) => {
    if (resolved.secureTransport === 'starttls') return connectPlaintext(context, resolved);
    let tls: TLSOptions;
    try {
      tls = clientTlsOptions(resolved);
    } catch (error) {
      return Promise.reject(fromBunError(error, 'connect'));
    }
    const connection = new BunConnection(context, clientSettings(resolved), tls);
    try {
      Bun.connect({
        hostname: resolved.hostname,
        port: resolved.port,
        // Core decides when to answer the peer's close_notify; Bun would close on the peer's FIN.
        allowHalfOpen: true,
        data: connection,
        // Plain TCP: the connection upgrades it at once, keeping a view of the ciphertext (socket.ts).
        socket: BunConnection.connectHandlers,
      }).catch((error: unknown) => connection.failToConnect(error));
    } catch (error) {
      connection.failToConnect(error);
    }
    return connection.opened;
  });
}

function connectPlaintext(context: OpenContext, resolved: ResolvedConnectOptions): Promise<OpenedTransport> {
  // Core hands a client's upgrade the connect options with startTls()'s overrides.
  const plaintext = new BunPlaintext(context, resolved, (raw, upgradeContext, handoff) =>
    startClientTls(raw as Socket<BunConnection>, upgradeContext, handoff.options!),
  );
  try {
    Bun.connect({
      hostname: resolved.hostname,
      port: resolved.port,
      allowHalfOpen: true,
      data: plaintext as unknown,
      socket: plaintextHandlers,
    }).catch((error: unknown) => plaintext.failToConnect(error));
  } catch (error) {
    plaintext.failToConnect(error);
  }
  return plaintext.opened;
}

/** The handshake of a direct connect, over a socket that was plaintext until now. */
function startClientTls(
  raw: Socket<BunConnection>,
  context: OpenContext,
  resolved: ResolvedConnectOptions,
): Promise<OpenedTransport> {
  let tls: TLSOptions;
  try {
    tls = clientTlsOptions(resolved);
  } catch (error) {
    raw.terminate();
    return Promise.reject(fromBunError(error, 'handshake'));
  }
  return BunConnection.upgrade(raw, context, clientSettings(resolved), tls);
}

function clientSettings(resolved: ResolvedConnectOptions): ConnectionSettings {
  const sni = serverNameIndication(resolved.servername);
  return {
    side: 'client',
    verify: !resolved.dangerouslyDisableVerification,
    servername: sni,
    verifyAddress: sni === null ? resolved.servername : null,
    noDelay: resolved.noDelay,
    keepAlive: resolved.keepAlive,
  };
}
