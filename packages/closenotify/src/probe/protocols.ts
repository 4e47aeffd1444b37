/**
 * What the probe says to a server, per protocol: the STARTTLS dialogue that reaches the TLS
 * handshake, a request the server answers and keeps the connection open after, and the request that
 * makes the server end the connection itself.
 */
import type { ShutdownableSecureSocket } from '@closenotify/core';
import { Tap } from './tap.ts';
import type { StartTlsProtocol } from './types.ts';

export class ProbeFailure extends Error {
  override name = 'ProbeFailure';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Dialogue {
  /** Shown in findings: what made the server end the connection. */
  closeRequestName: string;
  closeRequest: (servername: string) => string | Uint8Array;
  /** A request the server answers without ending the connection; null when the protocol has none here. */
  keepOpenRequest: { name: string; build: (servername: string) => string } | null;
}

const HTTP_USER_AGENT = 'closenotify-probe';

const http = (connection: 'close' | 'keep-alive') => (servername: string) =>
  `GET / HTTP/1.1\r\nHost: ${servername}\r\nUser-Agent: ${HTTP_USER_AGENT}\r\nConnection: ${connection}\r\n\r\n`;

export const DIALOGUES: Record<StartTlsProtocol | 'https', Dialogue> = {
  https: {
    closeRequestName: 'GET with Connection: close',
    closeRequest: http('close'),
    keepOpenRequest: { name: 'GET (keep-alive)', build: http('keep-alive') },
  },
  smtp: {
    closeRequestName: 'QUIT',
    closeRequest: () => 'QUIT\r\n',
    keepOpenRequest: { name: 'NOOP', build: () => 'NOOP\r\n' },
  },
  imap: {
    closeRequestName: 'LOGOUT',
    closeRequest: () => 'p2 LOGOUT\r\n',
    keepOpenRequest: { name: 'NOOP', build: () => 'p1 NOOP\r\n' },
  },
  pop3: {
    closeRequestName: 'QUIT',
    closeRequest: () => 'QUIT\r\n',
    keepOpenRequest: { name: 'NOOP', build: () => 'NOOP\r\n' },
  },
  // Before its startup message a PostgreSQL server answers nothing; Terminate ends the session.
  postgres: {
    closeRequestName: 'Terminate',
    closeRequest: () => new Uint8Array([88, 0, 0, 0, 4]),
    keepOpenRequest: null,
  },
};

/** The last line of a complete SMTP reply with this code (multi-line replies use "250-"). */
const smtpReply = (code: string) => new RegExp(`(^|\\r?\\n)${code} [^\\n]*\\r?\\n$`);

interface Step {
  send?: string | Uint8Array;
  /** The reply that lets the dialogue go on. */
  expect: RegExp;
  /** A complete reply that is a refusal. */
  refusal: RegExp;
}

const STEPS: Record<StartTlsProtocol, Step[]> = {
  smtp: [
    { expect: smtpReply('220'), refusal: /(^|\n)[45]\d\d [^\n]*\n$/ },
    { send: 'EHLO closenotify-probe\r\n', expect: smtpReply('250'), refusal: /(^|\n)[45]\d\d [^\n]*\n$/ },
    { send: 'STARTTLS\r\n', expect: smtpReply('220'), refusal: /(^|\n)[45]\d\d [^\n]*\n$/ },
  ],
  imap: [
    { expect: /^\* OK[^\n]*\n$/, refusal: /^\* (BYE|NO|BAD)[^\n]*\n$/ },
    { send: 'p0 STARTTLS\r\n', expect: /(^|\n)p0 OK[^\n]*\n$/, refusal: /(^|\n)p0 (NO|BAD)[^\n]*\n$/ },
  ],
  pop3: [
    { expect: /^\+OK[^\n]*\n$/, refusal: /^-ERR[^\n]*\n$/ },
    { send: 'STLS\r\n', expect: /^\+OK[^\n]*\n$/, refusal: /^-ERR[^\n]*\n$/ },
  ],
  // SSLRequest: length 8, code 80877103. The server answers one byte: S (go on) or N (no TLS).
  postgres: [{ send: new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]), expect: /^S$/, refusal: /^N$/ }],
};

/** Runs the plaintext dialogue up to the server's go-ahead for the TLS handshake. */
export async function negotiateStartTls(
  plain: ShutdownableSecureSocket,
  protocol: StartTlsProtocol,
  timeoutMs: number,
): Promise<void> {
  const tap = new Tap(plain);
  for (const step of STEPS[protocol]) {
    if (step.send !== undefined) await plain.write(step.send);
    const complete = () => step.expect.test(tap.text) || step.refusal.test(tap.text);
    if (!(await tap.until(complete, timeoutMs))) {
      const seen = tap.text.trim().slice(-200) || 'nothing';
      throw new ProbeFailure(
        'PROBE_STARTTLS_FAILED',
        `${protocol} STARTTLS: no expected reply within ${timeoutMs} ms (got: ${JSON.stringify(seen)})`,
      );
    }
    if (!step.expect.test(tap.text)) {
      throw new ProbeFailure(
        'PROBE_STARTTLS_REFUSED',
        `${protocol} STARTTLS refused by the server: ${JSON.stringify(tap.text.trim().slice(-200))}`,
      );
    }
    tap.consumeText();
  }
}
