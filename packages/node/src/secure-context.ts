import { createSecureContext, type SecureContext } from 'node:tls';
import type { ResolvedSocketOptions } from '@closenotify/core';

interface ContextInput {
  ca: string[] | undefined;
  cert: string | undefined;
  key: string | undefined;
  minVersion: ResolvedSocketOptions['minVersion'];
  maxVersion: ResolvedSocketOptions['maxVersion'];
}

const MAX_CACHED = 32;
const cache = new Map<string, SecureContext>();

/** The configuration asked for last, and its context: a client that connects again and again skips the key. */
let last: { input: ContextInput; context: SecureContext } | undefined;

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  return (
    a === b ||
    (a !== undefined && b !== undefined && a.length === b.length && a.every((pem, i) => pem === b[i]))
  );
}

function sameInput(a: ContextInput, b: ContextInput): boolean {
  return (
    a.cert === b.cert &&
    a.key === b.key &&
    a.minVersion === b.minVersion &&
    a.maxVersion === b.maxVersion &&
    sameList(a.ca, b.ca)
  );
}

/**
 * One SecureContext per distinct configuration: passing `ca` to every tls.connect builds a new
 * SSL_CTX and X509 store each time, which costs about 21 KiB and a fifth of the connection rate
 * (research/perf-baseline.md §3). The same configuration as last time is recognised without
 * serialising the PEM strings into a key (about 10 µs, 1.5 % of a connection cycle); comparing the
 * very same strings again is a pointer check.
 */
export function secureContextFor(input: ContextInput): SecureContext {
  if (last && sameInput(last.input, input)) return last.context;
  const context = contextFor(input);
  // Only the fields that decide the context: the caller's whole options object (its signal...) is not kept.
  const { ca, cert, key, minVersion, maxVersion } = input;
  last = { input: { ca, cert, key, minVersion, maxVersion }, context };
  return context;
}

function contextFor(input: ContextInput): SecureContext {
  const key = JSON.stringify([input.ca, input.cert, input.key, input.minVersion, input.maxVersion]);
  let context = cache.get(key);
  if (context) return context;
  context = createSecureContext({
    ca: input.ca,
    cert: input.cert,
    key: input.key,
    minVersion: input.minVersion,
    maxVersion: input.maxVersion,
  });
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, context);
  return context;
}
