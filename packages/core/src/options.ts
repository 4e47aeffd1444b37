/**
 * Option validation shared by every adapter: bad input is rejected before any socket exists, with
 * ERR_INVALID_OPTION and a message naming the option, and defaults are filled in one place.
 */
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  MAX_TIMEOUT_MS,
} from './constants.ts';
import { SecureSocketError } from './errors.ts';
import type {
  ConnectOptions,
  ListenOptions,
  StartTlsOptions,
  TlsVersion,
  TruncationPolicy,
} from './types.ts';

export interface ResolvedSocketOptions {
  /** A copy: the caller's array can change after the call without changing what is trusted. */
  ca: string[] | undefined;
  caAddsToDefaultTrust: boolean;
  alpn: string[] | undefined;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  allowHalfOpen: boolean;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  closeTimeoutMs: number;
  /** initialDelayMs: whole seconds (in ms), at least one; 0 keeps the system default. */
  keepAlive: false | { initialDelayMs: number | undefined };
  noDelay: boolean;
  /** The caller asked for noDelay: true (not the default): a socket that cannot have it refuses. */
  noDelayRequested: boolean;
  truncation: TruncationPolicy;
  signal: AbortSignal | undefined;
}

export interface ResolvedConnectOptions extends ResolvedSocketOptions {
  hostname: string;
  port: number;
  servername: string;
  cert: string | undefined;
  key: string | undefined;
  secureTransport: 'on' | 'starttls';
  dangerouslyDisableVerification: boolean;
}

export interface ResolvedListenOptions extends ResolvedSocketOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  requestClientCert: boolean;
  secureTransport: 'on' | 'starttls';
  onHandshakeError: ((error: SecureSocketError) => void) | undefined;
  onError: ((error: SecureSocketError) => void) | undefined;
  /** 0 = no limit. */
  maxPendingConnections: number;
  /** 0 = no limit. */
  maxConnections: number;
}

const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];
const SHARED_KEYS = [
  'ca',
  'caAddsToDefaultTrust',
  'alpn',
  'minVersion',
  'maxVersion',
  'allowHalfOpen',
  'handshakeTimeoutMs',
  'idleTimeoutMs',
  'closeTimeoutMs',
  'keepAlive',
  'noDelay',
  'truncation',
  'signal',
] as const;
const CONNECT_KEYS = new Set<string>([
  ...SHARED_KEYS,
  'hostname',
  'port',
  'servername',
  'cert',
  'key',
  'secureTransport',
  'dangerouslyDisableVerification',
]);
const LISTEN_KEYS = new Set<string>([
  ...SHARED_KEYS,
  'hostname',
  'port',
  'cert',
  'key',
  'requestClientCert',
  'secureTransport',
  'onHandshakeError',
  'onError',
  'maxPendingConnections',
  'maxConnections',
]);

function invalid(name: string, expected: string, value: unknown): SecureSocketError {
  return new SecureSocketError(
    'ERR_INVALID_OPTION',
    `Invalid option "${name}": expected ${expected}, got ${describe(value)}`,
    { phase: 'connect' },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a${typeof value === 'object' ? 'n object' : ` ${typeof value}`}`;
}

function asRecord(options: unknown, what: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SecureSocketError('ERR_INVALID_OPTION', `${what} options must be an object`, {
      phase: 'connect',
    });
  }
  return options as Record<string, unknown>;
}

function rejectUnknownKeys(record: Record<string, unknown>, known: Set<string>): void {
  for (const key of Object.keys(record)) {
    if (!known.has(key) && record[key] !== undefined) {
      throw new SecureSocketError('ERR_INVALID_OPTION', `Unknown option "${key}"`, { phase: 'connect' });
    }
  }
}

function optionalBoolean(record: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = record[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value);
  return value;
}

function hostnameOf(record: Record<string, unknown>, fallback?: string): string {
  const value = record.hostname ?? fallback;
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) {
    throw invalid('hostname', 'a non-empty host name or IP address', value);
  }
  return value;
}

function portOf(record: Record<string, unknown>, min: number, fallback?: number): number {
  const value = record.port ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw invalid('port', `an integer from ${min} to 65535`, value);
  }
  return value;
}

function timeoutOf(record: Record<string, unknown>, name: string, fallback: number): number {
  const value = record[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    throw invalid(name, `a finite number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`, value);
  }
  return value;
}

function limitOf(record: Record<string, unknown>, name: string, fallback: number): number {
  const value = record[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(name, 'a non-negative integer (0 = no limit)', value);
  }
  return value;
}

function callbackOf(record: Record<string, unknown>, name: string) {
  const value = record[name];
  if (value !== undefined && typeof value !== 'function') throw invalid(name, 'a function', value);
  return value as ((error: SecureSocketError) => void) | undefined;
}

function pemOf(record: Record<string, unknown>, name: string, marker: RegExp): string | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !marker.test(value)) throw invalid(name, 'a PEM string', value);
  return value;
}

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----/;
const encoder = new TextEncoder();
const KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Copied before it is checked, so what is checked is what is used, whatever the caller does next. */
function caOf(record: Record<string, unknown>): string[] | undefined {
  const value = record.ca;
  if (value === undefined) return undefined;
  const list: unknown[] = Array.isArray(value) ? [...value] : [value];
  if (list.length === 0 || !list.every((pem) => typeof pem === 'string' && CERTIFICATE_PEM.test(pem))) {
    throw invalid('ca', 'a PEM certificate string or a non-empty array of them', value);
  }
  return list as string[];
}

function alpnOf(record: Record<string, unknown>): string[] | undefined {
  const value = record.alpn;
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    // At most 3 UTF-8 bytes per UTF-16 unit: only long names need encoding to check the 255-byte limit.
    !value.every(
      (p) => typeof p === 'string' && p.length > 0 && (p.length <= 85 || encoder.encode(p).length <= 255),
    )
  ) {
    throw invalid('alpn', 'a non-empty array of protocol names of 1 to 255 bytes', value);
  }
  return [...(value as string[])];
}

function versionOf(record: Record<string, unknown>, name: string, fallback: TlsVersion): TlsVersion {
  const value = record[name];
  if (value === undefined) return fallback;
  if (!TLS_VERSIONS.includes(value as TlsVersion)) throw invalid(name, "'TLSv1.2' or 'TLSv1.3'", value);
  return value as TlsVersion;
}

function keepAliveOf(record: Record<string, unknown>): ResolvedSocketOptions['keepAlive'] {
  const value = record.keepAlive;
  if (value === undefined || value === false) return false;
  if (value === true) return { initialDelayMs: undefined };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const delay = (value as Record<string, unknown>).initialDelayMs;
    if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 && delay <= MAX_TIMEOUT_MS) {
      return { initialDelayMs: keepIdleMs(delay) };
    }
    throw invalid('keepAlive.initialDelayMs', 'a finite number of milliseconds, at least 0', delay);
  }
  throw invalid('keepAlive', 'a boolean or { initialDelayMs }', value);
}

/**
 * TCP_KEEPIDLE counts whole seconds. Node rounds a delay down and reads 0 s as "keep the system
 * default" (a 300 ms delay became 7200 s), Bun raises it to one second: round down here, to at least
 * one second, so every runtime sets the same value. 0 still means the system default.
 */
function keepIdleMs(delayMs: number): number {
  return delayMs === 0 ? 0 : Math.max(1, Math.floor(delayMs / 1000)) * 1000;
}

function signalOf(record: Record<string, unknown>): AbortSignal | undefined {
  const value = record.signal;
  if (value === undefined) return undefined;
  const candidate = value as Partial<AbortSignal>;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function'
  ) {
    throw invalid('signal', 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

function sharedOptions(record: Record<string, unknown>): ResolvedSocketOptions {
  const minVersion = versionOf(record, 'minVersion', 'TLSv1.2');
  const maxVersion = versionOf(record, 'maxVersion', 'TLSv1.3');
  if (TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
    throw invalid('minVersion', `a version no newer than maxVersion (${maxVersion})`, minVersion);
  }
  const truncation = record.truncation ?? 'error';
  if (truncation !== 'error' && truncation !== 'ignore') {
    throw invalid('truncation', "'error' or 'ignore'", truncation);
  }
  return {
    ca: caOf(record),
    caAddsToDefaultTrust: optionalBoolean(record, 'caAddsToDefaultTrust', false),
    alpn: alpnOf(record),
    minVersion,
    maxVersion,
    allowHalfOpen: optionalBoolean(record, 'allowHalfOpen', false),
    handshakeTimeoutMs: timeoutOf(record, 'handshakeTimeoutMs', DEFAULT_HANDSHAKE_TIMEOUT_MS),
    idleTimeoutMs: timeoutOf(record, 'idleTimeoutMs', 0),
    closeTimeoutMs: timeoutOf(record, 'closeTimeoutMs', DEFAULT_CLOSE_TIMEOUT_MS),
    keepAlive: keepAliveOf(record),
    noDelay: optionalBoolean(record, 'noDelay', true),
    noDelayRequested: record.noDelay === true,
    truncation,
    signal: signalOf(record),
  };
}

function certificatePair(record: Record<string, unknown>, required: boolean) {
  const cert = pemOf(record, 'cert', CERTIFICATE_PEM);
  const key = pemOf(record, 'key', KEY_PEM);
  if ((cert === undefined) !== (key === undefined) || (required && cert === undefined)) {
    const missing = cert === undefined ? 'cert' : 'key';
    throw invalid(missing, `a PEM string${required ? '' : ' (cert and key go together)'}`, record[missing]);
  }
  return { cert, key };
}

function secureTransportOf(record: Record<string, unknown>): 'on' | 'starttls' {
  const value = record.secureTransport ?? 'on';
  if (value !== 'on' && value !== 'starttls') throw invalid('secureTransport', "'on' or 'starttls'", value);
  return value;
}

export function resolveConnectOptions(options: ConnectOptions): ResolvedConnectOptions {
  const record = asRecord(options, 'connect()');
  rejectUnknownKeys(record, CONNECT_KEYS);
  const hostname = hostnameOf(record);
  const servername = record.servername ?? hostname;
  if (typeof servername !== 'string' || servername.length === 0) {
    throw invalid('servername', 'a non-empty string', servername);
  }
  const secureTransport = secureTransportOf(record);
  const { cert, key } = certificatePair(record, false);
  // Fields are added to the one object sharedOptions built: spreading it into a new one cost most
  // of this function's ~7 µs per connect (docs/BENCHMARKS.md, Node cycles).
  return Object.assign(sharedOptions(record), {
    cert,
    key,
    hostname,
    port: portOf(record, 1),
    servername,
    secureTransport,
    dangerouslyDisableVerification: optionalBoolean(record, 'dangerouslyDisableVerification', false),
  });
}

export function resolveListenOptions(options: ListenOptions): ResolvedListenOptions {
  try {
    const record = asRecord(options, 'listen()');
    rejectUnknownKeys(record, LISTEN_KEYS);
    const { cert, key } = certificatePair(record, true);
    const shared = sharedOptions(record);
    const requestClientCert = optionalBoolean(record, 'requestClientCert', false);
    // Without `ca` the runtime would check client certificates against its public roots: any
    // publicly issued clientAuth certificate would be let in.
    if (requestClientCert && shared.ca === undefined) {
      throw invalid(
        'ca',
        'the CA certificates that issue client certificates (requestClientCert needs them)',
        undefined,
      );
    }
    return Object.assign(shared, {
      hostname: hostnameOf(record, '127.0.0.1'),
      port: portOf(record, 0, 0),
      cert: cert!,
      key: key!,
      requestClientCert,
      secureTransport: secureTransportOf(record),
      onHandshakeError: callbackOf(record, 'onHandshakeError'),
      onError: callbackOf(record, 'onError'),
      maxPendingConnections: limitOf(record, 'maxPendingConnections', DEFAULT_MAX_PENDING_CONNECTIONS),
      maxConnections: limitOf(record, 'maxConnections', DEFAULT_MAX_CONNECTIONS),
    });
  } catch (error) {
    throw asServerError(error);
  }
}

/**
 * The validators are shared with connect(), whose errors carry phase 'connect'; a listen() error is
 * the server's. Rewrapping here keeps the phase out of connect()'s hot path.
 */
function asServerError(error: unknown): unknown {
  if (!(error instanceof SecureSocketError) || error.phase === 'server') return error;
  return new SecureSocketError(error.code, error.message, { phase: 'server', cause: error.cause });
}

/** What a server's startTls() may change: the listener's credentials, trust and versions stay. */
const START_TLS_SERVER_KEYS = new Set<string>([
  'handshakeTimeoutMs',
  'idleTimeoutMs',
  'closeTimeoutMs',
  'allowHalfOpen',
  'truncation',
]);
const START_TLS_CLIENT_KEYS = new Set<string>([
  ...START_TLS_SERVER_KEYS,
  'servername',
  'ca',
  'caAddsToDefaultTrust',
  'alpn',
  'minVersion',
  'maxVersion',
  'cert',
  'key',
  'dangerouslyDisableVerification',
]);

/**
 * The options of the socket startTls() returns: the plaintext socket's, with the call's overrides
 * checked as connect() checks them. A fresh object; `base` is not changed.
 */
export function resolveStartTlsOptions<Base extends ResolvedSocketOptions>(
  base: Base,
  options: StartTlsOptions | undefined,
  role: 'client' | 'server',
): Base {
  const record = options === undefined ? {} : asRecord(options, 'startTls()');
  rejectUnknownKeys(record, role === 'client' ? START_TLS_CLIENT_KEYS : START_TLS_SERVER_KEYS);
  const given = (name: string): boolean => record[name] !== undefined;
  const merged = { ...base } as Record<string, unknown>;
  if (given('ca')) merged.ca = caOf(record);
  if (given('alpn')) merged.alpn = alpnOf(record);
  if (given('minVersion')) merged.minVersion = versionOf(record, 'minVersion', 'TLSv1.2');
  if (given('maxVersion')) merged.maxVersion = versionOf(record, 'maxVersion', 'TLSv1.3');
  const minVersion = merged.minVersion as TlsVersion;
  const maxVersion = merged.maxVersion as TlsVersion;
  if (TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
    throw invalid('minVersion', `a version no newer than maxVersion (${maxVersion})`, minVersion);
  }
  for (const name of ['handshakeTimeoutMs', 'idleTimeoutMs', 'closeTimeoutMs']) {
    if (given(name)) merged[name] = timeoutOf(record, name, 0);
  }
  for (const name of ['allowHalfOpen', 'caAddsToDefaultTrust', 'dangerouslyDisableVerification']) {
    if (given(name)) merged[name] = optionalBoolean(record, name, false);
  }
  if (given('truncation')) {
    if (record.truncation !== 'error' && record.truncation !== 'ignore') {
      throw invalid('truncation', "'error' or 'ignore'", record.truncation);
    }
    merged.truncation = record.truncation;
  }
  if (given('servername')) {
    if (typeof record.servername !== 'string' || record.servername.length === 0) {
      throw invalid('servername', 'a non-empty string', record.servername);
    }
    merged.servername = record.servername;
  }
  if (given('cert') || given('key')) Object.assign(merged, certificatePair(record, false));
  return merged as Base;
}
