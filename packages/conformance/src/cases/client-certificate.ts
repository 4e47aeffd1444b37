/**
 * What a server that asks for client certificates reports for each client it must refuse: the same
 * code on every runtime and on both server paths (listen() and a STARTTLS server's startTls()).
 */
import type { ErrorCode } from '@closenotify/core';
import { CaseFailure, delay, HANG_GUARD_MS } from '../assert.ts';
import type { ClientCertificateVariant, PeerHandle, PeerReport } from '../peer-client.ts';

export interface RefusedClient {
  /** What the client presents; `null`: no certificate at all. */
  presents: Exclude<ClientCertificateVariant, 'valid'> | null;
  code: ErrorCode;
}

export const REFUSED_CLIENTS: readonly RefusedClient[] = [
  { presents: 'untrusted', code: 'ERR_TLS_CERT_UNTRUSTED' },
  { presents: 'expired', code: 'ERR_TLS_CERT_EXPIRED' },
  { presents: null, code: 'ERR_TLS_CERT_MISSING' },
];

export function describeClient(client: RefusedClient): string {
  return client.presents
    ? `a client with an ${client.presents} certificate`
    : 'a client without a certificate';
}

/**
 * The refused client learns it was refused: TLS reports an error to it (an alert from the server), or
 * the connection ends under a handshake it thought complete.
 */
export async function clientRefused(client: RefusedClient, peer: PeerHandle): Promise<void> {
  let report: PeerReport | undefined;
  const told = async (): Promise<boolean> => {
    report = await peer.report();
    return report.errors.length > 0 || report.ended;
  };
  for (const deadline = performance.now() + HANG_GUARD_MS; !(await told()); await delay(20)) {
    if (performance.now() > deadline) {
      throw new CaseFailure(
        `${describeClient(client)} saw neither an error nor an end: ${report?.log.map((entry) => entry.text).join(' | ')}`,
      );
    }
  }
}

/** Every refused client's verdict, so that one run shows each runtime's codes for all of them. */
export class RefusalVerdicts {
  readonly #wrong: string[] = [];

  record(client: RefusedClient, error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    const phase = (error as { phase?: unknown } | null)?.phase;
    if (code === client.code && phase === 'handshake') return;
    const message = error instanceof Error ? error.message : String(error);
    this.#wrong.push(
      `${describeClient(client)}: expected ${client.code}, got ${String(code)} in phase ${String(phase)} (${message})`,
    );
  }

  check(): void {
    if (this.#wrong.length > 0) throw new CaseFailure(this.#wrong.join('; '));
  }
}
