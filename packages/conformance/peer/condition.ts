// A state that steps wait on: waiters re-check their predicate on every notify(), and give up when the
// peer's lifetime (or the caller's deadline) ends, so no wait can outlive the peer.

export class Condition {
  readonly #waiters = new Set<() => void>();

  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves as soon as `holds()` is true (at once if it already is); rejects with the signal's reason on abort. */
  until(holds: () => boolean, signal: AbortSignal): Promise<void> {
    if (holds()) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => {
        this.#waiters.delete(check);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const check = () => {
        if (holds()) settle(resolve);
      };
      const onAbort = () => settle(() => reject(signal.reason));
      this.#waiters.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
