/**
 * The write side of one socket: chunks handed to the transport in order, with the runtime's
 * backpressure, and the count of what it accepted. The socket decides when writing is refused and
 * when close_notify follows; this part tells it when every accepted chunk was handed over.
 */
import { Deferred, RESOLVED, rejected } from './deferred.ts';
import type { SecureSocketError } from './errors.ts';
import type { Transport } from './transport.ts';

/** What the write side needs from its socket. */
export interface WriteHost {
  /** The transport to write to; undefined once the socket is closed. */
  writeTransport(): Transport | undefined;
  /** Bytes moved: the idle timer starts again. */
  touch(): void;
  /** A write failed: fatal for the socket (`error` is already a SecureSocketError). */
  writeFailed(cause: unknown): SecureSocketError;
  /** No chunk is queued or in flight any more. */
  drained(): void;
}

interface PendingWrite {
  chunk: Uint8Array;
  done: Deferred<void>;
}

export class WriteSide {
  /** Plaintext handed to the runtime for sending. */
  bytesWritten = 0;
  /** Writes waiting behind the one in flight; made when the first write has to wait. */
  #queue: PendingWrite[] | undefined;
  #busy = false;
  /** The write the runtime is still taking (it pushed back). */
  #inFlight: Deferred<void> | undefined;
  readonly #host: WriteHost;

  constructor(host: WriteHost) {
    this.#host = host;
  }

  /** A chunk is queued or in flight. */
  get pending(): boolean {
    return this.#inFlight !== undefined || (this.#queue !== undefined && this.#queue.length > 0);
  }

  /** The promise of the last chunk still pending, if any. */
  get last(): Promise<void> | undefined {
    return this.#inFlight?.promise ?? this.#queue?.at(-1)?.done.promise;
  }

  /** Writes `chunk` behind every earlier one; the socket has checked that writing is allowed. */
  write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return RESOLVED;
    if (!this.#busy && !this.#queue?.length) return this.#transmit(chunk) ?? RESOLVED;
    const done = new Deferred<void>();
    this.#queue ??= [];
    this.#queue.push({ chunk, done });
    return done.promise;
  }

  /** Hands queued chunks over while the runtime takes them; tells the socket once none is left. */
  pump(): void {
    while (!this.#busy && this.#host.writeTransport()) {
      const next = this.#queue?.shift();
      if (!next) break;
      const accepted = this.#transmit(next.chunk);
      if (accepted)
        accepted.then(
          () => next.done.resolve(),
          (error: unknown) => next.done.reject(error),
        );
      else next.done.resolve();
    }
    if (!this.#busy && !this.#queue?.length) this.#host.drained();
  }

  /** Rejects every pending write with `error`; late word from the runtime changes nothing after it. */
  rejectAll(error: SecureSocketError): void {
    this.#inFlight?.reject(error);
    this.#inFlight = undefined;
    const waiting = this.#queue ?? [];
    this.#queue = undefined;
    for (const write of waiting) write.done.reject(error);
  }

  /** Hands one chunk to the transport; returns a promise only when the runtime pushes back. */
  #transmit(chunk: Uint8Array): Promise<void> | undefined {
    const host = this.#host;
    const transport = host.writeTransport()!;
    this.bytesWritten += chunk.byteLength;
    host.touch();
    let accepted: Promise<void> | undefined;
    try {
      accepted = transport.write(chunk);
    } catch (cause) {
      return rejected(host.writeFailed(cause));
    }
    if (accepted === undefined) return undefined;
    // Core owns the caller's promise: an abort or failure settles it even if the runtime later
    // reports the bytes taken (a runtime may resolve its drain promise when the socket closes).
    const inFlight = new Deferred<void>();
    this.#inFlight = inFlight;
    this.#busy = true;
    accepted.then(
      () => {
        if (this.#inFlight !== inFlight) return;
        this.#inFlight = undefined;
        this.#busy = false;
        inFlight.resolve();
        this.pump();
      },
      (cause: unknown) => {
        if (this.#inFlight !== inFlight) return;
        this.#inFlight = undefined;
        this.#busy = false;
        inFlight.reject(host.writeFailed(cause));
      },
    );
    return inFlight.promise;
  }
}
