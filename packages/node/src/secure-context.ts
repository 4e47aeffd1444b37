import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { createSecureContext, type SecureContext } from 'node:tls';
import { type ResolvedSocketOptions, trustAnchors } from '@closenotify/core';

interface ContextInput {
  ca: string[] | undefined;
  caAddsToDefaultTrust: boolean;
  cert: string | undefined;
  key: string | undefined;
  minVersion: ResolvedSocketOptions['minVersion'];
  maxVersion: ResolvedSocketOptions['maxVersion'];
}

const MAX_CACHED = 32;
const cache = new Map<string, SecureContext>();

/** The configuration asked for last, and its context: a client that connects again and again skips the key. */
let last: { input: ContextInput; context: SecureContext } | undefined;

/**
 * By contents, never by the array's identity: one array can hold other certificates by the next
 * connect. A string compared with itself is still a pointer check, so a caller that passes the same
 * PEM strings again pays a length check and a loop.
 */
function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((pem, i) => pem === b[i]);
}

function sameInput(a: ContextInput, b: ContextInput): boolean {
  return (
    a.cert === b.cert &&
    a.key === b.key &&
    a.minVersion === b.minVersion &&
    a.maxVersion === b.maxVersion &&
    a.caAddsToDefaultTrust === b.caAddsToDefaultTrust &&
    sameList(a.ca, b.ca)
  );
}

const PEM_CERTIFICATES = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
let defaultAnchors: readonly string[] | undefined;

/**
 * Node's default trust as PEM: tls.getCACertificates('default') where Node has it (22.15); before
 * that the bundled roots plus the file NODE_EXTRA_CA_CERTS named at startup. Node 20 keeps those
 * extra roots in its shared store only: a context built from a list, or one that is given one more
 * anchor (addCACert), starts from the bundled roots without them.
 */
function defaultTrustAnchors(): readonly string[] {
  if (defaultAnchors) return defaultAnchors;
  const getCACertificates = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  if (getCACertificates) {
    defaultAnchors = getCACertificates('default');
    return defaultAnchors;
  }
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  let extra: string[] = [];
  try {
    if (extraFile) extra = readFileSync(extraFile, 'utf8').match(PEM_CERTIFICATES) ?? [];
  } catch {
    // Node itself only warns about an unreadable file and goes on with its roots.
  }
  defaultAnchors = [...tls.rootCertificates, ...extra];
  return defaultAnchors;
}

/** What `ca` means for a context or a server: the anchors alone, or added to Node's default trust. */
export function trustAnchorsOf(
  options: Pick<ContextInput, 'ca' | 'caAddsToDefaultTrust'>,
): string[] | undefined {
  return trustAnchors(options, defaultTrustAnchors);
}

/**
 * One SecureContext per distinct configuration: passing `ca` to every tls.connect builds a new
 * SSL_CTX and X509 store each time, which costs about 21 KiB and a fifth of the connection rate
 * (measured: docs/BENCHMARKS.md, Node cycles). The same configuration as last time is recognised without
 * serialising the PEM strings into a key (about 10 µs, 1.5 % of a connection cycle); comparing the
 * very same strings again is a pointer check.
 */
export function secureContextFor(input: ContextInput): SecureContext {
  if (last && sameInput(last.input, input)) return last.context;
  const context = contextFor(input);
  // Only the fields that decide the context: the caller's whole options object (its signal...) is not kept.
  const { ca, caAddsToDefaultTrust, cert, key, minVersion, maxVersion } = input;
  last = { input: { ca, caAddsToDefaultTrust, cert, key, minVersion, maxVersion }, context };
  return context;
}

function contextFor(input: ContextInput): SecureContext {
  const key = JSON.stringify([
    input.ca,
    input.caAddsToDefaultTrust,
    input.cert,
    input.key,
    input.minVersion,
    input.maxVersion,
  ]);
  let context = cache.get(key);
  if (context) return context;
  context = createSecureContext({
    ca: trustAnchorsOf(input),
    cert: input.cert,
    key: input.key,
    minVersion: input.minVersion,
    maxVersion: input.maxVersion,
  });
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, context);
  return context;
}
