/**
 * The read side of one socket: received chunks waiting for the application, readers waiting for
 * chunks, backpressure toward the peer, and the counts of what was delivered and what was discarded.
 * The socket decides when reading ends and why; this part only keeps the queue consistent.
 *
 * A chunk the adapter reported is handed out as it came (never copied) to a plain read(); a read
 * into a caller's buffer copies out of the queue, and a partly copied chunk stays queued as the rest
 * of itself. A caller's buffer is written only while its read is pending: once that read settled,
 * core holds no reference to it.
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

/** A read waiting for data; `into` is the caller's buffer for read(into). */
class PendingRead extends Deferred<Uint8Array | null> {
  readonly into: Uint8Array | undefined;

  constructor(into: Uint8Array | undefined) {
    super();
    this.into = into;
  }
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
  /** Queued chunks, oldest first; made when the first chunk has to wait (an idle socket has none). */
  #inbound: Uint8Array[] | undefined;
  /** finish() discarded the queue: bytes given back from now on are discarded too. */
  #discarding = false;
  #inboundBytes = 0;
  /** The read waiting first, if any: nearly always the only one, kept without an array. */
  #reader: PendingRead | undefined;
  /** Reads waiting behind #reader, in order; made only when a second read waits. */
  #laterReaders: PendingRead[] | undefined;
  #paused = false;
  readonly #pacer: Pacer;

  constructor(pacer: Pacer) {
    this.#pacer = pacer;
  }

  /** Delivery toward the peer is paused (backpressure), or was asked to be before a transport existed. */
  get paused(): boolean {
    return this.#paused;
  }

  /** `into`: a non-empty buffer the caller checked; the result is then a view of its first bytes. */
  read(into?: Uint8Array): Promise<Uint8Array | null> {
    const queued = this.takeQueued(into);
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.error) return rejected(this.error);
    if (this.done) return Promise.resolve(null);
    const reader = new PendingRead(into);
    if (this.#reader === undefined) this.#reader = reader;
    else {
      this.#laterReaders ??= [];
      this.#laterReaders.push(reader);
    }
    if (this.#paused) this.resume();
    return reader.promise;
  }

  /**
   * What a read would resolve with at once, without a promise: the next queued chunk, or a view of
   * `into` filled from the queue. Undefined when nothing is queued (read() would wait, or end).
   */
  takeQueued(into?: Uint8Array): Uint8Array | undefined {
    if (this.#inboundBytes === 0) return undefined;
    let taken: Uint8Array;
    if (into === undefined) {
      taken = this.#inbound!.shift()!;
      this.#inboundBytes -= taken.byteLength;
    } else {
      taken = this.#fillFromQueue(into);
    }
    if (this.#paused && this.#inboundBytes < RESUME_BELOW_BYTES) this.resume();
    return taken;
  }

  /**
   * The next queued chunk as it came, or, when it is larger than `most`, a copy of its first `most`
   * bytes in a buffer of their own (the rest stays queued). Undefined when nothing is queued.
   */
  takeChunk(most?: number): Uint8Array | undefined {
    const head = this.#inbound?.[0];
    if (head === undefined) return undefined;
    return most === undefined || head.byteLength <= most
      ? this.takeQueued()
      : this.takeQueued(new Uint8Array(most));
  }

  /** Copies queued bytes into `into`, as many as fit, across chunks; a chunk copied in part stays queued. */
  #fillFromQueue(into: Uint8Array): Uint8Array {
    const inbound = this.#inbound!;
    let filled = 0;
    while (filled < into.byteLength && inbound.length > 0) {
      const head = inbound[0]!;
      const count = Math.min(head.byteLength, into.byteLength - filled);
      into.set(count === head.byteLength ? head : head.subarray(0, count), filled);
      filled += count;
      if (count === head.byteLength) inbound.shift();
      else inbound[0] = head.subarray(count);
    }
    this.#inboundBytes -= filled;
    return into.subarray(0, filled);
  }

  /**
   * A chunk from the peer. `borrowed`: the adapter reuses its buffer once this returns, so what is
   * kept is copied (once: into a waiting read(into)'s buffer, else into memory of its own).
   * `canPause`: a transport is there to pause when the queue grows too long. Returns whether the
   * chunk itself (not a copy) was kept: handed to a read(), or queued.
   */
  receive(chunk: Uint8Array, borrowed: boolean, canPause: boolean): boolean {
    if (this.done) {
      // After shutdown('read') or close(): drained so the peer is never blocked, and counted.
      this.bytesDiscarded += chunk.byteLength;
      return false;
    }
    this.bytesRead += chunk.byteLength;
    let rest = chunk;
    for (let reader = this.#nextReader(); reader; reader = this.#nextReader()) {
      const into = reader.into;
      if (into === undefined) {
        reader.resolve(borrowed ? new Uint8Array(rest) : rest);
        return !borrowed;
      }
      const count = Math.min(rest.byteLength, into.byteLength);
      into.set(count === rest.byteLength ? rest : rest.subarray(0, count));
      reader.resolve(into.subarray(0, count));
      if (count === rest.byteLength) return false;
      rest = rest.subarray(count);
    }
    this.#inbound ??= [];
    this.#inbound.push(borrowed ? new Uint8Array(rest) : rest);
    this.#inboundBytes += rest.byteLength;
    if (!this.#paused && this.#inboundBytes >= PAUSE_AT_BYTES && canPause) this.pause();
    return !borrowed;
  }

  /**
   * Puts bytes a read took, and could not hand on, back at the head of the queue: they are still
   * counted as read, and read next. After a discarding finish() they are discarded like the queue.
   */
  giveBack(rest: Uint8Array): void {
    if (this.#discarding) {
      this.bytesRead -= rest.byteLength;
      this.bytesDiscarded += rest.byteLength;
      return;
    }
    this.#inbound ??= [];
    this.#inbound.unshift(rest);
    this.#inboundBytes += rest.byteLength;
  }

  /** Ends delivery: queued data stays readable unless `discard`, then read() gives null (or `error`). */
  finish(discard: boolean): void {
    this.done = true;
    if (discard) this.#discarding = true;
    if (discard && this.#inboundBytes > 0) {
      // Received but never handed over: it moves from the read count to the discarded count.
      this.bytesRead -= this.#inboundBytes;
      this.bytesDiscarded += this.#inboundBytes;
      this.#inbound = undefined;
      this.#inboundBytes = 0;
    }
    for (const reader of this.#takeReaders()) {
      if (this.error) reader.reject(this.error);
      else reader.resolve(null);
    }
    if (this.#paused) this.resume();
  }

  /** Rejects the reads waiting now, and only those (startTls() detaching the socket). */
  rejectWaiting(error: SecureSocketError): void {
    for (const reader of this.#takeReaders()) reader.reject(error);
  }

  /** The bytes received and never read, as one buffer, taken out of the queue and of the read count. */
  takeUnread(): Uint8Array | undefined {
    if (this.#inboundBytes === 0) return undefined;
    const unread = new Uint8Array(this.#inboundBytes);
    let offset = 0;
    for (const chunk of this.#inbound!) {
      unread.set(chunk, offset);
      offset += chunk.byteLength;
    }
    this.bytesRead -= this.#inboundBytes;
    this.#inbound = undefined;
    this.#inboundBytes = 0;
    return unread;
  }

  /** The read that waited longest, taken out of the waiting ones. */
  #nextReader(): PendingRead | undefined {
    const reader = this.#reader;
    if (reader !== undefined) this.#reader = this.#laterReaders?.shift();
    return reader;
  }

  /** Every waiting read, in order, taken out of the waiting ones. */
  #takeReaders(): PendingRead[] {
    const first = this.#reader;
    if (first === undefined) return [];
    const readers = this.#laterReaders ?? [];
    readers.unshift(first);
    this.#reader = this.#laterReaders = undefined;
    return readers;
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
