/**
 * The wire observer of the conformance suite: a loopback TCP relay that forwards bytes between the
 * socket under test and the scriptable peer, and reports per direction, in order, what went over
 * the wire: TLS records (decrypted with the peer's keylog secrets), TCP FIN and TCP RST.
 */

// The event vocabulary is the one the cases read (src/peer-client.ts): one definition for both.
import type { WireEvent } from '../../src/peer-client.ts';

export type { Direction, WireEvent } from '../../src/peer-client.ts';

export interface ObservedConnection {
  readonly id: number;
  /**
   * Decoded events so far, both directions interleaved in arrival order. Decoding happens lazily
   * at call time, so keylog lines that arrive late are still used.
   */
  events(): WireEvent[];
  /** Resolves when both directions have ended (FIN/RST/close seen on both relay sockets). */
  readonly ended: Promise<void>;
}

export interface Relay {
  /** Listening on 127.0.0.1. */
  readonly port: number;
  /** Feed one NSS keylog line (Buffer or string, with or without trailing newline). */
  keylog(line: string | Uint8Array): void;
  /** In accept order. */
  connections(): ObservedConnection[];
  /** Stops listening, destroys every relay socket, resolves when all are closed. */
  close(): Promise<void>;
}

export { startRelay } from './relay.ts';

/**
 * Compact rendering for failure messages, e.g. "c2s data(5) c2s alert(close_notify) c2s fin s2c fin".
 * Handshake and ChangeCipherSpec events are left out unless `verbose`.
 */
export function summarize(events: WireEvent[], options: { verbose?: boolean } = {}): string {
  return events
    .filter((event) => options.verbose || (event.kind !== 'handshake' && event.kind !== 'ccs'))
    .map((event) => `${event.dir} ${describe(event)}`)
    .join(' ');
}

function describe(event: WireEvent): string {
  switch (event.kind) {
    case 'handshake':
      return `handshake(${event.type})`;
    case 'ccs':
      return 'ccs';
    case 'data':
      return `data(${event.bytes})`;
    case 'alert':
      return event.level === 'fatal' ? `alert(fatal:${event.description})` : `alert(${event.description})`;
    case 'undecryptable':
      return `undecryptable(${event.contentType}:${event.length})`;
    case 'garbage':
      return `garbage(${event.bytes})`;
    case 'plaintext':
      return `plaintext(${event.bytes})`;
    case 'partial-record':
      return `partial-record(${event.have}/${event.need})`;
    case 'fin':
    case 'rst':
      return event.kind;
  }
}
