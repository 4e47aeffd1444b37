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

/**
 * One SecureContext per distinct configuration: passing `ca` to every tls.connect builds a new
 * SSL_CTX and X509 store each time, which costs about 21 KiB and a fifth of the connection rate
 * (research/perf-baseline.md §3).
 */
export function secureContextFor(input: ContextInput): SecureContext {
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
