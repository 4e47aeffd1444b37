// Counts and hashes a byte stream as it passes, and keeps its beginning for readable failure messages.
import { createHash } from 'node:crypto';
import type { ByteSummary } from '../src/peer-client.ts';

export class ByteTally {
  bytes = 0;
  readonly #hash = createHash('sha256');
  readonly #headLimit: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;

  /** @param headLimit how many leading bytes to keep for `head()` */
  constructor(headLimit = 0) {
    this.#headLimit = headLimit;
  }

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    if (this.#headBytes < this.#headLimit) {
      const kept = Buffer.from(chunk.subarray(0, this.#headLimit - this.#headBytes));
      this.#head.push(kept);
      this.#headBytes += kept.length;
    }
  }

  summary(): ByteSummary {
    return { bytes: this.bytes, sha256: this.#hash.copy().digest('hex') };
  }

  /** The kept leading bytes, as latin1 so that every byte maps to one character. */
  head(): string {
    return Buffer.concat(this.#head).toString('latin1');
  }
}
