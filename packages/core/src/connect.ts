/**
 * What every adapter's connect() shares: option validation, refusing options the runtime cannot
 * honour, the handshake timeout and the caller's signal. The adapter brings only the runtime call.
 */
import { type ErrorPhase, SecureSocketError } from './errors.ts';
import {
  type ResolvedConnectOptions,
  type ResolvedListenOptions,
  type ResolvedSocketOptions,
  resolveConnectOptions,
} from './options.ts';
import { SecureSocket, socketMode } from './socket.ts';
import type { OpenContext, OpenedTransport } from './transport.ts';
import type { Capabilities, ConnectOptions, ShutdownableSecureSocket } from './types.ts';

export type ConnectTransport = (
  context: OpenContext,
  options: ResolvedConnectOptions,
) => Promise<OpenedTransport>;

function unsupported(what: string, phase: ErrorPhase = 'connect'): SecureSocketError {
  return new SecureSocketError('ERR_UNSUPPORTED', `This runtime's adapter cannot honour ${what}`, { phase });
}

/** What connect() and listen() share: options a runtime cannot honour on any socket. */
function assertSocketSupported(
  options: ResolvedSocketOptions,
  capabilities: Capabilities,
  phase: ErrorPhase,
): void {
  if (
    options.keepAlive &&
    options.keepAlive.initialDelayMs !== undefined &&
    !capabilities.keepAliveInitialDelay
  ) {
    throw unsupported('keepAlive.initialDelayMs (only keepAlive: true)', phase);
  }
  // A pin to a private CA that silently also trusts every public root is worse than no option at all.
  if (options.ca !== undefined && !options.caAddsToDefaultTrust && !capabilities.exclusiveCa) {
    throw unsupported(
      'ca as the only trust anchors (here it adds to the default trust store: pass caAddsToDefaultTrust: true to accept that)',
    );
  }
  if ((options.minVersion !== 'TLSv1.2' || options.maxVersion !== 'TLSv1.3') && !capabilities.versionBounds) {
    throw unsupported(
      `minVersion/maxVersion other than TLSv1.2..TLSv1.3 (${options.minVersion}..${options.maxVersion})`,
      phase,
    );
  }
}

/**
 * Options a runtime cannot honour are refused up front, never silently ignored. A default it cannot
 * honour (noDelay) is declared in its capabilities instead: refusing it would refuse every call.
 */
export function assertSupported(options: ResolvedConnectOptions, capabilities: Capabilities): void {
  assertSocketSupported(options, capabilities, 'connect');
  if (options.keepAlive && !capabilities.keepAlive) throw unsupported('keepAlive');
  if (options.secureTransport === 'starttls' && !capabilities.startTls) {
    throw unsupported("secureTransport: 'starttls'");
  }
  if (options.cert !== undefined && !capabilities.clientCertificates) throw unsupported('cert/key');
  if (options.cert !== undefined && !capabilities.clientCertificateSocketOptions) {
    if (options.keepAlive) throw unsupported('keepAlive with a client certificate');
    if (options.noDelayRequested) throw unsupported('noDelay: true with a client certificate');
  }
  if (options.dangerouslyDisableVerification && !capabilities.disableVerification) {
    throw unsupported('dangerouslyDisableVerification');
  }
}

/** The same refusal for listen(): what an accepted socket cannot honour on this runtime. */
export function assertListenSupported(options: ResolvedListenOptions, capabilities: Capabilities): void {
  assertSocketSupported(options, capabilities, 'server');
  if (options.keepAlive && !capabilities.serverKeepAlive)
    throw unsupported('keepAlive on a server', 'server');
  if (options.noDelayRequested && !capabilities.serverNoDelay) {
    throw unsupported('noDelay: true on a server', 'server');
  }
  if (options.requestClientCert && !capabilities.requestClientCertificates) {
    throw unsupported('requestClientCert', 'server');
  }
  if (options.secureTransport === 'starttls' && !capabilities.startTls) {
    throw unsupported("secureTransport: 'starttls'", 'server');
  }
}

export async function connectWith(
  options: ConnectOptions,
  capabilities: Capabilities,
  open: ConnectTransport,
): Promise<ShutdownableSecureSocket> {
  const resolved = resolveConnectOptions(options);
  assertSupported(resolved, capabilities);
  const socket = new SecureSocket(
    resolved,
    capabilities,
    socketMode('client', resolved.secureTransport === 'starttls'),
  );
  return socket.establish((context) => open(context, resolved), 'connect');
}
