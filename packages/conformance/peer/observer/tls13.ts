/** TLS 1.3 record protection: traffic keys (RFC 8446 §7.1, §7.3), record decryption and encryption (§5.2). */
import { createHmac } from 'node:crypto';
import {
  AEAD_TAG_LENGTH,
  type AeadCipher,
  type OpenResult,
  openAead,
  type RecordProtection,
  sealAead,
  sequenceNonce,
} from './aead.ts';
import type { KeylogStore, SecretLabel } from './keylog.ts';
import { ContentType, RECORD_HEADER_LENGTH, type TlsRecord } from './records.ts';

export interface Tls13Suite {
  readonly cipher: AeadCipher;
  readonly hash: 'sha256' | 'sha384';
  readonly keyLength: number;
}

/** RFC 8446 §B.4 */
const TLS13_SUITES = new Map<number, Tls13Suite>([
  [0x1301, { cipher: 'aes-128-gcm', hash: 'sha256', keyLength: 16 }], // TLS_AES_128_GCM_SHA256
  [0x1302, { cipher: 'aes-256-gcm', hash: 'sha384', keyLength: 32 }], // TLS_AES_256_GCM_SHA384
  [0x1303, { cipher: 'chacha20-poly1305', hash: 'sha256', keyLength: 32 }], // TLS_CHACHA20_POLY1305_SHA256
]);

const HASH_LENGTH = { sha256: 32, sha384: 48 } as const;

/** Every TLS 1.3 AEAD takes a 12-byte nonce (RFC 8446 §5.3: iv_length = max(8, N_MIN) = 12). */
const IV_LENGTH = 12;

export function tls13Suite(code: number): Tls13Suite | undefined {
  return TLS13_SUITES.get(code);
}

/** RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, Context, Length), the label prefixed with "tls13 ". */
export function hkdfExpandLabel(
  hash: Tls13Suite['hash'],
  secret: Buffer,
  label: string,
  context: Buffer,
  length: number,
): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'ascii');
  const hkdfLabel = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, fullLabel.length]),
    fullLabel,
    Buffer.from([context.length]),
    context,
  ]);
  return hkdfExpand(hash, secret, hkdfLabel, length);
}

/** RFC 5869 §2.3, with the secret as the PRK: T(i) = HMAC(PRK, T(i-1) | info | i). */
function hkdfExpand(hash: Tls13Suite['hash'], prk: Buffer, info: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let counter = 1, produced = 0; produced < length; counter++) {
    previous = createHmac(hash, prk)
      .update(previous)
      .update(info)
      .update(Buffer.from([counter]))
      .digest();
    blocks.push(previous);
    produced += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

export interface TrafficKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** RFC 8446 §7.3: the write key and IV derived from a traffic secret. */
export function trafficKeys(suite: Tls13Suite, secret: Buffer): TrafficKeys {
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', Buffer.alloc(0), suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', Buffer.alloc(0), IV_LENGTH),
  };
}

/** RFC 8446 §7.2: the secret that follows a KeyUpdate. */
export function nextTrafficSecret(suite: Tls13Suite, secret: Buffer): Buffer {
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', Buffer.alloc(0), HASH_LENGTH[suite.hash]);
}

/**
 * Decrypts one TLS 1.3 record (RFC 8446 §5.2): the additional data is the record header, and the
 * plaintext ends with the real content type followed by zero padding (§5.4).
 */
export function openTls13Record(
  suite: Tls13Suite,
  keys: TrafficKeys,
  sequence: number,
  record: TlsRecord,
): OpenResult {
  const nonce = sequenceNonce(keys.iv, sequence);
  const inner = openAead(suite.cipher, keys.key, nonce, record.header, record.fragment);
  if (inner === undefined) return { status: 'failed' };
  let end = inner.length;
  while (end > 0 && inner[end - 1] === 0) end--;
  // All padding and no content type is a protocol error (§5.4), not a record to report.
  if (end === 0) return { status: 'failed' };
  return { status: 'opened', contentType: inner[end - 1]!, content: inner.subarray(0, end - 1) };
}

/**
 * Encrypts one TLS 1.3 record (RFC 8446 §5.2) without padding: the outer type is application_data and
 * the legacy version 0x0303, the real type is the last byte of the plaintext.
 */
export function sealTls13Record(
  suite: Tls13Suite,
  keys: TrafficKeys,
  sequence: number,
  contentType: number,
  content: Buffer,
): Buffer {
  const header = Buffer.from([ContentType.applicationData, 0x03, 0x03, 0, 0]);
  header.writeUInt16BE(content.length + 1 + AEAD_TAG_LENGTH, RECORD_HEADER_LENGTH - 2);
  const inner = Buffer.concat([content, Buffer.from([contentType])]);
  const nonce = sequenceNonce(keys.iv, sequence);
  return Buffer.concat([header, sealAead(suite.cipher, keys.key, nonce, header, inner)]);
}

/**
 * One direction's keys from one traffic secret. The secret is either known (after a KeyUpdate) or
 * looked up in the keylog when the first record needs it, so lines that arrive late still count.
 */
export class Tls13RecordProtection implements RecordProtection {
  readonly suite: Tls13Suite;
  readonly #lookup: (() => Buffer | undefined) | undefined;
  #secret: Buffer | undefined;
  #keys: TrafficKeys | undefined;
  #sequence = 0;

  private constructor(suite: Tls13Suite, secret: Buffer | undefined, lookup?: () => Buffer | undefined) {
    this.suite = suite;
    this.#secret = secret;
    this.#lookup = lookup;
  }

  static fromKeylog(
    suite: Tls13Suite,
    keylog: KeylogStore,
    label: SecretLabel,
    clientRandom: Buffer,
  ): Tls13RecordProtection {
    return new Tls13RecordProtection(suite, undefined, () => keylog.get(label, clientRandom));
  }

  open(record: TlsRecord): OpenResult {
    const keys = this.#currentKeys();
    if (keys === undefined) return { status: 'no-key' };
    return openTls13Record(this.suite, keys, this.#sequence++, record);
  }

  seal(contentType: number, content: Buffer): Buffer {
    const keys = this.#currentKeys();
    if (keys === undefined) throw new Error('the keylog has no secret for these records');
    return sealTls13Record(this.suite, keys, this.#sequence++, contentType, content);
  }

  /** The protection after this direction's KeyUpdate; only called once a record was opened or sealed. */
  next(): Tls13RecordProtection {
    return new Tls13RecordProtection(this.suite, nextTrafficSecret(this.suite, this.#secret!));
  }

  #currentKeys(): TrafficKeys | undefined {
    this.#secret ??= this.#lookup?.();
    if (this.#secret === undefined) return undefined;
    this.#keys ??= trafficKeys(this.suite, this.#secret);
    return this.#keys;
  }
}
