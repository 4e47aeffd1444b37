/**
 * Building SessionInfo from what Node-style TLS APIs give (Node and Bun share them). A certificate's
 * details are read once, the first time a peer presents it (found again by its SHA-256 fingerprint),
 * and shared by every later session that sees it: reading them from the X509 object costs CPU on
 * every handshake (about 5 % of a Bun connection cycle) and a fresh copy of every string on every
 * idle connection (about 1 KiB of heap; docs/BENCHMARKS.md). Each session still gets its own
 * objects; only their immutable strings are shared. Both tables start over when full.
 */
import type { CipherInfo, NetAddress, PeerCertificateInfo, SessionInfo, TlsVersion } from './types.ts';

/** The fields of a Node/Bun X509Certificate that SessionInfo reports. */
export interface X509Like {
  readonly fingerprint256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly subjectAltName: string | undefined;
}

const MAX_CACHED = 256;
const certificates = new Map<string, PeerCertificateInfo>();
const strings = new Map<string, string>();

function cached<T>(table: Map<string, T>, key: string, make: () => T): T {
  let value = table.get(key);
  if (value === undefined) {
    if (table.size >= MAX_CACHED) table.clear();
    value = make();
    table.set(key, value);
  }
  return value;
}

/** Cipher names and addresses repeat across connections too: one copy of each string. */
function shared(text: string): string {
  return cached(strings, text, () => text);
}

export function peerCertificateOf(certificate: X509Like | undefined): PeerCertificateInfo | null {
  if (!certificate) return null;
  const fingerprint256 = certificate.fingerprint256;
  const known = cached(certificates, fingerprint256, () => ({
    subject: certificate.subject,
    issuer: certificate.issuer,
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
    fingerprint256,
    subjectAltNames: certificate.subjectAltName?.split(', ') ?? [],
  }));
  return { ...known, subjectAltNames: [...known.subjectAltNames] };
}

export function cipherOf(
  cipher: { name: string; standardName: string } | undefined | null,
): CipherInfo | null {
  return cipher ? { name: shared(cipher.name), standardName: shared(cipher.standardName) } : null;
}

export function netAddressOf(hostname: string | undefined, port: number | undefined): NetAddress | null {
  // A connected socket never has port 0: 0 and undefined both mean the runtime does not know.
  return hostname && port ? { hostname: shared(hostname), port } : null;
}

export function tlsVersionOf(protocol: string | null | undefined): TlsVersion | null {
  return protocol === 'TLSv1.2' || protocol === 'TLSv1.3' ? protocol : null;
}

/**
 * What a plaintext (STARTTLS) socket's `opened` gives before startTls(): the two addresses, not
 * authorized, and null for every TLS field, the same on every runtime.
 */
export function plaintextSession(
  localAddress: NetAddress | null,
  remoteAddress: NetAddress | null,
): SessionInfo {
  return {
    protocol: null,
    cipher: null,
    alpnProtocol: null,
    servername: null,
    peerCertificate: null,
    authorized: false,
    localAddress,
    remoteAddress,
  };
}
