// The on-disk form of the PKI: one PEM file per certificate and per key, so that external tools
// (openssl s_server, gnutls-serv) can use them too.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUTHORITY_FILES, CREDENTIAL_NAMES, type CredentialName, type PkiMaterial } from './types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A cached PKI is reused only while every current certificate stays valid this much longer. */
const MIN_REMAINING_VALIDITY_MS = 30 * DAY_MS;

function fileStem(name: CredentialName): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export async function writePkiFiles(dir: string, material: PkiMaterial): Promise<void> {
  for (const [name, file] of Object.entries(AUTHORITY_FILES)) {
    await writeFile(join(dir, file), material[name as keyof typeof AUTHORITY_FILES]);
  }
  for (const name of CREDENTIAL_NAMES) {
    await writeFile(join(dir, `${fileStem(name)}.pem`), material[name].cert);
    await writeFile(join(dir, `${fileStem(name)}-key.pem`), material[name].key, { mode: 0o600 });
  }
}

/** The PKI stored in `dir`, or undefined when it is missing, incomplete, inconsistent or about to expire. */
export async function readUsablePki(dir: string, now = Date.now()): Promise<PkiMaterial | undefined> {
  let material: PkiMaterial;
  try {
    const read = (file: string) => readFile(join(dir, file), 'utf8');
    const credential = async (name: CredentialName) => ({
      cert: await read(`${fileStem(name)}.pem`),
      key: await read(`${fileStem(name)}-key.pem`),
    });
    material = {
      ca: await read(AUTHORITY_FILES.ca),
      otherCa: await read(AUTHORITY_FILES.otherCa),
      defaultTrustCa: await read(AUTHORITY_FILES.defaultTrustCa),
      server: await credential('server'),
      wrongHost: await credential('wrongHost'),
      selfSigned: await credential('selfSigned'),
      expired: await credential('expired'),
      untrusted: await credential('untrusted'),
      client: await credential('client'),
      expiredClient: await credential('expiredClient'),
      untrustedClient: await credential('untrustedClient'),
      wrongKeyUsage: await credential('wrongKeyUsage'),
      defaultTrusted: await credential('defaultTrusted'),
    };
  } catch {
    return undefined;
  }
  return isUsable(material, now) ? material : undefined;
}

function isUsable(material: PkiMaterial, now: number): boolean {
  try {
    const ca = new X509Certificate(material.ca);
    const otherCa = new X509Certificate(material.otherCa);
    const defaultTrustCa = new X509Certificate(material.defaultTrustCa);
    const lastsLongEnough = (certificate: X509Certificate) =>
      Date.parse(certificate.validFrom) <= now &&
      Date.parse(certificate.validTo) - now >= MIN_REMAINING_VALIDITY_MS;
    if (![ca, otherCa, defaultTrustCa].every(lastsLongEnough)) return false;
    return CREDENTIAL_NAMES.every((name) => {
      const certificate = new X509Certificate(material[name].cert);
      if (!certificate.checkPrivateKey(createPrivateKey(material[name].key))) return false;
      if (name !== 'expired' && name !== 'expiredClient' && !lastsLongEnough(certificate)) return false;
      // Files written by two racing generations must never be mixed: everything the CA signs must verify.
      switch (name) {
        case 'selfSigned':
          return certificate.verify(certificate.publicKey);
        case 'untrusted':
        case 'untrustedClient':
          return certificate.verify(otherCa.publicKey) && !certificate.verify(ca.publicKey);
        case 'defaultTrusted':
          return certificate.verify(defaultTrustCa.publicKey) && !certificate.verify(ca.publicKey);
        default:
          return certificate.verify(ca.publicKey);
      }
    });
  } catch {
    return false;
  }
}
