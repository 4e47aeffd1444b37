/**
 * The alphabet of model-based testing: what our side does to a socket, what the peer does to the
 * connection, and the scenario one generated sequence runs in. Plain data, so that a failing
 * sequence can be printed, stored and replayed.
 */
import type { ShutdownHow, TlsVersion, TruncationPolicy } from '../types.ts';

/** How a `write` hands its bytes over: a fresh Uint8Array, a string, or one buffer reused across writes. */
export type WriteForm = 'bytes' | 'string' | 'reused';

export type OurCommand =
  | { actor: 'us'; op: 'write'; bytes: number; form: WriteForm }
  /** `into`: read(into) into a fresh buffer of that many bytes; absent: a plain read(). */
  | { actor: 'us'; op: 'read'; into?: number }
  | { actor: 'us'; op: 'shutdown'; how: ShutdownHow }
  | { actor: 'us'; op: 'close'; timeoutMs: number }
  | { actor: 'us'; op: 'abort' }
  /** Our side waits; the peer and the runtime go on. */
  | { actor: 'us'; op: 'idle'; ms: number };

/** The peer's end of its sending direction (close_notify, a bare FIN, a FIN inside a record). */
export const PEER_ENDS = ['closeNotify', 'fin', 'finMidRecord'] as const;
/** What the peer does that kills the connection. */
export const PEER_KILLS = ['rst', 'garbage'] as const;

export type PeerCommand =
  | { actor: 'peer'; op: 'send'; bytes: number }
  | { actor: 'peer'; op: (typeof PEER_ENDS)[number] }
  | { actor: 'peer'; op: (typeof PEER_KILLS)[number] }
  | { actor: 'peer'; op: 'stopReading' | 'resumeReading' };

export type FuzzCommand = OurCommand | PeerCommand;

export interface FuzzScenario {
  /** Our socket's role: 'client' connects to the peer, 'server' accepts the peer's connection. */
  role: 'client' | 'server';
  tls: TlsVersion;
  allowHalfOpen: boolean;
  truncation: TruncationPolicy;
  commands: FuzzCommand[];
}

/** The capability flags the model's predictions depend on. */
export interface ModelCapabilities {
  truncationDetection: boolean;
  /** False: a TLS 1.2 server cannot open the client's last alert, so its close_notify is `null`. */
  tls12ServerCloseNotify: boolean;
  abortiveReset: boolean;
}

/** How many application bytes a `finMidRecord` step writes into the record it cuts (none arrive). */
export const FIN_MID_RECORD_BYTES = 1022;

/** The `close()` timeout every scenario's socket gets (`closeTimeoutMs`), so a final close() is bounded. */
export const SCENARIO_CLOSE_TIMEOUT_MS = 3000;

/** One line per command, for failure messages and the replay printout. */
export function describeCommand(command: FuzzCommand): string {
  const who = command.actor === 'us' ? 'us' : 'peer';
  switch (command.op) {
    case 'write':
      return `${who}.write(${command.bytes} B, ${command.form})`;
    case 'send':
      return `${who}.send(${command.bytes} B)`;
    case 'shutdown':
      return `${who}.shutdown('${command.how}')`;
    case 'close':
      return `${who}.close({ timeoutMs: ${command.timeoutMs} })`;
    case 'idle':
      return `${who}.idle(${command.ms} ms)`;
    case 'read':
      return command.into === undefined ? `${who}.read()` : `${who}.read(into ${command.into} B)`;
    default:
      return `${who}.${command.op}()`;
  }
}
