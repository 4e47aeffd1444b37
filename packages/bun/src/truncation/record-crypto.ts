/**
 * Just enough of the TLS record layer to open one record of the peer's: the AEAD suites Bun's
 * BoringSSL negotiates, TLS 1.3 traffic keys (RFC 8446 §7) and TLS 1.2 key blocks (RFC 5246 §6.3),
 * and the per-record nonce and additional data of each version. Nothing here touches a socket.
 */
import { createDecipheriv } from 'node:crypto';
import { chacha20Poly1305Open } from './chacha20-poly1305.ts';

export type Hash = 'sha256' | 'sha384';

export interface AeadSuite {
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  /** TLS 1.2: the implicit nonce part taken from the key block (GCM 4, ChaCha20 12). */
  fixedIvLength: number;
  /** TLS 1.2: the nonce part sent in each record (GCM 8, ChaCha20 none). */
  explicitNonceLength: number;
  hash: Hash;
}

const SUITES: ReadonlyArray<[RegExp, AeadSuite]> = [
  [
    /AES_128_GCM_SHA256$/,
    { cipher: 'aes-128-gcm', keyLength: 16, fixedIvLength: 4, explicitNonceLength: 8, hash: 'sha256' },
  ],
  [
    /AES_256_GCM_SHA384$/,
    { cipher: 'aes-256-gcm', keyLength: 32, fixedIvLength: 4, explicitNonceLength: 8, hash: 'sha384' },
  ],
  [
    /CHACHA20_POLY1305_SHA256$/,
    { cipher: 'chacha20-poly1305', keyLength: 32, fixedIvLength: 12, explicitNonceLength: 0, hash: 'sha256' },
  ],
];

/** The suite behind an IANA cipher suite name (`getCipher().standardName`), or undefined for a non-AEAD one. */
export function aeadSuiteOf(standardName: string): AeadSuite | undefined {
  return SUITES.find(([pattern]) => pattern.test(standardName))?.[1];
}

const HASH_LENGTH: Record<Hash, number> = { sha256: 32, sha384: 48 };
const encoder = new TextEncoder();

/**
 * Bun's native hasher: node:crypto's createHmac builds a stream-backed object in JavaScript per call,
 * which cost more CPU (and JIT compilation) per connection than the hashing itself.
 */
function hmac(hash: Hash, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = new Bun.CryptoHasher(hash, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** HKDF-Expand (RFC 5869 §2.3). */
function hkdfExpand(hash: Hash, secret: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block: Uint8Array = new Uint8Array(0);
  for (let filled = 0, counter = 1; filled < length; counter++) {
    block = hmac(hash, secret, block, info, Uint8Array.of(counter));
    out.set(block.subarray(0, length - filled), filled);
    filled += block.length;
  }
  return out;
}

/** HKDF-Expand-Label with an empty context (RFC 8446 §7.1): all the record layer needs. */
export function hkdfExpandLabel(hash: Hash, secret: Uint8Array, label: string, length: number): Uint8Array {
  const fullLabel = encoder.encode(`tls13 ${label}`);
  const info = new Uint8Array(4 + fullLabel.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = 0;
  return hkdfExpand(hash, secret, info, length);
}

/** The TLS 1.2 PRF, P_hash (RFC 5246 §5). */
export function tls12Prf(
  hash: Hash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const labelAndSeed = new Uint8Array([...encoder.encode(label), ...seed]);
  const out = new Uint8Array(length);
  let a: Uint8Array = labelAndSeed;
  for (let filled = 0; filled < length; ) {
    a = hmac(hash, secret, a);
    const block = hmac(hash, secret, a, labelAndSeed);
    out.set(block.subarray(0, length - filled), filled);
    filled += block.length;
  }
  return out;
}

/** What opens one direction's records: its key and (TLS 1.3) IV or (TLS 1.2) implicit nonce part. */
export interface RecordKeys {
  suite: AeadSuite;
  key: Uint8Array;
  iv: Uint8Array;
}

/** A TLS 1.3 traffic secret's key and IV (RFC 8446 §7.3). */
export function tls13Keys(suite: AeadSuite, secret: Uint8Array): RecordKeys {
  return {
    suite,
    key: hkdfExpandLabel(suite.hash, secret, 'key', suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', 12),
  };
}

/** The traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(suite: AeadSuite, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', HASH_LENGTH[suite.hash]);
}

/** One side's TLS 1.2 write keys, from the master secret and both hello randoms (RFC 5246 §6.3). */
export function tls12Keys(
  suite: AeadSuite,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  side: 'client' | 'server',
): RecordKeys {
  const { keyLength, fixedIvLength } = suite;
  const block = tls12Prf(
    suite.hash,
    masterSecret,
    'key expansion',
    new Uint8Array([...serverRandom, ...clientRandom]),
    2 * (keyLength + fixedIvLength),
  );
  const keyAt = side === 'client' ? 0 : keyLength;
  const ivAt = 2 * keyLength + (side === 'client' ? 0 : fixedIvLength);
  return { suite, key: block.slice(keyAt, keyAt + keyLength), iv: block.slice(ivAt, ivAt + fixedIvLength) };
}

function aeadOpen(
  keys: RecordKeys,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  if (keys.suite.cipher === 'chacha20-poly1305') return chacha20Poly1305Open(keys.key, nonce, aad, sealed);
  if (sealed.length < 16) return null;
  const decipher = createDecipheriv(keys.suite.cipher, keys.key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - 16));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return new Uint8Array(plaintext);
}

/** The per-record nonce: the IV with the sequence number XORed into its last 8 bytes. */
function xorSequence(iv: Uint8Array, sequence: bigint): Uint8Array {
  const nonce = iv.slice();
  const view = new DataView(nonce.buffer);
  view.setBigUint64(4, view.getBigUint64(4) ^ sequence);
  return nonce;
}

export interface OpenedRecord {
  /** TLS 1.3: the inner content type; TLS 1.2: the header's. */
  type: number;
  content: Uint8Array;
}

/** A whole TLS 1.3 record (header included): its inner type and content, or null when the tag fails. */
export function openTls13Record(keys: RecordKeys, sequence: bigint, record: Uint8Array): OpenedRecord | null {
  const inner = aeadOpen(keys, xorSequence(keys.iv, sequence), record.subarray(0, 5), record.subarray(5));
  if (!inner) return null;
  // The inner plaintext ends with the content type, then zero padding (RFC 8446 §5.4).
  let end = inner.length;
  while (end > 0 && inner[end - 1] === 0) end--;
  if (end === 0) return null;
  return { type: inner[end - 1]!, content: inner.subarray(0, end - 1) };
}

/** A whole TLS 1.2 AEAD record (header included): its content, or null when the tag fails. */
export function openTls12Record(keys: RecordKeys, sequence: bigint, record: Uint8Array): OpenedRecord | null {
  const { explicitNonceLength } = keys.suite;
  const body = record.subarray(5);
  const sealed = body.subarray(explicitNonceLength);
  if (sealed.length < 16) return null;
  const nonce =
    explicitNonceLength === 0
      ? xorSequence(keys.iv, sequence)
      : new Uint8Array([...keys.iv, ...body.subarray(0, explicitNonceLength)]);
  const aad = new Uint8Array(13);
  const view = new DataView(aad.buffer);
  view.setBigUint64(0, sequence);
  aad.set(record.subarray(0, 3), 8);
  view.setUint16(11, sealed.length - 16);
  const content = aeadOpen(keys, nonce, aad, sealed);
  return content && { type: record[0]!, content };
}
