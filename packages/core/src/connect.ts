/**
 * What every adapter's connect() shares: option validation, refusing options the runtime cannot
 * honour, the handshake timeout and the caller's signal. The adapter brings only the runtime call.
 */
import { SecureSocketError } from './errors.ts';
import {
  type ResolvedConnectOptions,
  type ResolvedListenOptions,
  type ResolvedSocketOptions,
  resolveConnectOptions,
} from './options.ts';
import { SecureSocket } from './socket.ts';
import type { OpenContext, OpenedTransport } from './transport.ts';
import type { Capabilities, ConnectOptions, ShutdownableSecureSocket } from './types.ts';

export type ConnectTransport = (
  context: OpenContext,
  options: ResolvedConnectOptions,
) => Promise<OpenedTransport>;

function unsupported(what: string): SecureSocketError {
  return new SecureSocketError('ERR_UNSUPPORTED', `This runtime's adapter cannot honour ${what}`, {
    phase: 'connect',
  });
}

/** Options a runtime cannot honour are refused up front, never silently ignored. */
export function assertSupported(
  options: ResolvedSocketOptions & Partial<ResolvedConnectOptions>,
  capabilities: Capabilities,
): void {
  if (options.keepAlive && !capabilities.keepAlive) throw unsupported('keepAlive');
  if (
    options.keepAlive &&
    options.keepAlive.initialDelayMs !== undefined &&
    !capabilities.keepAliveInitialDelay
  ) {
    throw unsupported('keepAlive.initialDelayMs (only keepAlive: true)');
  }
  if (options.secureTransport === 'starttls' && !capabilities.startTls) {
    throw unsupported("secureTransport: 'starttls'");
  }
  if (options.cert !== undefined && !capabilities.clientCertificates) throw unsupported('cert/key');
  if (options.dangerouslyDisableVerification && !capabilities.disableVerification) {
    throw unsupported('dangerouslyDisableVerification');
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
    );
  }
}

/** The same refusal for listen(): what a server socket cannot honour on this runtime. */
export function assertListenSupported(options: ResolvedListenOptions, capabilities: Capabilities): void {
  assertSupported(options, capabilities);
  if (options.requestClientCert && !capabilities.requestClientCertificates)
    throw unsupported('requestClientCert');
}

export async function connectWith(
  options: ConnectOptions,
  capabilities: Capabilities,
  open: ConnectTransport,
): Promise<ShutdownableSecureSocket> {
  const resolved = resolveConnectOptions(options);
  assertSupported(resolved, capabilities);
  const socket = new SecureSocket(resolved, capabilities);
  return socket.establish((context) => open(context, resolved), { accepted: false });
}
