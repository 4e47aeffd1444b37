/** Promise plumbing the socket's parts share. */
import type { SecureSocketError } from './errors.ts';

export const RESOLVED: Promise<void> = Promise.resolve();
export const ignore = (): void => {};

/**
 * A promise settled from outside, whose rejection never counts as unhandled: a caller that ignores
 * a returned promise must not crash the process (spec §3, invariant 4); a caller that awaits it
 * still sees the error. The handler that marks it handled is attached only when it rejects (not on
 * every read of the data path), and the settle functions are dropped once it settled, so a
 * long-lived socket keeps only its promises.
 */
export class Deferred<T> {
  readonly promise: Promise<T>;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  resolve(value: T): void {
    const resolve = this.#resolve;
    this.#resolve = this.#reject = undefined;
    resolve?.(value);
  }

  reject(error: unknown): void {
    const reject = this.#reject;
    if (!reject) return;
    this.#resolve = this.#reject = undefined;
    this.promise.catch(ignore);
    reject(error);
  }
}

/** A rejected promise that never counts as unhandled (see Deferred). */
export function rejected(error: SecureSocketError): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(ignore);
  return promise;
}

/**
 * A Deferred whose promise is made only when someone asks for it; until then only the outcome is
 * kept. A socket's `opened` and `closed` are mostly never asked for on an idle
 * connection, and a pending promise with its two settle functions costs several times this object.
 * A rejection never counts as unhandled, as with Deferred.
 */
export class LazyDeferred<T> {
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #state: 'pending' | 'resolved' | 'rejected' = 'pending';
  /** The outcome, kept only until a promise carries it. */
  #outcome: unknown;

  get promise(): Promise<T> {
    if (this.#promise) return this.#promise;
    if (this.#state === 'pending') {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    } else {
      const outcome = this.#outcome;
      this.#outcome = undefined;
      this.#promise =
        this.#state === 'resolved' ? Promise.resolve(outcome as T) : rejected(outcome as SecureSocketError);
    }
    return this.#promise;
  }

  resolve(value: T): void {
    if (this.#state !== 'pending') return;
    this.#state = 'resolved';
    const resolve = this.#resolve;
    this.#resolve = this.#reject = undefined;
    if (resolve) resolve(value);
    else this.#outcome = value;
  }

  reject(error: unknown): void {
    if (this.#state !== 'pending') return;
    this.#state = 'rejected';
    const reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    if (!reject) {
      this.#outcome = error;
      return;
    }
    this.#promise!.catch(ignore);
    reject(error);
  }
}
