/** A certificate and its private key, both PEM. */
export interface PkiCredential {
  cert: string;
  key: string;
}

export interface Pki {
  /** Where the PEM files live (`<name>.pem` and `<name>-key.pem`, plus `ca.pem`). */
  dir: string;
  /** The trusted test CA. */
  ca: string;
  /** SAN DNS:localhost, IP:127.0.0.1, IP:::1, signed by `ca`. */
  server: PkiCredential;
  /** SAN DNS:wrong.example only, signed by `ca`. */
  wrongHost: PkiCredential;
  /** localhost and loopback addresses, self-signed. */
  selfSigned: PkiCredential;
  /** localhost and loopback addresses, signed by `ca`, valid 2020-01-01..2020-02-01 only. */
  expired: PkiCredential;
  /** localhost and loopback addresses, signed by a second CA that nobody trusts. */
  untrusted: PkiCredential;
  /** clientAuth, CN=closenotify-client, signed by `ca`. */
  client: PkiCredential;
  /** localhost and loopback addresses, signed by `ca`, but extendedKeyUsage clientAuth only (no serverAuth). */
  wrongKeyUsage: PkiCredential;
}

export type PkiMaterial = Omit<Pki, 'dir'>;

export type CredentialName = Exclude<keyof PkiMaterial, 'ca'>;

export const CREDENTIAL_NAMES: readonly CredentialName[] = [
  'server',
  'wrongHost',
  'selfSigned',
  'expired',
  'untrusted',
  'client',
  'wrongKeyUsage',
];
