import {
  type ConnectOptions,
  connectWith,
  type OpenContext,
  type ResolvedConnectOptions,
  type ShutdownableSecureSocket,
  serverNameIndication,
} from '@closenotify/core';
import { capabilities } from './capabilities.ts';
import { closeIfOpen, fromDenoError, hasDenoRuntime, runtimeUnsupported, unsupported } from './errors.ts';
import { establishDenoTransport } from './socket.ts';
import { connectPlaintext } from './starttls/client.ts';

/**
 * Connects and resolves once the handshake is done and the peer verified; with
 * `secureTransport: 'starttls'`, once TCP is connected, with a plaintext socket (starttls/). Deno always verifies;
 * `caCerts` adds to Deno's root store (Mozilla's, the system's with DENO_TLS_CA_STORE, DENO_CERT's)
 * and never replaces it, so core lets `ca` through only with caAddsToDefaultTrust: true.
 */
export function connect(options: ConnectOptions): Promise<ShutdownableSecureSocket> {
  if (!hasDenoRuntime()) return Promise.reject(runtimeUnsupported());
  return connectWith(options, capabilities, async (context, resolved) => {
    if (resolved.secureTransport === 'starttls') return connectPlaintext(context, resolved);
    const { cert, key } = resolved;
    const conn =
      cert !== undefined && key !== undefined
        ? await connectTlsWithCertificate(context, resolved, { cert, key })
        : await startTlsOverTcp(context, resolved);
    // rustls never sends an IP address as SNI, and verifies it against the certificate's IP addresses.
    return establishDenoTransport(conn, context, {
      servername: serverNameIndication(resolved.servername),
      authorized: true,
    });
  });
}

/** TCP first, because only a TcpConn has setNoDelay/setKeepAlive, then TLS over it. */
async function startTlsOverTcp(context: OpenContext, options: ResolvedConnectOptions): Promise<Deno.TlsConn> {
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname: options.hostname, port: options.port, signal: context.signal });
  } catch (error) {
    throw fromDenoError(error, 'connect');
  }
  context.connected();
  try {
    tcp.setNoDelay(options.noDelay);
    if (options.keepAlive) tcp.setKeepAlive(true);
    // startTls' `hostname` is the name sent as SNI and verified, not where to connect.
    return await Deno.startTls(tcp, {
      hostname: options.servername,
      caCerts: options.ca,
      alpnProtocols: options.alpn,
    });
  } catch (error) {
    closeIfOpen(tcp);
    throw fromDenoError(error, 'handshake');
  }
}

/**
 * Deno.startTls takes no client certificate; only Deno.connectTls does. Its TlsConn has no
 * setNoDelay, so the first exchange waits about 40 ms for the peer's delayed ACK (Nagle), and no
 * setKeepAlive (capabilities.clientCertificateSocketOptions: core refuses keepAlive and an explicit
 * noDelay: true here); and it verifies the very name it connects to, so servername must equal hostname.
 */
async function connectTlsWithCertificate(
  context: OpenContext,
  options: ResolvedConnectOptions,
  certificate: { cert: string; key: string },
): Promise<Deno.TlsConn> {
  if (options.servername !== options.hostname) {
    throw unsupported(
      'a servername other than hostname with a client certificate (Deno.connectTls verifies hostname)',
    );
  }
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname: options.hostname,
      port: options.port,
      caCerts: options.ca,
      alpnProtocols: options.alpn,
      ...certificate,
    });
  } catch (error) {
    throw fromDenoError(error, 'connect');
  }
  context.connected();
  return conn;
}
