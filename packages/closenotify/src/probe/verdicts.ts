/** The verdict rules: evidence in, one finding out. docs/probe.md states each rule in words. */
import type { PeerCertificateInfo, SessionInfo, TlsVersion } from '@closenotify/core';
import type { Ending, Finding, Observation } from './types.ts';

/** A certificate that expires sooner than this is risky: renewal is due. */
export const EXPIRY_WARNING_DAYS = 14;

const DAY_MS = 86_400_000;

function describeEnding(observation: Observation): string {
  const at = observation.endedMs === null ? '' : ` after ${observation.endedMs} ms`;
  switch (observation.ending) {
    case 'close_notify':
      return `close_notify${at}`;
    case 'fin':
      return `a bare FIN (no close_notify)${at}`;
    case 'reset':
      return `a TCP RST${at}`;
    case 'eof':
      return `an end this runtime cannot classify${at}`;
    case 'open':
      return `nothing: still open after ${observation.waitedMs} ms`;
    case 'error':
      return `an error (${observation.errorCode})${at}`;
  }
}

/** A bare FIN in answer to our close_notify: the reply was complete, reading to the end is what fails. */
const FIN_AFTER_OUR_CLOSE_NOTIFY = {
  verdict: 'risky',
  advice:
    "The server answers our close_notify with a bare FIN: a client that reads to the end after shutdown('write') gets ERR_TLS_TRUNCATED even after a complete reply. Stop reading at the protocol's framing, then close().",
} as const;

/** How the server's own end of a connection rates, whatever made it end. */
function rateServerEnding(ending: Ending): Pick<Finding, 'verdict' | 'advice'> {
  switch (ending) {
    case 'close_notify':
      return { verdict: 'ok', advice: 'Clean end: read() returning null means the server sent everything.' };
    case 'fin':
      return {
        verdict: 'risky',
        advice:
          "Clients cannot tell a complete reply from a cut one: rely on the protocol's own framing (Content-Length, chunked, a final reply line), and only then use truncation: 'ignore'.",
      };
    case 'reset':
      return {
        verdict: 'broken',
        advice:
          'A RST can discard reply bytes the client has not read yet: read replies completely before the server ends, and retry idempotent requests on ERR_CONNECTION_RESET.',
      };
    case 'eof':
      return {
        verdict: 'skipped',
        advice: 'This runtime cannot tell close_notify from a bare FIN: probe again under Node.',
      };
    case 'error':
      return { verdict: 'broken', advice: 'The connection failed instead of ending: see the error code.' };
    case 'open':
      return {
        verdict: 'risky',
        advice:
          'The server leaves the connection open: bound every client wait (idleTimeoutMs, close() timeout).',
      };
  }
}

export function verificationFinding(
  error: { code: string; message: string } | null,
  servername: string,
): Finding {
  if (error === null) {
    return {
      id: 'verification',
      verdict: 'ok',
      summary: `certificate chain and name ${servername} verified`,
      advice: 'Nothing to do: keep verification on.',
      evidence: { verified: true, errorCode: null },
    };
  }
  return {
    id: 'verification',
    verdict: 'broken',
    summary: `verification failed: ${error.code} (the other checks ran without verification)`,
    advice:
      'Clients with verification on refuse this server: fix its certificate, or pass the right trust anchors (--ca, the ca option).',
    evidence: { verified: false, errorCode: error.code, message: error.message },
  };
}

export function certificateFinding(certificate: PeerCertificateInfo | null, now: number): Finding {
  if (certificate === null) {
    return {
      id: 'certificate',
      verdict: 'skipped',
      summary: 'this runtime does not show the peer certificate',
      advice: 'Probe under Node or Bun to see it.',
      evidence: { subject: null },
    };
  }
  const expiresAt = Date.parse(certificate.validTo);
  const daysLeft = Number.isNaN(expiresAt) ? null : Math.floor((expiresAt - now) / DAY_MS);
  const evidence = {
    subject: certificate.subject,
    issuer: certificate.issuer,
    subjectAltNames: certificate.subjectAltNames,
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
    daysToExpiry: daysLeft,
    fingerprint256: certificate.fingerprint256,
  };
  const name = firstLine(certificate.subject);
  const summary = `${name}, issued by ${firstLine(certificate.issuer)}, ${
    daysLeft === null
      ? `valid to ${certificate.validTo}`
      : daysLeft < 0
        ? `expired ${-daysLeft} days ago`
        : `expires in ${daysLeft} days`
  }`;
  if (daysLeft !== null && daysLeft < 0) {
    return { id: 'certificate', verdict: 'broken', summary, advice: 'Renew the certificate now.', evidence };
  }
  if (daysLeft !== null && daysLeft < EXPIRY_WARNING_DAYS) {
    return { id: 'certificate', verdict: 'risky', summary, advice: 'Renew the certificate soon.', evidence };
  }
  return { id: 'certificate', verdict: 'ok', summary, advice: 'Nothing to do.', evidence };
}

/** "CN=localhost\nO=x" (Node's subject) or "CN=localhost, O=x": the first component. */
function firstLine(distinguishedName: string): string {
  return distinguishedName.split(/\n|, /)[0] ?? distinguishedName;
}

export interface VersionAttempt {
  version: TlsVersion;
  accepted: boolean;
  errorCode: string | null;
}

export function versionsFinding(attempts: VersionAttempt[] | null, negotiated: TlsVersion | null): Finding {
  if (attempts === null) {
    return {
      id: 'versions',
      verdict: 'skipped',
      summary: `this runtime cannot pin a TLS version${negotiated ? ` (negotiated ${negotiated})` : ''}`,
      advice: 'Probe under Node or Bun to see which versions the server accepts.',
      evidence: { attempts: null, negotiated },
    };
  }
  const name = (version: TlsVersion) => version.replace('TLSv', 'TLS ');
  const accepted = attempts.filter((attempt) => attempt.accepted).map((attempt) => attempt.version);
  const refused = attempts
    .filter((attempt) => !attempt.accepted)
    .map((attempt) => `${name(attempt.version)} (${attempt.errorCode})`);
  const summary = `accepts ${accepted.map(name).join(' and ') || 'no version when pinned'}${refused.length > 0 ? `; refuses ${refused.join(', ')}` : ''}`;
  const only12 = accepted.length === 1 && accepted[0] === 'TLSv1.2';
  return {
    id: 'versions',
    verdict: 'ok',
    summary,
    advice: only12
      ? 'TLS 1.2 only: the server must answer close_notify with its own at once, so a half-close gets no more reply.'
      : 'Nothing to do.',
    evidence: { attempts, negotiated },
  };
}

export function sessionFinding(session: SessionInfo, offeredAlpn: string[]): Finding {
  const alpn =
    offeredAlpn.length === 0 ? 'no ALPN offered' : `ALPN ${session.alpnProtocol ?? 'none selected'}`;
  const noAlpn = offeredAlpn.length > 0 && session.alpnProtocol === null;
  return {
    id: 'session',
    verdict: 'ok',
    summary: `${session.protocol ?? 'version not shown by this runtime'}, ${session.cipher?.standardName ?? 'cipher not shown'}, ${alpn}`,
    advice: noAlpn
      ? `The server chose no protocol from ${offeredAlpn.join(', ')}: clients must not assume one.`
      : 'Nothing to do.',
    evidence: {
      protocol: session.protocol,
      cipher: session.cipher,
      alpnOffered: offeredAlpn,
      alpnProtocol: session.alpnProtocol,
    },
  };
}

export function serverCloseFinding(requestName: string, observation: Observation): Finding {
  const afterLastByte =
    observation.endedMs !== null && observation.lastByteMs !== null
      ? observation.endedMs - observation.lastByteMs
      : null;
  const gap = afterLastByte === null ? '' : `, ${afterLastByte} ms after its last byte`;
  return {
    id: 'serverClose',
    ...rateServerEnding(observation.ending),
    summary: `after ${requestName}: ${observation.bytes} bytes, then ${describeEnding(observation)}${gap}`,
    evidence: { request: requestName, ...observation, endedAfterLastByteMs: afterLastByte },
  };
}

export function halfCloseFinding(requestName: string | null, observation: Observation): Finding {
  const replied = observation.bytes > 0;
  const sent = requestName === null ? 'our close_notify alone' : `${requestName}, then our close_notify`;
  const summary = `after ${sent}: ${replied ? `a ${observation.bytes}-byte reply` : 'no reply'}, then ${describeEnding(observation)}`;
  const evidence = { request: requestName, replied, ...observation };
  if (observation.ending === 'close_notify' && !replied && requestName !== null) {
    return {
      id: 'halfClose',
      verdict: 'risky',
      summary,
      advice:
        "The server drops its reply once it sees our close_notify: read the whole reply before shutdown('write').",
      evidence,
    };
  }
  if (observation.ending === 'close_notify') {
    return {
      id: 'halfClose',
      verdict: 'ok',
      summary,
      advice: "shutdown('write') after a request is safe: the server replies, then ends cleanly.",
      evidence,
    };
  }
  if (observation.ending === 'open') {
    return {
      id: 'halfClose',
      verdict: 'risky',
      summary,
      advice:
        "The server does not answer our close_notify: after shutdown('write'), bound the wait (close() with a timeout).",
      evidence,
    };
  }
  if (observation.ending === 'fin')
    return { id: 'halfClose', ...FIN_AFTER_OUR_CLOSE_NOTIFY, summary, evidence };
  return { id: 'halfClose', ...rateServerEnding(observation.ending), summary, evidence };
}

export function afterCloseNotifyFinding(
  requestName: string | null,
  measured: { bytesBefore: number; after: Observation } | null,
): Finding {
  if (requestName === null || measured === null) {
    return {
      id: 'afterCloseNotify',
      verdict: 'skipped',
      summary:
        requestName === null ? 'this protocol has no request to measure against' : 'no reply to our request',
      advice: 'Nothing measured.',
      evidence: { request: requestName },
    };
  }
  const { bytesBefore, after } = measured;
  const summary = `our close_notify came ${bytesBefore} bytes into the reply; the server then sent ${after.bytes} more bytes and ${describeEnding(after)}`;
  const evidence = { request: requestName, bytesBefore, ...after };
  if (after.ending === 'close_notify') {
    return {
      id: 'afterCloseNotify',
      verdict: 'ok',
      summary,
      advice:
        after.bytes > 0
          ? "The server finishes what it was sending: keep reading after shutdown('write') until read() returns null."
          : 'The server stops and answers at once: do not expect more data after your close_notify.',
      evidence,
    };
  }
  if (after.ending === 'open') {
    return {
      id: 'afterCloseNotify',
      verdict: 'risky',
      summary,
      advice:
        'The server ignores our close_notify: close() must be bounded (closeTimeoutMs), which it is by default.',
      evidence,
    };
  }
  if (after.ending === 'fin')
    return { id: 'afterCloseNotify', ...FIN_AFTER_OUR_CLOSE_NOTIFY, summary, evidence };
  return { id: 'afterCloseNotify', ...rateServerEnding(after.ending), summary, evidence };
}

export function idleFinding(observation: Observation): Finding {
  const evidence = { idleMaxMs: observation.waitedMs, ...observation };
  if (observation.ending === 'open') {
    return {
      id: 'idleTimeout',
      verdict: 'ok',
      summary: `an idle connection still lived after ${observation.waitedMs} ms (--idle-max)`,
      advice: 'Set your own idleTimeoutMs: the server will not end idle connections soon.',
      evidence,
    };
  }
  const rated = rateServerEnding(observation.ending);
  return {
    id: 'idleTimeout',
    ...rated,
    summary: `an idle connection was ended by ${describeEnding(observation)}`,
    advice:
      rated.verdict === 'ok'
        ? `Reuse idle connections for less than ${observation.endedMs} ms, or expect read() to return null.`
        : `${rated.advice} Reuse idle connections for less than ${observation.endedMs} ms.`,
    evidence,
  };
}
