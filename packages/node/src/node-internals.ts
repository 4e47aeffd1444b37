/**
 * The two Node internals the adapter relies on, each checked where it is used so that a Node that
 * changed them fails loudly (ERR_RUNTIME_UNSUPPORTED) instead of answering wrong. Pinned by
 * test/node-internals.test.ts.
 *
 * - `readable._readableState.ended`: set synchronously by `push(null)`, long before 'end' is
 *   emitted (the public `readableEnded` waits for 'end'). It tells whether TLS ended on a
 *   close_notify before the TCP EOF reached it.
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
  if (typeof ended !== 'boolean') throw internalsChanged('TLSSocket _readableState.ended');
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
  if (typeof stream !== 'object' || stream === null) throw internalsChanged('TLSSocket _handle._parentWrap.stream');
  return stream as Duplex;
}

export function internalsChanged(what: string, phase: 'handshake' | 'read' = 'handshake'): SecureSocketError {
  return new SecureSocketError(
    'ERR_RUNTIME_UNSUPPORTED',
    `This Node version changed an internal @closenotify/node relies on (${what}); ` +
      'upgrade @closenotify/node',
    { phase },
  );
}
