/**
 * The Node internals the adapter relies on, each checked where it is used so that a Node that
 * changed them fails loudly (ERR_RUNTIME_UNSUPPORTED) instead of answering wrong. Pinned by
 * test/node-internals.test.ts.
 *
 * - `readable._readableState.ended`: set synchronously by `push(null)`, long before 'end' is
 *   emitted (the public `readableEnded` waits for 'end'). It tells whether TLS ended on a
 *   close_notify before the TCP EOF reached it.
 * - `tlsSocket._handle._parentWrap.stream`: the Duplex a TLSSocket runs over. tls.Server creates
 *   the TLSSocket for a Duplex emitted as 'connection' and never hands it back with the Duplex
 *   (remoteAddress is unknown over a Duplex), so the server matches its handshakes through it.
 * - `onread` on a TLS socket: Node drops the option when TLS runs over a given socket, so the
 *   adapter sets what net.Socket's constructor sets for it (the kBuffer and kBufferCb symbol
 *   properties, found by their descriptions on a throwaway net.Socket made with `onread`) and calls
 *   `_handle.useUserBuffer()`, as net does once a handle exists.
 * - A flowing Readable with nothing queued emits a pushed chunk as 'data' inside push(): the cipher
 *   stream hands TLS a chunk of a shared buffer that way, and checks each push (cipher-stream.ts).
 * - `_readableState.autoDestroy` and `_writableState.autoDestroy`: net.Socket forces both true, so a
 *   TLS socket destroys itself, and the three streams under it, inside the 'end' emit once both of
 *   its sides are done. The transport turns them off and destroys the sockets when core releases it.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
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

interface StreamStates {
  _readableState?: { autoDestroy?: unknown };
  _writableState?: { autoDestroy?: unknown };
}

/**
 * Stops a TLS socket from destroying itself once both its sides are done: its destroy chain then
 * queued nextTicks ahead of the promise of the read that the peer's close_notify ended (Node drains
 * every nextTick before any promise). The transport destroys it on release, a turn later.
 */
export function keepUntilReleased(tls: TLSSocket): void {
  const { _readableState: readable, _writableState: writable } = tls as unknown as StreamStates;
  if (typeof readable?.autoDestroy !== 'boolean' || typeof writable?.autoDestroy !== 'boolean')
    throw internalsChanged('TLSSocket _readableState.autoDestroy, _writableState.autoDestroy');
  readable.autoDestroy = false;
  writable.autoDestroy = false;
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
  if (typeof stream !== 'object' || stream === null)
    throw internalsChanged('TLSSocket _handle._parentWrap.stream');
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

/** What decrypted bytes are read into, and who is called with each chunk of it (net's `onread`). */
export interface UserBufferReading {
  buffer: Buffer;
  /** Called synchronously for each read: `buffer`'s first `length` bytes, valid until it returns. */
  callback: (length: number, buffer: Buffer) => void;
}

interface UserBufferSymbols {
  buffer: symbol;
  callback: symbol;
  /** Null on a socket given a buffer (not a buffer generator): Node then reads into it again and again. */
  generator: symbol;
}

let userBufferSymbols: UserBufferSymbols | undefined;

/** net.Socket's own symbols for `onread`, checked to hold what a socket made with `onread` was given. */
function findUserBufferSymbols(): UserBufferSymbols {
  const buffer = Buffer.alloc(1);
  const callback = (): void => {};
  // net.Socket's constructor reads `onread` as connect() does (its types list it for connect() only).
  const probe = new Socket({ onread: { buffer, callback } } as SocketConstructorOpts);
  const symbols = Object.getOwnPropertySymbols(probe);
  const named = (description: string): symbol | undefined =>
    symbols.find((symbol) => symbol.description === description);
  const found = { buffer: named('kBuffer'), callback: named('kBufferCb'), generator: named('kBufferGen') };
  const slots = probe as unknown as Record<symbol, unknown>;
  probe.destroy();
  if (!found.buffer || slots[found.buffer] !== buffer) throw internalsChanged('net.Socket kBuffer');
  if (!found.callback || slots[found.callback] !== callback) throw internalsChanged('net.Socket kBufferCb');
  if (!found.generator || slots[found.generator] !== null) throw internalsChanged('net.Socket kBufferGen');
  return found as UserBufferSymbols;
}

interface UserBufferHandle {
  _handle?: { useUserBuffer?: unknown } | null;
}

/**
 * Makes a TLS socket deliver its plaintext as `onread` does: decrypted into `reading.buffer`, one
 * synchronous callback per read, no Buffer and no 'data' event per chunk. pause() and resume() stop
 * and restart reading, and the end of the stream is pushed to the Readable as before. Throws
 * ERR_RUNTIME_UNSUPPORTED when Node no longer works this way.
 */
export function readIntoUserBuffer(tls: TLSSocket, reading: UserBufferReading): void {
  userBufferSymbols ??= findUserBufferSymbols();
  const handle = (tls as unknown as UserBufferHandle)._handle;
  if (typeof handle?.useUserBuffer !== 'function') throw internalsChanged('TLSSocket _handle.useUserBuffer');
  const slots = tls as unknown as Record<symbol, unknown>;
  if (slots[userBufferSymbols.generator] !== null || slots[userBufferSymbols.buffer] !== null)
    throw internalsChanged('TLSSocket kBuffer');
  slots[userBufferSymbols.buffer] = reading.buffer;
  slots[userBufferSymbols.callback] = reading.callback;
  handle.useUserBuffer(reading.buffer);
}
