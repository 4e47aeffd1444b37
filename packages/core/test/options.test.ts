import { describe, expect, it } from 'vitest';
import {
  type ConnectOptions,
  isSecureSocketError,
  type ListenOptions,
  resolveConnectOptions,
  resolveListenOptions,
} from '../src/index.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

function rejection(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (!isSecureSocketError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a SecureSocketError');
}

describe('resolveConnectOptions', () => {
  it('fills the spec §2 defaults', () => {
    const options = resolveConnectOptions({ hostname: 'example.test', port: 443 });
    expect(options).toMatchObject({
      servername: 'example.test',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      allowHalfOpen: false,
      handshakeTimeoutMs: 30_000,
      idleTimeoutMs: 0,
      closeTimeoutMs: 5_000,
      keepAlive: false,
      noDelay: true,
      truncation: 'error',
      secureTransport: 'on',
      dangerouslyDisableVerification: false,
      caAddsToDefaultTrust: false,
    });
  });

  it("copies ca and alpn: changing the caller's arrays afterwards changes nothing", () => {
    const ca = [CERT];
    const alpn = ['h2'];
    const options = resolveConnectOptions({ hostname: 'h', port: 1, ca, alpn });
    ca[0] = 'replaced';
    alpn.push('http/1.1');
    expect(options.ca).toEqual([CERT]);
    expect(options.alpn).toEqual(['h2']);
  });

  it('normalises ca and keepAlive', () => {
    const options = resolveConnectOptions({ hostname: 'h', port: 1, ca: CERT, keepAlive: true });
    expect(options.ca).toEqual([CERT]);
    expect(options.keepAlive).toEqual({ initialDelayMs: undefined });
    expect(
      resolveConnectOptions({ hostname: 'h', port: 1, keepAlive: { initialDelayMs: 7000 } }).keepAlive,
    ).toEqual({
      initialDelayMs: 7000,
    });
  });

  it('rounds a keepAlive delay down to whole seconds, at least one; 0 keeps the system default', () => {
    const delay = (initialDelayMs: number) =>
      resolveConnectOptions({ hostname: 'h', port: 1, keepAlive: { initialDelayMs } }).keepAlive;
    expect(delay(300)).toEqual({ initialDelayMs: 1000 });
    expect(delay(2999)).toEqual({ initialDelayMs: 2000 });
    expect(delay(0)).toEqual({ initialDelayMs: 0 });
  });

  it('tells an explicit noDelay: true from the default', () => {
    const requested = (options: { noDelay?: boolean }) =>
      resolveConnectOptions({ hostname: 'h', port: 1, ...options }).noDelayRequested;
    expect(requested({})).toBe(false);
    expect(requested({ noDelay: false })).toBe(false);
    expect(requested({ noDelay: true })).toBe(true);
  });

  const bad: Array<[string, Record<string, unknown>]> = [
    ['port', { port: 0 }],
    ['port', { port: 65536 }],
    ['port', { port: 1.5 }],
    ['port', { port: '443' }],
    ['hostname', { hostname: '' }],
    ['hostname', { hostname: 'a b' }],
    ['servername', { servername: '' }],
    ['handshakeTimeoutMs', { handshakeTimeoutMs: -1 }],
    ['handshakeTimeoutMs', { handshakeTimeoutMs: Number.NaN }],
    ['idleTimeoutMs', { idleTimeoutMs: Number.POSITIVE_INFINITY }],
    ['closeTimeoutMs', { closeTimeoutMs: 2 ** 31 }],
    ['minVersion', { minVersion: 'TLSv1.1' }],
    ['maxVersion', { maxVersion: 'SSLv3' }],
    ['minVersion', { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }],
    ['truncation', { truncation: 'warn' }],
    ['alpn', { alpn: 'h2' }],
    ['alpn', { alpn: [] }],
    ['alpn', { alpn: ['x'.repeat(256)] }],
    ['ca', { ca: 'not a pem' }],
    ['ca', { ca: [] }],
    ['caAddsToDefaultTrust', { caAddsToDefaultTrust: 'yes' }],
    ['key', { cert: CERT }],
    ['cert', { key: KEY }],
    ['allowHalfOpen', { allowHalfOpen: 'yes' }],
    ['keepAlive', { keepAlive: 5 }],
    ['keepAlive.initialDelayMs', { keepAlive: { initialDelayMs: -5 } }],
    ['signal', { signal: {} }],
    ['secureTransport', { secureTransport: 'off' }],
    ['idleTimeout', { idleTimeout: 100 }],
  ];

  it.each(bad)('rejects a bad "%s" with ERR_INVALID_OPTION naming it', (name, patch) => {
    const error = rejection(() =>
      resolveConnectOptions({ hostname: 'h', port: 443, ...patch } as ConnectOptions),
    );
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain(`"${name}"`);
  });

  it('rejects a non-object', () => {
    expect(rejection(() => resolveConnectOptions(null as unknown as ConnectOptions)).code).toBe(
      'ERR_INVALID_OPTION',
    );
  });
});

describe('resolveListenOptions', () => {
  it('needs cert and key, and defaults to 127.0.0.1 and port 0', () => {
    expect(resolveListenOptions({ cert: CERT, key: KEY })).toMatchObject({ hostname: '127.0.0.1', port: 0 });
    expect(rejection(() => resolveListenOptions({ cert: CERT } as ListenOptions)).message).toContain('"key"');
    expect(rejection(() => resolveListenOptions({} as ListenOptions)).message).toContain('"cert"');
  });

  it('refuses requestClientCert without ca: the public roots would vouch for clients', () => {
    const error = rejection(() => resolveListenOptions({ cert: CERT, key: KEY, requestClientCert: true }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(error.message).toContain('"ca"');
    expect(resolveListenOptions({ cert: CERT, key: KEY, requestClientCert: true, ca: CERT }).ca).toEqual([
      CERT,
    ]);
  });

  it('rejects connect-only options', () => {
    const error = rejection(() =>
      resolveListenOptions({ cert: CERT, key: KEY, servername: 'x' } as ListenOptions),
    );
    expect(error.message).toContain('"servername"');
  });

  it('caps connections by default, takes 0 as no limit, and refuses anything but a non-negative integer', () => {
    expect(resolveListenOptions({ cert: CERT, key: KEY })).toMatchObject({
      maxPendingConnections: 128,
      maxConnections: 10_000,
    });
    expect(
      resolveListenOptions({ cert: CERT, key: KEY, maxPendingConnections: 0, maxConnections: 0 }),
    ).toMatchObject({ maxPendingConnections: 0, maxConnections: 0 });
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '8']) {
      const error = rejection(() =>
        resolveListenOptions({ cert: CERT, key: KEY, maxConnections: bad } as ListenOptions),
      );
      expect(error.message).toContain('"maxConnections"');
    }
    expect(
      rejection(() => resolveListenOptions({ cert: CERT, key: KEY, onError: 1 } as unknown as ListenOptions))
        .message,
    ).toContain('"onError"');
  });

  it("gives listen()'s errors the phase 'server'", () => {
    try {
      resolveListenOptions({ cert: CERT, key: KEY, maxPendingConnections: -1 });
    } catch (error) {
      expect(isSecureSocketError(error) && error.phase).toBe('server');
      return;
    }
    throw new Error('expected a SecureSocketError');
  });
});
