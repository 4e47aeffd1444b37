/** Opens one secure connection to the target the way every check needs it: direct TLS or STARTTLS. */
import type { ConnectOptions, ShutdownableSecureSocket, TlsVersion } from '@closenotify/core';
import { negotiateStartTls } from './protocols.ts';
import type { ProbeAdapter, ProbeOptions } from './types.ts';

export interface ConnectionPlan {
  /** Pin one version (min = max); null lets the two sides negotiate. */
  version: TlsVersion | null;
  /** false once verification failed: the other checks still run, unverified. */
  verify: boolean;
}

/** Bounds the close of a probe connection: the probe never waits long for a peer's close_notify. */
export const PROBE_CLOSE_TIMEOUT_MS = 1000;

export function servernameOf(options: ProbeOptions): string {
  return options.servername ?? options.host;
}

export async function openSecure(
  adapter: ProbeAdapter,
  options: ProbeOptions,
  plan: ConnectionPlan,
): Promise<ShutdownableSecureSocket> {
  const connectOptions: ConnectOptions = {
    hostname: options.host,
    port: options.port,
    servername: servernameOf(options),
    handshakeTimeoutMs: options.timeoutMs,
    closeTimeoutMs: PROBE_CLOSE_TIMEOUT_MS,
    ...(options.alpn.length > 0 ? { alpn: options.alpn } : {}),
    ...(plan.version ? { minVersion: plan.version, maxVersion: plan.version } : {}),
    ...(plan.verify ? {} : { dangerouslyDisableVerification: true }),
    ...(options.ca
      ? // A runtime that can only add anchors to its store (Deno) must be told that is accepted.
        { ca: options.ca.pem, caAddsToDefaultTrust: !adapter.capabilities.exclusiveCa }
      : {}),
  };
  if (!options.starttls) return adapter.connect(connectOptions);
  const plain = await adapter.connect({ ...connectOptions, secureTransport: 'starttls' });
  try {
    await negotiateStartTls(plain, options.starttls, options.timeoutMs);
  } catch (error) {
    await plain.close({ timeoutMs: 0 });
    throw error;
  }
  return plain.startTls();
}
