/** The whole probe: the checks in order, each turned into findings, and the exit code. */
import { isSecureSocketError, type ShutdownableSecureSocket } from '@closenotify/core';
import {
  afterCloseNotify,
  type CheckContext,
  codeOf,
  halfClose,
  idleTimeout,
  type Progress,
  serverClose,
  versions,
} from './checks.ts';
import { openSecure, servernameOf } from './connection.ts';
import { DIALOGUES } from './protocols.ts';
import {
  EXIT,
  type Finding,
  PROBE_SCHEMA,
  type ProbeAdapter,
  type ProbeOptions,
  type ProbeReport,
  type Verdict,
} from './types.ts';
import {
  afterCloseNotifyFinding,
  certificateFinding,
  halfCloseFinding,
  idleFinding,
  serverCloseFinding,
  sessionFinding,
  verificationFinding,
  versionsFinding,
} from './verdicts.ts';

const VERIFICATION_CODES = new Set([
  'ERR_TLS_CERT_UNTRUSTED',
  'ERR_TLS_CERT_EXPIRED',
  'ERR_TLS_HOSTNAME_MISMATCH',
]);

function errorOf(error: unknown): { code: string; message: string } {
  return { code: codeOf(error), message: error instanceof Error ? error.message : String(error) };
}

/**
 * The first connection, verification on. When only verification fails, the probe reports that and
 * goes on unverified (where the runtime allows it), so the server's close behaviour is still seen.
 */
async function baseline(adapter: ProbeAdapter, options: ProbeOptions) {
  try {
    return { socket: await openSecure(adapter, options, { version: null, verify: true }), verifyError: null };
  } catch (error) {
    const verifiable = isSecureSocketError(error) && VERIFICATION_CODES.has(error.code);
    if (!verifiable || !adapter.capabilities.disableVerification) throw error;
    const socket = await openSecure(adapter, options, { version: null, verify: false });
    return { socket, verifyError: errorOf(error) };
  }
}

/** A check that could not even connect is a broken finding, not the end of the probe. */
async function check(id: Finding['id'], run: () => Promise<Finding>): Promise<Finding> {
  try {
    return await run();
  } catch (error) {
    const { code, message } = errorOf(error);
    return {
      id,
      verdict: 'broken',
      summary: `this check could not connect: ${code}`,
      advice: 'The server refused a connection the first one proved possible: see the evidence.',
      evidence: { errorCode: code, message },
    };
  }
}

export async function runProbe(
  adapter: ProbeAdapter,
  options: ProbeOptions,
  progress: Progress,
): Promise<ProbeReport> {
  const startedAt = new Date();
  const dialogue = DIALOGUES[options.starttls ?? 'https'];
  const findings: Finding[] = [];
  let error: ProbeReport['error'] = null;

  let first: {
    socket: ShutdownableSecureSocket;
    verifyError: { code: string; message: string } | null;
  } | null = null;
  try {
    first = await baseline(adapter, options);
  } catch (failure) {
    error = errorOf(failure);
  }
  if (first) {
    const { socket, verifyError } = first;
    const context: CheckContext = {
      adapter,
      options,
      dialogue,
      plan: { version: null, verify: verifyError === null },
      progress,
    };
    const session = await socket.opened;
    const ended = await serverClose(context, socket);
    findings.push(
      verificationFinding(verifyError, servernameOf(options)),
      certificateFinding(session.peerCertificate, Date.now()),
      await check('versions', async () =>
        versionsFinding(await versions(context, session.protocol), session.protocol),
      ),
      sessionFinding(session, options.alpn),
      serverCloseFinding(dialogue.closeRequestName, ended),
      await check('halfClose', async () =>
        halfCloseFinding(dialogue.keepOpenRequest?.name ?? null, await halfClose(context)),
      ),
      await check('afterCloseNotify', async () =>
        afterCloseNotifyFinding(dialogue.keepOpenRequest?.name ?? null, await afterCloseNotify(context)),
      ),
      await check('idleTimeout', async () => idleFinding(await idleTimeout(context))),
    );
  }

  const counts: Record<Verdict, number> = { ok: 0, risky: 0, broken: 0, skipped: 0 };
  for (const finding of findings) counts[finding.verdict] += 1;
  return {
    schema: PROBE_SCHEMA,
    target: {
      host: options.host,
      port: options.port,
      servername: servernameOf(options),
      starttls: options.starttls,
      alpn: options.alpn,
    },
    runtime: adapter.runtime,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    error,
    findings,
    counts,
    exitCode: error ? EXIT.unreachable : counts.risky + counts.broken > 0 ? EXIT.findings : EXIT.ok,
  };
}
