/**
 * Assertions for cases. A failed assertion is the adapter's failure (`fail`); trouble with the
 * suite's own machinery is an InfrastructureError (`error`).
 */
import {
  isSecureSocketError,
  type SecureSocketError,
  type ShutdownableSecureSocket,
} from '@closenotify/core';
import type { Direction, WireEvent } from './peer-client.ts';
import { sha256Hex } from './peer-client.ts';

export class CaseFailure extends Error {
  override name = 'CaseFailure';
}

export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
}

/** A third-party peer the case needs is not installed here: reported `unsupported` with "not run:". */
export class NotRun extends Error {
  override name = 'NotRun';
}

export const NOT_RUN_PREFIX = 'not run: ';

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new CaseFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Awaits a promise that must reject with a SecureSocketError of `code` (or one of `code`s); returns that error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: SecureSocketError['code'] | readonly SecureSocketError['code'][],
  what: string,
): Promise<SecureSocketError> {
  let outcome: unknown;
  try {
    await promise;
  } catch (error) {
    outcome = error;
  }
  const codes: readonly string[] = typeof code === 'string' ? [code] : code;
  if (outcome === undefined) throw new CaseFailure(`${what}: resolved, expected ${codes.join(' or ')}`);
  if (!isSecureSocketError(outcome)) {
    throw new CaseFailure(`${what}: rejected with a non-SecureSocketError: ${String(outcome)}`);
  }
  if (!codes.includes(outcome.code)) {
    const cause = outcome.cause as { code?: unknown; errno?: unknown } | undefined;
    const native =
      cause && typeof cause === 'object' ? ` [cause: ${String(cause.code)} ${String(cause.errno)}]` : '';
    throw new CaseFailure(
      `${what}: expected ${codes.join(' or ')}, got ${outcome.code} (${outcome.message})${native}`,
    );
  }
  return outcome;
}

/** Awaits a promise that must resolve; a rejection fails the case with `what` and the error's code. */
export async function resolves<T>(promise: Promise<T>, what: string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    const code = isSecureSocketError(error) ? `${error.code} ` : '';
    throw new CaseFailure(
      `${what}: rejected with ${code}(${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

export interface Received {
  bytes: number;
  sha256: string;
  text: string;
}

/** Reads until the clean end of stream (read() → null); rejects like read() does. */
export async function readToEnd(socket: ShutdownableSecureSocket): Promise<Received> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const chunk = await socket.read();
    if (chunk === null) break;
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  const all = concat(chunks, bytes);
  return { bytes, sha256: await sha256Hex(all), text: new TextDecoder().decode(all.subarray(0, 4096)) };
}

/** Reads exactly `count` bytes (or fails at the end of stream). */
export async function readBytes(socket: ShutdownableSecureSocket, count: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < count) {
    const chunk = await socket.read();
    if (chunk === null) throw new CaseFailure(`the stream ended after ${bytes} of ${count} bytes`);
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  return concat(chunks, bytes);
}

export function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/** The events of one direction that matter for closing: data, alerts, FIN, RST (handshake noise dropped). */
export function closingEvents(wire: WireEvent[], dir: Direction): string[] {
  const out: string[] = [];
  for (const event of wire) {
    if (event.dir !== dir) continue;
    switch (event.kind) {
      case 'data':
        if (out.at(-1) !== 'data') out.push('data');
        break;
      case 'alert':
        out.push(`alert:${event.description}`);
        break;
      case 'fin':
      case 'rst':
      case 'garbage':
      case 'undecryptable':
      case 'partial-record':
        out.push(event.kind);
        break;
    }
  }
  return out;
}

export function dataBytes(wire: WireEvent[], dir: Direction): number {
  let total = 0;
  for (const event of wire) if (event.dir === dir && event.kind === 'data') total += event.bytes;
  return total;
}

/** `actual` ends with exactly `tail`. */
export function endsWith(actual: string[], tail: string[], what: string): void {
  const end = actual.slice(-tail.length);
  if (end.length !== tail.length || end.some((item, i) => item !== tail[i])) {
    throw new CaseFailure(
      `${what}: expected the wire to end with [${tail.join(', ')}], saw [${actual.join(', ')}]`,
    );
  }
}

/**
 * What an upper time bound in a case adds to the time the behaviour needs: a guard against a hang,
 * never a speed target. Cases run on busy two-core machines, where a timer or a loopback exchange can
 * be late by hundreds of milliseconds; lower bounds ("not early") carry the precise checks.
 */
export const HANG_GUARD_MS = 5_000;

export function within(ms: number, low: number, high: number, what: string): void {
  if (ms < low || ms > high)
    throw new CaseFailure(`${what}: took ${ms.toFixed(1)} ms, expected ${low}–${high} ms`);
}

/** `promise`'s value, or a failure naming `what` if it is still pending after `ms` (a hang, not a speed limit). */
export async function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** `promise`'s value, or undefined if it is still pending after `ms`; its timer never outlives it. */
export async function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `holds` every 20 ms; fails naming `what` once `ms` have passed without it. */
export async function eventually(holds: () => boolean, ms: number, what: string): Promise<void> {
  for (const deadline = performance.now() + ms; !holds(); await delay(20)) {
    if (performance.now() > deadline) throw new CaseFailure(`${what}: not within ${ms} ms`);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Writes to a peer that reads nothing until a write stays pending in the runtime (the kernel buffers
 * and the relay are full); returns that write, wrapped so that returning it does not await it.
 */
export async function fillUntilPending(
  socket: ShutdownableSecureSocket,
): Promise<{ pending: Promise<void> }> {
  const chunk = new Uint8Array(65536);
  for (let written = 0; written < 64 * 1024 * 1024; written += chunk.byteLength) {
    const write = socket.write(chunk);
    if (
      !(await valueWithin(
        write.then(() => true),
        500,
      ))
    )
      return { pending: write };
  }
  throw new CaseFailure('every write resolved: no write stayed pending against a peer that reads nothing');
}
