/**
 * Translates resolved options into Bun's TLSOptions, which want ALPN in its wire format and know
 * no minimum or maximum TLS version.
 */
import { constants } from 'node:crypto';
import * as tls from 'node:tls';
import {
  type ResolvedConnectOptions,
  type ResolvedListenOptions,
  type ResolvedSocketOptions,
  SecureSocketError,
  serverNameIndication,
  trustAnchors,
} from '@closenotify/core';
import type { TLSOptions } from 'bun';

const encoder = new TextEncoder();

/**
 * RFC 7301 wire format: each name prefixed with its length. Bun throws on an array and silently
 * offers nothing for a plain string.
 */
function alpnWireFormat(protocols: string[]): Uint8Array {
  const names = protocols.map((protocol) => encoder.encode(protocol));
  const wire = new Uint8Array(names.reduce((length, name) => length + 1 + name.byteLength, 0));
  let offset = 0;
  for (const name of names) {
    wire[offset] = name.byteLength;
    wire.set(name, offset + 1);
    offset += 1 + name.byteLength;
  }
  return wire;
}

/**
 * minVersion/maxVersion as SSL_OP_NO_* bits, the one version control Bun passes to BoringSSL.
 * TLS 1.0 and 1.1 are always off (Bun's default today, stated rather than assumed).
 */
function versionBits({ minVersion, maxVersion }: ResolvedSocketOptions): number {
  let bits = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  if (minVersion === 'TLSv1.3') bits |= constants.SSL_OP_NO_TLSv1_2;
  if (maxVersion === 'TLSv1.2') bits |= constants.SSL_OP_NO_TLSv1_3;
  return bits;
}

// Bun has node:tls' getCACertificates (Node 22.15's API); the Node typings this package builds with predate it.
const { getCACertificates } = tls as unknown as { getCACertificates(type: 'default'): string[] };
let defaultAnchors: readonly string[] | undefined;

/** Bun's default trust: its bundled roots plus NODE_EXTRA_CA_CERTS. */
function defaultTrust(): readonly string[] {
  defaultAnchors ??= getCACertificates('default');
  return defaultAnchors;
}

function sharedOptions(options: ResolvedSocketOptions): TLSOptions {
  return {
    ca: trustAnchors(options, defaultTrust),
    ALPNProtocols: options.alpn && alpnWireFormat(options.alpn),
    secureOptions: versionBits(options),
  };
}

/** What builds a client's SSL_CTX: everything else in its TLS options is per connection. */
interface ContextInput {
  ca: string[] | undefined;
  cert: string | undefined;
  key: string | undefined;
  secureOptions: number;
}

/** Bun's native context inside a node:tls SecureContext: what upgradeTLS shares instead of building one. */
type NativeContext = object;

/** The configuration asked for last, and its context: a client connecting again and again shares one SSL_CTX. */
let lastClientContext: { input: ContextInput; context: NativeContext } | undefined;

/**
 * By contents, never by the array's identity: one array can hold other certificates by the next
 * connect. A string compared with itself is a pointer check, so the same PEM strings cost a loop.
 */
function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((pem, i) => pem === b[i]);
}

function sameInput(a: ContextInput, b: ContextInput): boolean {
  return a.cert === b.cert && a.key === b.key && a.secureOptions === b.secureOptions && sameList(a.ca, b.ca);
}

/**
 * upgradeTLS builds an SSL_CTX from inline `tls` options for every connection (parsing every trust
 * anchor again, about 50 µs of CPU), but takes a native context as `tls.secureContext` and shares it.
 * That native context is the `context` field of a node:tls SecureContext, which Bun does not
 * document: without it the connect fails here, loudly, rather than build contexts silently.
 * Building one also throws what Bun would throw for a certificate, key or trust anchor it cannot
 * load, so bad options fail connect() before any socket opens.
 */
function clientContext(input: ContextInput): NativeContext {
  if (lastClientContext && sameInput(lastClientContext.input, input)) return lastClientContext.context;
  const { context } = tls.createSecureContext(input) as tls.SecureContext & { context?: unknown };
  if (typeof context !== 'object' || context === null) {
    throw new SecureSocketError(
      'ERR_RUNTIME_UNSUPPORTED',
      "node:tls SecureContext has no native context for upgradeTLS: this Bun changed under closenotify's shared TLS context",
      { phase: 'connect' },
    );
  }
  lastClientContext = { input, context };
  return context;
}

/**
 * An IP servername is never SNI (RFC 6066 §3). Without a serverName Bun sends the host it connects to,
 * so an empty one sends none; Bun then verifies the host it connected to, not the servername, so the
 * transport verifies that address itself and Bun only reports its verdict (rejectUnauthorized: false).
 * The SSL_CTX is shared by every connection with the same trust, credentials and versions.
 */
export function clientTlsOptions(options: ResolvedConnectOptions): TLSOptions {
  const sni = serverNameIndication(options.servername);
  const secureContext = clientContext({
    ca: trustAnchors(options, defaultTrust),
    cert: options.cert,
    key: options.key,
    secureOptions: versionBits(options),
  });
  return {
    secureContext,
    ALPNProtocols: options.alpn && alpnWireFormat(options.alpn),
    serverName: sni ?? '',
    rejectUnauthorized: sni !== null && !options.dangerouslyDisableVerification,
  } as TLSOptions;
}

/**
 * Throws what Bun would throw for a certificate, key or trust anchor it cannot load. A server's TLS
 * context is built per connection by upgradeTLS, after the TCP socket opened: this refuses such
 * options up front, as Bun.listen with `tls` did.
 */
export function assertLoadable(options: TLSOptions): void {
  const { cert, key, ca } = options as { cert?: string; key?: string; ca?: string | string[] };
  tls.createSecureContext({ cert, key, ca });
}

export function serverTlsOptions(options: ResolvedListenOptions): TLSOptions {
  return {
    ...sharedOptions(options),
    cert: options.cert,
    key: options.key,
    requestCert: options.requestClientCert,
  };
}

/**
 * The context of node:tls over a Duplex (duplex-server.ts), built once per listener; it takes the
 * version bounds by name and ALPN as a list.
 */
export function serverSecureContext(options: ResolvedListenOptions): tls.SecureContext {
  return tls.createSecureContext({
    cert: options.cert,
    key: options.key,
    ca: trustAnchors(options, defaultTrust) as string[] | undefined,
    minVersion: options.minVersion,
    maxVersion: options.maxVersion,
  });
}
