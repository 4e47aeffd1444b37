/** The probe's data model: what the JSON output carries (docs/probe.md documents every field). */
import type { Capabilities, ConnectOptions, ShutdownableSecureSocket } from '@closenotify/core';

/** Bumped on any incompatible change to the JSON output. */
export const PROBE_SCHEMA = 'closenotify.probe/1';

export type StartTlsProtocol = 'smtp' | 'imap' | 'pop3' | 'postgres';

export type RuntimeName = 'node' | 'bun' | 'deno';

/** The adapter the probe drives: the runtime's own, through the public API only. */
export interface ProbeAdapter {
  runtime: RuntimeName;
  connect(options: ConnectOptions): Promise<ShutdownableSecureSocket>;
  capabilities: Capabilities;
}

export interface ProbeOptions {
  host: string;
  port: number;
  starttls: StartTlsProtocol | null;
  servername: string | null;
  /** The --ca file's path and its PEM text. */
  ca: { path: string; pem: string } | null;
  alpn: string[];
  idleMaxMs: number;
  /** Bounds every other wait: TCP connect plus handshake, each reply, each end. */
  timeoutMs: number;
  json: boolean;
  color: boolean | null;
}

export type Verdict = 'ok' | 'risky' | 'broken' | 'skipped';

/**
 * How a connection's incoming side ended, from the library's own results: `read()` resolving null is
 * the peer's close_notify, `ERR_TLS_TRUNCATED` a TCP FIN without it, `ERR_CONNECTION_RESET` a RST.
 */
export type Ending =
  | 'close_notify'
  | 'fin'
  | 'reset'
  /** The runtime cannot tell a close_notify from a bare FIN (capabilities.truncationDetection false). */
  | 'eof'
  /** Nothing ended it within the wait. */
  | 'open'
  /** Another error ended it; its code is in `errorCode`. */
  | 'error';

/** What one connection received after a point in time (the request, our close_notify, the handshake). */
export interface Observation {
  bytes: number;
  ending: Ending;
  errorCode: string | null;
  /** Milliseconds from that point to the first byte, the last byte and the end (null: never). */
  firstByteMs: number | null;
  lastByteMs: number | null;
  endedMs: number | null;
  /** The wait that bounded the observation. */
  waitedMs: number;
}

export type FindingId =
  | 'verification'
  | 'certificate'
  | 'versions'
  | 'session'
  | 'serverClose'
  | 'halfClose'
  | 'afterCloseNotify'
  | 'idleTimeout';

export interface Finding {
  id: FindingId;
  verdict: Verdict;
  /** One line: what the probe saw. */
  summary: string;
  /** One line: what a client should do about it. */
  advice: string;
  /** The raw evidence (its shape per finding is documented). */
  evidence: Record<string, unknown>;
}

export interface ProbeReport {
  schema: typeof PROBE_SCHEMA;
  target: {
    host: string;
    port: number;
    servername: string;
    starttls: StartTlsProtocol | null;
    alpn: string[];
  };
  runtime: RuntimeName;
  startedAt: string;
  durationMs: number;
  /** Set when the probe could not connect at all (exit code 3): no findings then. */
  error: { code: string; message: string } | null;
  findings: Finding[];
  counts: Record<Verdict, number>;
  exitCode: ExitCode;
}

export const EXIT = { ok: 0, findings: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
