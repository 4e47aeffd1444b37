import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki, type Pki, type PkiCredential } from '../src/index.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let scratch: string;
let pki: Pki;
let ca: X509Certificate;

// A whole PKI is eleven RSA key generations: about 1 s of CPU when idle, many times that while the
// other packages build and test on two shared cores: the preset's two-minute limit is a CPU budget.
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'closenotify-pki-'));
  pki = await ensurePki({ dir: join(scratch, 'pki') });
  ca = new X509Certificate(pki.ca);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('certificates', () => {
  it('has a CA that signs itself', () => {
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.subject).toContain('CN=closenotify test CA');
  });

  it('issues a server certificate for localhost and both loopback addresses', () => {
    const server = new X509Certificate(pki.server.cert);
    expect(server.ca).toBe(false);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.keyUsage).toEqual([SERVER_AUTH]);
    expect(currentlyValid(server)).toBe(true);
  });

  it('issues a wrong-host certificate valid for wrong.example only', () => {
    const wrongHost = new X509Certificate(pki.wrongHost.cert);
    expect(wrongHost.checkHost('wrong.example')).toBe('wrong.example');
    expect(wrongHost.checkHost('localhost')).toBeUndefined();
    expect(wrongHost.checkIP('127.0.0.1')).toBeUndefined();
    expect(wrongHost.verify(ca.publicKey)).toBe(true);
  });

  it('issues a self-signed certificate that the CA did not sign', () => {
    const selfSigned = new X509Certificate(pki.selfSigned.cert);
    expect(selfSigned.checkHost('localhost')).toBe('localhost');
    expect(selfSigned.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(selfSigned.verify(selfSigned.publicKey)).toBe(true);
    expect(selfSigned.verify(ca.publicKey)).toBe(false);
  });

  it('issues an expired certificate valid in January 2020 only', () => {
    const expired = new X509Certificate(pki.expired.cert);
    expect(new Date(expired.validFrom).toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(new Date(expired.validTo).toISOString()).toBe('2020-02-01T00:00:00.000Z');
    expect(expired.checkHost('localhost')).toBe('localhost');
    expect(expired.verify(ca.publicKey)).toBe(true);
  });

  it('issues an untrusted certificate from a different CA', () => {
    const untrusted = new X509Certificate(pki.untrusted.cert);
    expect(untrusted.checkHost('localhost')).toBe('localhost');
    expect(untrusted.verify(ca.publicKey)).toBe(false);
    expect(untrusted.issuer).toContain('CN=closenotify untrusted CA');
  });

  it('exports the other CA, which signed the untrusted certificate', () => {
    const otherCa = new X509Certificate(pki.otherCa);
    expect(otherCa.ca).toBe(true);
    expect(new X509Certificate(pki.untrusted.cert).verify(otherCa.publicKey)).toBe(true);
  });

  it('issues a localhost certificate from the default-trust CA, a third one', () => {
    const defaultTrustCa = new X509Certificate(pki.defaultTrustCa);
    const defaultTrusted = new X509Certificate(pki.defaultTrusted.cert);
    expect(defaultTrustCa.ca).toBe(true);
    expect(defaultTrustCa.subject).toContain('CN=closenotify default-trust CA');
    expect(defaultTrusted.checkHost('localhost')).toBe('localhost');
    expect(defaultTrusted.verify(defaultTrustCa.publicKey)).toBe(true);
    expect(defaultTrusted.verify(ca.publicKey)).toBe(false);
    expect(defaultTrusted.verify(new X509Certificate(pki.otherCa).publicKey)).toBe(false);
  });

  it('issues a client certificate for client authentication', () => {
    const client = new X509Certificate(pki.client.cert);
    expect(client.subject).toContain('CN=closenotify-client');
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
    expect(client.verify(ca.publicKey)).toBe(true);
  });

  it('issues an expired and an untrusted client certificate, both for client authentication', () => {
    const expiredClient = new X509Certificate(pki.expiredClient.cert);
    expect(expiredClient.keyUsage).toEqual([CLIENT_AUTH]);
    expect(new Date(expiredClient.validTo).toISOString()).toBe('2020-02-01T00:00:00.000Z');
    expect(expiredClient.verify(ca.publicKey)).toBe(true);
    const untrustedClient = new X509Certificate(pki.untrustedClient.cert);
    expect(untrustedClient.keyUsage).toEqual([CLIENT_AUTH]);
    expect(untrustedClient.verify(ca.publicKey)).toBe(false);
    expect(untrustedClient.verify(new X509Certificate(pki.otherCa).publicKey)).toBe(true);
    expect(currentlyValid(untrustedClient)).toBe(true);
  });

  it('issues a wrong-key-usage certificate for the loopback names, for client authentication only', () => {
    const wrongKeyUsage = new X509Certificate(pki.wrongKeyUsage.cert);
    expect(wrongKeyUsage.checkHost('localhost')).toBe('localhost');
    expect(wrongKeyUsage.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(wrongKeyUsage.keyUsage).toEqual([CLIENT_AUTH]);
    expect(wrongKeyUsage.verify(ca.publicKey)).toBe(true);
    expect(currentlyValid(wrongKeyUsage)).toBe(true);
  });

  it('gives every certificate its own positive serial number and a matching key', () => {
    const credentials = [
      pki.server,
      pki.wrongHost,
      pki.selfSigned,
      pki.expired,
      pki.untrusted,
      pki.client,
      pki.expiredClient,
      pki.untrustedClient,
      pki.wrongKeyUsage,
      pki.defaultTrusted,
    ];
    const certificates = credentials.map((credential) => new X509Certificate(credential.cert));
    const authorities = [pki.ca, pki.otherCa, pki.defaultTrustCa].map((pem) => new X509Certificate(pem));
    const serials = [...authorities, ...certificates].map((certificate) => certificate.serialNumber);
    expect(new Set(serials).size).toBe(serials.length);
    for (const serial of serials) expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    credentials.forEach((credential, index) => {
      expect(certificates[index]!.checkPrivateKey(createPrivateKey(credential.key))).toBe(true);
    });
  });
});

describe('cache', () => {
  it('reuses the stored PKI', async () => {
    const again = await ensurePki({ dir: pki.dir });
    expect(again).toEqual(pki);
  });

  it('replaces an incomplete PKI', async () => {
    const dir = join(scratch, 'incomplete');
    const first = await ensurePki({ dir });
    await rm(join(dir, 'server-key.pem'));
    const second = await ensurePki({ dir });
    expect(second.ca).not.toBe(first.ca);
    expect(existsSync(join(dir, 'server-key.pem'))).toBe(true);
  });

  // Each racer generates a whole PKI (RSA key generation, ~1 s of CPU when idle): on two loaded
  // cores that takes several seconds: the preset's two-minute limit is a CPU budget, not a speed limit.
  it('lets concurrent callers agree on one PKI and leaves no staging directory behind', async () => {
    const dir = join(scratch, 'race');
    const results = await Promise.all([ensurePki({ dir }), ensurePki({ dir })]);
    const stored = await ensurePki({ dir });
    for (const result of results) expect(result.ca).toBe(stored.ca);
    expect(await readdir(scratch)).not.toContainEqual(expect.stringContaining('staging'));
  });

  it('lives under .cache/pki in the repository by default', async () => {
    const shared = await ensurePki();
    expect(shared.dir).toMatch(/[/\\]\.cache[/\\]pki$/);
    expect(existsSync(join(shared.dir, '..', '..', 'pnpm-workspace.yaml'))).toBe(true);
  });
});

describe('handshakes on loopback', () => {
  it('succeeds with the server certificate and the test CA', async () => {
    expect(await handshake(pki.server)).toEqual({ ok: true });
  });

  it.each([
    ['selfSigned', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['expired', 'CERT_HAS_EXPIRED'],
    ['wrongHost', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['untrusted', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['wrongKeyUsage', 'INVALID_PURPOSE'],
  ] as const)('rejects the %s certificate with %s', async (name, code) => {
    expect(await handshake(pki[name])).toEqual({ ok: false, code });
  });

  it('authenticates the client certificate', async () => {
    expect(await handshake(pki.server, { clientCertificate: pki.client })).toEqual({
      ok: true,
      clientAuthorized: true,
    });
  });
});

function currentlyValid(certificate: X509Certificate): boolean {
  const now = Date.now();
  return Date.parse(certificate.validFrom) <= now && now < Date.parse(certificate.validTo);
}

type HandshakeResult = { ok: true; clientAuthorized?: boolean } | { ok: false; code: string | undefined };

/** One TLS handshake on loopback: a server presenting `credential`, a client trusting the test CA only. */
async function handshake(
  credential: PkiCredential,
  options: { clientCertificate?: PkiCredential } = {},
): Promise<HandshakeResult> {
  const clientAuth = options.clientCertificate !== undefined;
  const server = tls.createServer({
    ...credential,
    ca: pki.ca,
    requestCert: clientAuth,
    rejectUnauthorized: clientAuth,
  });
  const serverAuthorized = new Promise<boolean>((resolve) => {
    server.once('secureConnection', (socket: tls.TLSSocket) => resolve(socket.authorized));
  });
  // The server learns of a rejected certificate only through the client's alert; that is expected here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername: 'localhost',
      ca: pki.ca,
      ...options.clientCertificate,
    });
    const result = await new Promise<HandshakeResult>((resolve) => {
      client.once('secureConnect', () => resolve({ ok: true }));
      client.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code }));
    });
    // Under TLS 1.3 the client is done before the server has checked the client certificate.
    const withClientVerdict: HandshakeResult =
      result.ok && clientAuth ? { ok: true, clientAuthorized: await serverAuthorized } : result;
    client.destroy();
    return withClientVerdict;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
