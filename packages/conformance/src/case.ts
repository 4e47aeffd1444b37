/**
 * What a conformance case is, and what it gets to work with. Cases are runtime-neutral: they use the
 * adapter under test, the peer daemon and web-standard APIs only, so the same code runs in Node,
 * Bun and Deno.
 */
import type {
  Capabilities,
  ConnectOptions,
  ListenOptions,
  SecureServer,
  ShutdownableSecureSocket,
  StartTlsOptions,
} from '@closenotify/core';
import type {
  ExternalClientHandle,
  ExternalClientSpec,
  ExternalHandle,
  ExternalSpec,
  KernelSocketOptions,
  PeerHandle,
  PeerPki,
  PeerSpec,
  TlsVersion,
} from './peer-client.ts';

export interface AdapterUnderTest {
  name: string;
  version: string;
  connect(options: ConnectOptions): Promise<ShutdownableSecureSocket>;
  listen(
    options: ListenOptions,
    onSocket?: (socket: ShutdownableSecureSocket) => unknown,
  ): Promise<SecureServer>;
  capabilities: Capabilities;
}

export interface RuntimeInfo {
  name: string;
  version: string;
  /** The TLS library, e.g. 'OpenSSL 3.0.19', 'BoringSSL', 'rustls'. */
  tls: string;
}

/** A capability flag, or one session-info field as `sessionInfo.<field>`. */
export type CapabilityName =
  | Exclude<keyof Capabilities, 'sessionInfo'>
  | `sessionInfo.${keyof Capabilities['sessionInfo']}`;

export interface CaseContext {
  readonly adapter: AdapterUnderTest;
  readonly pki: PeerPki;
  /** The TLS version this run of the case is about (the peer forces it), or null when any will do. */
  readonly tls: TlsVersion | null;
  /** Starts a peer (forced to `tls` unless the spec says otherwise); stopped after the case. */
  peer(spec: PeerSpec): Promise<PeerHandle>;
  /** A third-party server (openssl, gnutls), stopped after the case; throws NotRun when it is not installed. */
  external(spec: ExternalSpec): Promise<ExternalHandle>;
  /**
   * A third-party client (openssl s_client) doing SMTP STARTTLS against a listener of ours
   * (forced to `tls` unless the spec says otherwise), stopped after the case; throws NotRun when it
   * is not installed.
   */
  externalClient(spec: ExternalClientSpec): Promise<ExternalClientHandle>;
  /**
   * `ca` as the trust anchors of a connect or listen. Where `ca` can only add to the runtime's default
   * trust (exclusiveCa false) the adapter refuses it alone, so this adds caAddsToDefaultTrust: true.
   */
  trusting(ca: string | string[]): Pick<ConnectOptions, 'ca' | 'caAddsToDefaultTrust'>;
  /** The adapter's connect() to a server peer, trusting the test CA; aborted after the case if still open. */
  connect(peer: { port: number }, options?: Partial<ConnectOptions>): Promise<ShutdownableSecureSocket>;
  /** The adapter's listen() with the test server certificate; closed after the case. */
  listen(
    options?: Partial<ListenOptions>,
  ): Promise<{ server: SecureServer; next(): Promise<ShutdownableSecureSocket> }>;
  /**
   * The adapter's listen() with the test server certificate and `onSocket` as given: without one,
   * sockets come only through the server's async iterator. Closed after the case; the sockets it
   * hands out are the case's to close.
   */
  serve(
    options?: Partial<ListenOptions>,
    onSocket?: (socket: ShutdownableSecureSocket) => unknown,
  ): Promise<SecureServer>;
  /**
   * What the kernel says is set on the socket (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE), read by the
   * peer daemon from this runtime's process; throws NotRun where the daemon cannot look (no python3).
   */
  kernelSocketOptions(socket: ShutdownableSecureSocket): Promise<KernelSocketOptions>;
  /**
   * `socket.startTls(options)`, with the secure socket it resolves with aborted after the case if still
   * open, like the sockets of connect() and listen().
   */
  startTls(socket: ShutdownableSecureSocket, options?: StartTlsOptions): Promise<ShutdownableSecureSocket>;
  /** A step for the failure message. */
  note(text: string): void;
}

export interface ConformanceCase {
  /** Stable id, `area.case`. */
  id: string;
  /** One line: what must hold. */
  requirement: string;
  /** Where the requirement comes from: an RFC section, BSD/OpenSSL behaviour, or the runtime bug it guards. */
  source: string;
  /** 'each': run once per TLS version (where the version matters); 'any': once. */
  tls: 'each' | 'any';
  /** Capabilities the case needs; without them it is reported `unsupported`, never run. */
  requires?: CapabilityName[];
  /** Capabilities the case needs on one TLS version only (with tls: 'each'). */
  requiresOn?: Partial<Record<TlsVersion, CapabilityName[]>>;
  timeoutMs?: number;
  run(context: CaseContext): Promise<void>;
}

export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

/**
 * A host name that never resolves (RFC 6761 §6.4: .invalid), for `connect.host-not-found`. Deno is
 * granted network access to it by name: its permission check comes before resolution.
 */
export const UNRESOLVABLE_HOST = 'closenotify-conformance.invalid';

/**
 * The suite trusts the test CA on every runtime. On one whose `ca` only adds to the default trust,
 * it passes the opt-in, so that every other case still runs there: the default roots cannot vouch
 * for the test peers (their CA is in no store), and connect.ca-replaces-default-trust is the case
 * about the difference.
 */
export function trustOptions(
  capabilities: Capabilities,
  ca: string | string[],
): Pick<ConnectOptions, 'ca' | 'caAddsToDefaultTrust'> {
  return capabilities.exclusiveCa ? { ca } : { ca, caAddsToDefaultTrust: true };
}

export function hasCapability(capabilities: Capabilities, name: CapabilityName): boolean {
  if (name.startsWith('sessionInfo.')) {
    const field = name.slice('sessionInfo.'.length) as keyof Capabilities['sessionInfo'];
    return capabilities.sessionInfo[field] === true;
  }
  return capabilities[name as Exclude<keyof Capabilities, 'sessionInfo'>] === true;
}
