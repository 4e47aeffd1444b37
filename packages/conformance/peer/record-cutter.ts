// A pass-through between a TLS socket and its TCP socket, installed only for scripts with a `finMidRecord`
// step: it can put just the beginning of one record's ciphertext on the wire and then a bare FIN, which no
// TLS stack does by itself (a peer dying mid-write does).

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import { Condition } from './condition.ts';

export interface Cut {
  /** Bytes of the cut record (header included) that reached the wire. */
  kept: number;
  /** Size of the cut record, header included. */
  total: number;
}

const RECORD_HEADER_BYTES = 5;

export class RecordCutter extends Duplex {
  readonly #raw: Socket;
  readonly #writesSettled = new Condition();
  #pendingWrites = 0;
  #armed: { keep: number; resolve: (cut: Cut) => void; reject: (error: Error) => void } | undefined;
  #severed = false;

  constructor(raw: Socket) {
    super({ allowHalfOpen: true });
    this.#raw = raw;
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    // The TCP socket's errors are recorded where it is owned; here its end only tears the TLS side down.
    raw.on('close', () => this.destroy());
  }

  override _read(): void {
    this.#raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#forward(chunk, callback);
  }

  // The TLS layer corks the buffers of one of its writes together; they arrive here as one batch.
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#forward(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#severed) this.#raw.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#armed?.reject(new Error('the connection closed before the record was cut'));
    this.#armed = undefined;
    this.#raw.destroy();
    callback(error);
  }

  /**
   * Resolves once the TLS layer has handed over everything it had produced and the TCP socket accepted it.
   * Node's JS stream bridge releases the TLS layer's next write only in the check phase after a write
   * completes, so this waits a check phase after the last write and looks again.
   */
  async settled(signal: AbortSignal): Promise<void> {
    do {
      await this.#writesSettled.until(() => this.#pendingWrites === 0, signal);
      await nextCheckPhase(undefined, { signal });
    } while (this.#pendingWrites > 0);
  }

  /**
   * Arms the cut: of the next write, every record but the last goes out whole, the last only up to `keep`
   * bytes (never all of it), followed by a bare FIN; everything later is dropped. The last record is the
   * one carrying the data written after arming: OpenSSL sends TLS 1.3 session tickets lazily, in the same
   * write, ahead of the first application data.
   */
  cutNextWrite(keep: number): Promise<Cut> {
    return new Promise((resolve, reject) => {
      this.#armed = { keep, resolve, reject };
    });
  }

  #forward(data: Buffer, callback: (error?: Error | null) => void): void {
    // After a cut or a bare FIN the TLS layer's output has nowhere to go; writing it would only fail.
    if (this.#severed || this.#raw.writableEnded) {
      callback();
      return;
    }
    const armed = this.#armed;
    if (armed) {
      this.#armed = undefined;
      this.#severed = true;
      const start = lastRecordStart(data);
      const kept = Math.min(armed.keep, data.length - start - 1);
      this.#raw.end(data.subarray(0, start + kept));
      armed.resolve({ kept, total: data.length - start });
      callback();
      return;
    }
    this.#pendingWrites++;
    this.#raw.write(data, () => {
      this.#pendingWrites--;
      this.#writesSettled.notify();
      callback();
    });
  }
}

/** Where the last TLS record in `data` starts (records: a 5-byte header whose last two bytes are the length). */
function lastRecordStart(data: Buffer): number {
  let start = 0;
  let next = 0;
  while (next + RECORD_HEADER_BYTES <= data.length) {
    start = next;
    next += RECORD_HEADER_BYTES + data.readUInt16BE(next + 3);
  }
  return start;
}
