// Builds the test PKI in memory. Keys come from node:crypto (native RSA key generation is two orders of
// magnitude faster than node-forge's); node-forge assembles and signs the certificates, because
// node:crypto cannot issue them.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { PkiMaterial } from './types.ts';

interface KeyPair {
  privateKeyPem: string;
  publicKey: forge.pki.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
}

interface Authority {
  certificate: forge.pki.Certificate;
  privateKey: forge.pki.rsa.PrivateKey;
}

type AltName = { type: 2; value: string } | { type: 7; ip: string };

interface CertificateRequest {
  commonName: string;
  keys: KeyPair;
  profile: 'ca' | 'server' | 'client';
  /** Absent for a self-signed certificate. */
  issuer?: Authority;
  altNames?: AltName[];
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const ORGANIZATION = 'closenotify test PKI';
const LOOPBACK_NAMES: AltName[] = [
  { type: 2, value: 'localhost' },
  { type: 7, ip: '127.0.0.1' },
  { type: 7, ip: '::1' },
];

export function issuePkiMaterial(now = new Date()): PkiMaterial {
  // Backdated by an hour so that a peer whose clock is slightly behind still accepts the certificates.
  const current = {
    notBefore: new Date(now.getTime() - 60 * 60 * 1000),
    notAfter: new Date(now.getTime() + 90 * DAY_MS),
  };
  const ca = selfSignedAuthority('closenotify test CA', current);
  const rogueCa = selfSignedAuthority('closenotify untrusted CA', current);
  const defaultTrustCa = selfSignedAuthority('closenotify default-trust CA', current);

  const leaf = (
    commonName: string,
    profile: 'server' | 'client',
    issuer: Authority | undefined,
    altNames: AltName[] | undefined,
    validity = current,
  ) => {
    const keys = newKeyPair();
    const certificate = issue({ commonName, keys, profile, issuer, altNames, ...validity });
    return { cert: toPem(certificate), key: keys.privateKeyPem };
  };

  const expiredValidity = {
    notBefore: new Date(Date.UTC(2020, 0, 1)),
    notAfter: new Date(Date.UTC(2020, 1, 1)),
  };
  return {
    ca: toPem(ca.certificate),
    otherCa: toPem(rogueCa.certificate),
    defaultTrustCa: toPem(defaultTrustCa.certificate),
    server: leaf('localhost', 'server', ca, LOOPBACK_NAMES),
    wrongHost: leaf('wrong.example', 'server', ca, [{ type: 2, value: 'wrong.example' }]),
    selfSigned: leaf('localhost', 'server', undefined, LOOPBACK_NAMES),
    expired: leaf('localhost', 'server', ca, LOOPBACK_NAMES, expiredValidity),
    untrusted: leaf('localhost', 'server', rogueCa, LOOPBACK_NAMES),
    client: leaf('closenotify-client', 'client', ca, undefined),
    expiredClient: leaf('closenotify-client', 'client', ca, undefined, expiredValidity),
    untrustedClient: leaf('closenotify-client', 'client', rogueCa, undefined),
    // The client profile with the loopback names: a chain valid for clientAuth only, never for a server.
    wrongKeyUsage: leaf('localhost', 'client', ca, LOOPBACK_NAMES),
    defaultTrusted: leaf('localhost', 'server', defaultTrustCa, LOOPBACK_NAMES),
  };
}

function selfSignedAuthority(commonName: string, validity: { notBefore: Date; notAfter: Date }): Authority {
  const keys = newKeyPair();
  return {
    certificate: issue({ commonName, keys, profile: 'ca', ...validity }),
    privateKey: keys.privateKey,
  };
}

function newKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privateKeyPem: privateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
  };
}

function issue(request: CertificateRequest): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = request.keys.publicKey;
  certificate.serialNumber = randomSerialNumber();
  certificate.validity.notBefore = request.notBefore;
  certificate.validity.notAfter = request.notAfter;
  const subject = [
    { shortName: 'CN', value: request.commonName },
    { shortName: 'O', value: ORGANIZATION },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(request.issuer ? request.issuer.certificate.subject.attributes : subject);

  const authorityKeyIdentifier = (request.issuer?.certificate ?? certificate)
    .generateSubjectKeyIdentifier()
    .getBytes();
  certificate.setExtensions([
    ...profileExtensions(request.profile),
    ...(request.altNames ? [{ name: 'subjectAltName', altNames: request.altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyIdentifier },
  ]);
  certificate.sign(request.issuer?.privateKey ?? request.keys.privateKey, forge.md.sha256.create());
  return certificate;
}

function profileExtensions(profile: CertificateRequest['profile']): object[] {
  switch (profile) {
    case 'ca':
      return [
        { name: 'basicConstraints', critical: true, cA: true },
        { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
      ];
    case 'server':
      return [
        { name: 'basicConstraints', critical: true, cA: false },
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
      ];
    case 'client':
      return [
        { name: 'basicConstraints', critical: true, cA: false },
        { name: 'keyUsage', critical: true, digitalSignature: true },
        { name: 'extKeyUsage', clientAuth: true },
      ];
  }
}

/** 128 random bits as a positive DER INTEGER: the top bit clear (not negative), the next one set (no leading zero byte). */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** node-forge ends PEM lines with CRLF; everything else in the repository uses LF. */
function toPem(certificate: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(certificate).replace(/\r\n/g, '\n');
}
