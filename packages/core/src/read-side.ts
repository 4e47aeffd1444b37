/**
 * The read side of one socket: received chunks waiting for the application, readers waiting for
 * chunks, backpressure toward the peer, and the counts of what was delivered and what was discarded.
 * The socket decides when reading ends and why; this part only keeps the queue consistent.
 */
import { Deferred, rejected } from './deferred.ts';
import type { SecureSocketError } from './errors.ts';

/** Inbound bytes queued before the transport is paused; reading resumes below the low mark. */
const PAUSE_AT_BYTES = 128 * 1024;
const RESUME_BELOW_BYTES = 32 * 1024;

/** How the read side paces the peer: through the socket, which owns the transport and its failures. */
export interface Pacer {
  pause(): void;
  resume(): void;
}

export class ReadSide {
  /** Plaintext handed to the application (or queued for it). */
  bytesRead = 0;
  /** Received but never handed to the application. */
  bytesDiscarded = 0;
  /** No more data will be handed to the application: local shutdown('read'), peer end, or closed. */
  done = false;
  /** What pending and later reads reject with, once the queue is empty. */
  error: SecureSocketError | undefined;
  #inbound: Uint8Array[] = [];
  #inboundBytes = 0;
  #readers: Deferred<Uint8Array | null>[] = [];
  #paused = false;
  readonly #pacer: Pacer;

  constructor(pacer: Pacer) {
    this.#pacer = pacer;
  }

  /** Delivery toward the peer is paused (backpressure), or was asked to be before a transport existed. */
  get paused(): boolean {
    return this.#paused;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#inbound.shift();
    if (chunk !== undefined) {
      this.#inboundBytes -= chunk.byteLength;
      if (this.#paused && this.#inboundBytes < RESUME_BELOW_BYTES) this.resume();
      return Promise.resolve(chunk);
    }
    if (this.error) return rejected(this.error);
    if (this.done) return Promise.resolve(null);
    const reader = new Deferred<Uint8Array | null>();
    this.#readers.push(reader);
    if (this.#paused) this.resume();
    return reader.promise;
  }

  /** A chunk from the peer. `canPause`: a transport is there to pause when the queue grows too long. */
  receive(chunk: Uint8Array, canPause: boolean): void {
    if (this.done) {
      // After shutdown('read') or close(): drained so the peer is never blocked, and counted.
      this.bytesDiscarded += chunk.byteLength;
      return;
    }
    this.bytesRead += chunk.byteLength;
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve(chunk);
      return;
    }
    this.#inbound.push(chunk);
    this.#inboundBytes += chunk.byteLength;
    if (!this.#paused && this.#inboundBytes >= PAUSE_AT_BYTES && canPause) this.pause();
  }

  /** Ends delivery: queued data stays readable unless `discard`, then read() gives null (or `error`). */
  finish(discard: boolean): void {
    this.done = true;
    if (discard && this.#inboundBytes > 0) {
      // Received but never handed over: it moves from the read count to the discarded count.
      this.bytesRead -= this.#inboundBytes;
      this.bytesDiscarded += this.#inboundBytes;
      this.#inbound = [];
      this.#inboundBytes = 0;
    }
    const readers = this.#readers;
    this.#readers = [];
    for (const reader of readers) {
      if (this.error) reader.reject(this.error);
      else reader.resolve(null);
    }
    if (this.#paused) this.resume();
  }

  /** Rejects the reads waiting now, and only those (startTls() detaching the socket). */
  rejectWaiting(error: SecureSocketError): void {
    const readers = this.#readers;
    this.#readers = [];
    for (const reader of readers) reader.reject(error);
  }

  /** The bytes received and never read, as one buffer, taken out of the queue and of the read count. */
  takeUnread(): Uint8Array | undefined {
    if (this.#inboundBytes === 0) return undefined;
    const unread = new Uint8Array(this.#inboundBytes);
    let offset = 0;
    for (const chunk of this.#inbound) {
      unread.set(chunk, offset);
      offset += chunk.byteLength;
    }
    this.bytesRead -= this.#inboundBytes;
    this.#inbound = [];
    this.#inboundBytes = 0;
    return unread;
  }

  pause(): void {
    this.#paused = true;
    this.#pacer.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#pacer.resume();
  }
}
