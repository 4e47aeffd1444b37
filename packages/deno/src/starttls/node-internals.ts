/**
 * The node:tls internals the STARTTLS path relies on, which Deno's node compatibility layer
 * reproduces (2.9.6), each checked where it is used so that a Deno that changed them fails loudly
 * (ERR_RUNTIME_UNSUPPORTED) instead of answering wrong. Pinned by test/starttls-internals.test.ts.
 *
 * - `readable._readableState.ended`: set synchronously by `push(null)`, long before 'end' is
 *   emitted (the public `readableEnded` waits for 'end'). It tells whether TLS ended on a
 *   close_notify before the TCP EOF reached it.
 * - `tlsSocket._handle.drainEncOut()`: the TLS records the engine sealed and has not handed to the
 *   stream below yet, as one Uint8Array (Deno's TLSWrap; Node has no such method).
 * - `tlsSocket._handle._parentWrap.stream`: the Duplex a TLSSocket runs over. tls.Server creates
 *   the TLSSocket for a Duplex emitted as 'connection' and never hands it back with the Duplex
 *   (remoteAddress is unknown over a Duplex), so the server matches its handshakes through it.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { SecureSocketError } from '@closenotify/core';

interface ReadableInternals {
  _readableState?: { ended?: unknown };
}

/** Whether the TLS socket's readable side has ended (push(null) happened), whether or not 'end' was emitted. */
export function tlsStreamEnded(tls: TLSSocket): boolean {
  const ended = (tls as unknown as ReadableInternals)._readableState?.ended;
  if (typeof ended !== 'boolean') throw internalsChanged('_readableState.ended');
  return ended;
}

interface TlsSocketInternals {
  _handle?: { _parentWrap?: { stream?: unknown } } | null;
}

/**
 * The Duplex under a TLS socket tls.Server created, or null once that socket released its handle
 * (destroyed). Throws when a live socket no longer exposes it.
 */
export function duplexUnder(tls: TLSSocket): Duplex | null {
  const handle = (tls as unknown as TlsSocketInternals)._handle;
  if (handle === null || tls.destroyed) return null;
  const stream = handle?._parentWrap?.stream;
  if (typeof stream !== 'object' || stream === null) throw internalsChanged('_handle._parentWrap.stream');
  return stream as Duplex;
}

interface TlsHandleInternals {
  _handle?: { drainEncOut?: unknown } | null;
}

/**
 * The records Deno's TLS engine has sealed and not yet pumped out (after a shutdown: our close_notify),
 * taken from it synchronously. Null once the socket released its handle.
 */
export function drainSealedRecords(tls: TLSSocket): Uint8Array | null {
  const handle = (tls as unknown as TlsHandleInternals)._handle;
  if (handle === null || handle === undefined) return null;
  if (typeof handle.drainEncOut !== 'function') throw internalsChanged('_handle.drainEncOut');
  const records: unknown = handle.drainEncOut();
  return records instanceof Uint8Array && records.byteLength > 0 ? records : null;
}

function internalsChanged(what: string): SecureSocketError {
  return new SecureSocketError(
    'ERR_RUNTIME_UNSUPPORTED',
    `This Deno version changed a node:tls internal @closenotify/deno relies on for STARTTLS (TLSSocket ${what}); ` +
      'upgrade @closenotify/deno',
    { phase: 'handshake' },
  );
}
