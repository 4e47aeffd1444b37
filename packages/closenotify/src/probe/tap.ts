/**
 * Reads a socket continuously and records what arrived and how it ended, so a check can wait for a
 * condition with a bound and read the evidence afterwards. Every wait here ends by its deadline.
 */
import { isSecureSocketError, type ShutdownableSecureSocket } from '@closenotify/core';
import type { Ending, Observation } from './types.ts';

interface Waiter {
  done: () => boolean;
  resolve: (met: boolean) => void;
}

export class Tap {
  readonly #decoder = new TextDecoder('latin1');
  readonly #waiters = new Set<Waiter>();
  readonly #truncationDetection: boolean;
  #bytes = 0;
  #text = '';
  /** When each chunk arrived (performance.now()), and its size. */
  readonly #arrivals: { at: number; bytes: number }[] = [];
  #ending: { kind: Ending; code: string | null; at: number } | null = null;

  constructor(socket: ShutdownableSecureSocket) {
    this.#truncationDetection = socket.capabilities.truncationDetection;
    void this.#pump(socket);
  }

  /** Everything received so far, as latin1 text (protocol replies are ASCII). */
  get text(): string {
    return this.#text;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get ended(): boolean {
    return this.#ending !== null;
  }

  /** Forgets the text received so far (a protocol dialogue consumed it). */
  consumeText(): void {
    this.#text = '';
  }

  /** Resolves true once `done()` holds, false when `timeoutMs` passes first or the stream ended without it. */
  until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    if (this.#ending) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        done,
        resolve: (met) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(met);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Waits up to `timeoutMs` for the end, then describes what arrived after `since` (a performance.now()). */
  async observe(since: number, timeoutMs: number): Promise<Observation> {
    await this.until(() => this.ended, timeoutMs);
    const later = this.#arrivals.filter((arrival) => arrival.at >= since);
    const elapsed = (at: number | undefined) => (at === undefined ? null : Math.round(at - since));
    return {
      bytes: later.reduce((sum, arrival) => sum + arrival.bytes, 0),
      ending: this.#ending?.kind ?? 'open',
      errorCode: this.#ending?.code ?? null,
      firstByteMs: elapsed(later[0]?.at),
      lastByteMs: elapsed(later.at(-1)?.at),
      endedMs: elapsed(this.#ending?.at),
      waitedMs: timeoutMs,
    };
  }

  async #pump(socket: ShutdownableSecureSocket): Promise<void> {
    try {
      for (;;) {
        const chunk = await socket.read();
        if (chunk === null) {
          this.#end(this.#truncationDetection ? 'close_notify' : 'eof', null);
          return;
        }
        this.#arrivals.push({ at: performance.now(), bytes: chunk.byteLength });
        this.#bytes += chunk.byteLength;
        this.#text += this.#decoder.decode(chunk, { stream: true });
        this.#check();
      }
    } catch (error) {
      const code = isSecureSocketError(error) ? error.code : 'UNKNOWN';
      const kind: Ending =
        code === 'ERR_TLS_TRUNCATED' ? 'fin' : code === 'ERR_CONNECTION_RESET' ? 'reset' : 'error';
      this.#end(kind, kind === 'error' ? code : null);
    }
  }

  #end(kind: Ending, code: string | null): void {
    this.#ending = { kind, code, at: performance.now() };
    this.#check();
  }

  #check(): void {
    for (const waiter of this.#waiters) {
      if (waiter.done()) waiter.resolve(true);
      else if (this.#ending) waiter.resolve(false);
    }
  }
}
