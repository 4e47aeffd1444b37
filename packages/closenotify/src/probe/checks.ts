/**
 * One function per connection-ending check. Each opens its own connection (the server sees nothing
 * of the others), drives it through the public API, and returns the evidence its verdict needs.
 */
import type { ShutdownableSecureSocket, TlsVersion } from '@closenotify/core';
import { type ConnectionPlan, openSecure, PROBE_CLOSE_TIMEOUT_MS, servernameOf } from './connection.ts';
import type { Dialogue } from './protocols.ts';
import { Tap } from './tap.ts';
import type { Observation, ProbeAdapter, ProbeOptions } from './types.ts';
import type { VersionAttempt } from './verdicts.ts';

/** Long waits report through this (a terminal line, or nothing). */
export interface Progress {
  /** Starts showing a wait of at most `ms`; the returned function stops it. */
  wait(label: string, ms: number): () => void;
}

export interface CheckContext {
  adapter: ProbeAdapter;
  options: ProbeOptions;
  dialogue: Dialogue;
  plan: ConnectionPlan;
  progress: Progress;
}

/** write() and shutdown() fail when the server already ended: the tap has recorded how, which is the evidence. */
async function quietly(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch {}
}

async function waitForEnd(context: CheckContext, tap: Tap, since: number, label: string, ms: number) {
  const stop = context.progress.wait(label, ms);
  try {
    return await tap.observe(since, ms);
  } finally {
    stop();
  }
}

async function withConnection<T>(
  context: CheckContext,
  use: (socket: ShutdownableSecureSocket, tap: Tap) => Promise<T>,
): Promise<T> {
  const socket = await openSecure(context.adapter, context.options, context.plan);
  try {
    return await use(socket, new Tap(socket));
  } finally {
    await socket.close({ timeoutMs: PROBE_CLOSE_TIMEOUT_MS });
  }
}

/** On an open connection: the request that makes the server end it, then how it ended. */
export async function serverClose(
  context: CheckContext,
  socket: ShutdownableSecureSocket,
): Promise<Observation> {
  const tap = new Tap(socket);
  try {
    const since = performance.now();
    await quietly(() => socket.write(context.dialogue.closeRequest(servernameOf(context.options))));
    return await waitForEnd(
      context,
      tap,
      since,
      'the server to end the connection',
      context.options.timeoutMs,
    );
  } finally {
    await socket.close({ timeoutMs: PROBE_CLOSE_TIMEOUT_MS });
  }
}

/** The version the baseline negotiated is known; the other one is tried pinned. */
export async function versions(
  context: CheckContext,
  negotiated: TlsVersion | null,
): Promise<VersionAttempt[]> {
  const attempts: VersionAttempt[] = [];
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    if (version === negotiated) {
      attempts.push({ version, accepted: true, errorCode: null });
      continue;
    }
    try {
      const socket = await openSecure(context.adapter, context.options, { ...context.plan, version });
      await socket.close({ timeoutMs: PROBE_CLOSE_TIMEOUT_MS });
      attempts.push({ version, accepted: true, errorCode: null });
    } catch (error) {
      attempts.push({ version, accepted: false, errorCode: codeOf(error) });
    }
  }
  return attempts;
}

/** A request the server answers without ending, then at once our close_notify: is there a reply? */
export function halfClose(context: CheckContext): Promise<Observation> {
  return withConnection(context, async (socket, tap) => {
    const since = performance.now();
    const request = context.dialogue.keepOpenRequest;
    if (request) await quietly(() => socket.write(request.build(servernameOf(context.options))));
    await quietly(() => socket.shutdown('write'));
    return waitForEnd(context, tap, since, 'the answer to our half-close', context.options.timeoutMs);
  });
}

/** Our close_notify once the reply started: does the rest come, and how does the server end? */
export function afterCloseNotify(
  context: CheckContext,
): Promise<{ bytesBefore: number; after: Observation } | null> {
  const request = context.dialogue.keepOpenRequest;
  if (!request) return Promise.resolve(null);
  return withConnection(context, async (socket, tap) => {
    await quietly(() => socket.write(request.build(servernameOf(context.options))));
    if (!(await tap.until(() => tap.bytes > 0, context.options.timeoutMs))) return null;
    const since = performance.now();
    const bytesBefore = tap.bytes;
    await quietly(() => socket.shutdown('write'));
    const after = await waitForEnd(
      context,
      tap,
      since,
      'the answer to our close_notify',
      context.options.timeoutMs,
    );
    return { bytesBefore, after };
  });
}

/** A connection that says nothing after the handshake, waited on up to --idle-max. */
export function idleTimeout(context: CheckContext): Promise<Observation> {
  return withConnection(context, (_socket, tap) =>
    waitForEnd(context, tap, performance.now(), 'the idle timeout', context.options.idleMaxMs),
  );
}

export function codeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'UNKNOWN';
}
