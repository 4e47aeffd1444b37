import type { SecureSocketError } from '@closenotify/core';
import type { Socket } from 'bun';

interface Waiting {
  rest: Uint8Array;
  resolve(): void;
  reject(error: SecureSocketError): void;
}

/**
 * The one write Bun took only part of. `socket.write()` returns how many bytes it took (0: none fit,
 * -1: the socket is already dead); the rest goes out at each `drain`, and the write settles once all
 * of it was taken. Core awaits each write before the next reaches the transport, so at most one waits.
 * Shared by the plaintext phase (plaintext.ts) and the TLS transport (socket.ts).
 */
export class PartialWrite {
  #waiting: Waiting | undefined;

  /** Whether a write still waits for `drain`. */
  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /** Hands `chunk` to Bun: undefined when Bun took it whole, else a promise that settles later. */
  write(socket: Socket<unknown>, chunk: Uint8Array): Promise<void> | undefined {
    const written = socket.write(chunk);
    if (written === chunk.byteLength) return undefined;
    // -1: the socket's `close` handler, which knows why (a RST, say), rejects the write.
    return new Promise<void>((resolve, reject) => {
      this.#waiting = { rest: written > 0 ? chunk.subarray(written) : chunk, resolve, reject };
    });
  }

  /** At `drain`: sends more of the waiting write. False when none was waiting. */
  drained(socket: Socket<unknown>): boolean {
    const waiting = this.#waiting;
    if (!waiting) return false;
    const written = socket.write(waiting.rest);
    if (written === waiting.rest.byteLength) {
      this.#waiting = undefined;
      waiting.resolve();
    } else if (written > 0) {
      waiting.rest = waiting.rest.subarray(written);
    }
    return true;
  }

  /** Rejects the waiting write, if any, and forgets it. */
  reject(error: SecureSocketError): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }
}
