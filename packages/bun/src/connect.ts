import {
  type ConnectOptions,
  connectWith,
  type ShutdownableSecureSocket,
  serverNameIndication,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { assertBunRuntime } from './errors.ts';
import { BunConnection } from './socket.ts';
import { assertLoadable, clientTlsOptions } from './tls-options.ts';

/** Connects and resolves once the handshake is done and the peer verified. */
export async function connect(options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  assertBunRuntime('connect');
  return connectWith(options, capabilities, (context, resolved) => {
    const sni = serverNameIndication(resolved.servername);
    const tls = clientTlsOptions(resolved);
    const connection = new BunConnection(
      context,
      {
        side: 'client',
        verify: !resolved.dangerouslyDisableVerification,
        servername: sni,
        verifyAddress: sni === null ? resolved.servername : null,
        noDelay: resolved.noDelay,
        keepAlive: resolved.keepAlive,
      },
      tls,
    );
    try {
      assertLoadable(tls);
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
