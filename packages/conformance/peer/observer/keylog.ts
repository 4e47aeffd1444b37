/**
 * Secrets from NSS key log lines (`LABEL <client_random hex> <secret hex>`), the format OpenSSL
 * writes and Node emits through the `'keylog'` event. A connection finds its secrets by the
 * client_random of its ClientHello.
 */

export type SecretLabel =
  | 'CLIENT_RANDOM' // TLS 1.2 master secret
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0';

const LABELS: ReadonlySet<string> = new Set<SecretLabel>([
  'CLIENT_RANDOM',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
]);

const CLIENT_RANDOM_HEX = /^[0-9a-f]{64}$/;
const SECRET_HEX = /^(?:[0-9a-f]{2})+$/;

export class KeylogStore {
  readonly #secrets = new Map<string, Buffer>();

  /** Takes one line, or several separated by newlines; other labels (EXPORTER_SECRET, …) are ignored. */
  add(input: string | Uint8Array): void {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
    for (const line of text.split('\n')) {
      const [label, clientRandom, secret] = line.trim().toLowerCase().split(/\s+/);
      const upperLabel = label?.toUpperCase();
      if (!upperLabel || !LABELS.has(upperLabel) || !clientRandom || !secret) continue;
      if (!CLIENT_RANDOM_HEX.test(clientRandom) || !SECRET_HEX.test(secret)) continue;
      this.#secrets.set(`${upperLabel} ${clientRandom}`, Buffer.from(secret, 'hex'));
    }
  }

  get(label: SecretLabel, clientRandom: Buffer): Buffer | undefined {
    return this.#secrets.get(`${label} ${clientRandom.toString('hex')}`);
  }
}
