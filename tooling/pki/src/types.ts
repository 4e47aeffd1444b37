/** A certificate and its private key, both PEM. */
export interface PkiCredential {
  cert: string;
  key: string;
}

export interface Pki {
  /** Where the PEM files live (`<name>.pem` and `<name>-key.pem`, and the authorities in AUTHORITY_FILES). */
  dir: string;
  /** The trusted test CA. */
  ca: string;
  /** The second CA, which signed `untrusted`: nobody trusts it. */
  otherCa: string;
  /**
   * A third CA, for the runtime's default trust store (NODE_EXTRA_CA_CERTS, DENO_CERT): what a public
   * root is to a real client. Never the `ca` of a test.
   */
  defaultTrustCa: string;
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
  /** The client profile (clientAuth, CN=closenotify-client), signed by `ca`, valid 2020-01-01..2020-02-01 only. */
  expiredClient: PkiCredential;
  /** The client profile (clientAuth, CN=closenotify-client), signed by the second CA that nobody trusts. */
  untrustedClient: PkiCredential;
  /** localhost and loopback addresses, signed by `ca`, but extendedKeyUsage clientAuth only (no serverAuth). */
  wrongKeyUsage: PkiCredential;
  /** localhost and loopback addresses, signed by `defaultTrustCa`. */
  defaultTrusted: PkiCredential;
}

export type PkiMaterial = Omit<Pki, 'dir'>;

export type AuthorityName = 'ca' | 'otherCa' | 'defaultTrustCa';

export type CredentialName = Exclude<keyof PkiMaterial, AuthorityName>;

export const AUTHORITY_FILES: Readonly<Record<AuthorityName, string>> = {
  ca: 'ca.pem',
  otherCa: 'other-ca.pem',
  defaultTrustCa: 'default-trust-ca.pem',
};

export const CREDENTIAL_NAMES: readonly CredentialName[] = [
  'server',
  'wrongHost',
  'selfSigned',
  'expired',
  'untrusted',
  'client',
  'expiredClient',
  'untrustedClient',
  'wrongKeyUsage',
  'defaultTrusted',
];
