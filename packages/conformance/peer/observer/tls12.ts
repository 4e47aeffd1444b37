/**
 * TLS 1.2 record protection for the AEAD suites: the PRF and key block (RFC 5246 §5, §6.3), AES-GCM
 * records (RFC 5288 §3) and ChaCha20-Poly1305 records (RFC 7905 §2), opened and sealed. CBC suites are
 * not supported.
 */
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
import type { KeylogStore } from './keylog.ts';
import { RECORD_HEADER_LENGTH, type TlsRecord } from './records.ts';

export interface Tls12Suite {
  readonly cipher: AeadCipher;
  /** The PRF hash (RFC 5246 §5; the suite's own for the SHA-384 ones, RFC 5288 §3). */
  readonly hash: 'sha256' | 'sha384';
  readonly keyLength: number;
  /** GCM: a 4-byte implicit salt plus an 8-byte explicit nonce in each record; ChaCha20: a 12-byte IV. */
  readonly fixedIvLength: 4 | 12;
}

const AES_128_GCM_SHA256: Tls12Suite = {
  cipher: 'aes-128-gcm',
  hash: 'sha256',
  keyLength: 16,
  fixedIvLength: 4,
};
const AES_256_GCM_SHA384: Tls12Suite = {
  cipher: 'aes-256-gcm',
  hash: 'sha384',
  keyLength: 32,
  fixedIvLength: 4,
};
const CHACHA20_POLY1305_SHA256: Tls12Suite = {
  cipher: 'chacha20-poly1305',
  hash: 'sha256',
  keyLength: 32,
  fixedIvLength: 12,
};

const TLS12_SUITES = new Map<number, Tls12Suite>([
  [0x009c, AES_128_GCM_SHA256], // TLS_RSA_WITH_AES_128_GCM_SHA256
  [0x009d, AES_256_GCM_SHA384], // TLS_RSA_WITH_AES_256_GCM_SHA384
  [0x009e, AES_128_GCM_SHA256], // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
  [0x009f, AES_256_GCM_SHA384], // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
  [0xc02b, AES_128_GCM_SHA256], // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  [0xc02c, AES_256_GCM_SHA384], // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  [0xc02f, AES_128_GCM_SHA256], // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  [0xc030, AES_256_GCM_SHA384], // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  [0xcca8, CHACHA20_POLY1305_SHA256], // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  [0xcca9, CHACHA20_POLY1305_SHA256], // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  [0xccaa, CHACHA20_POLY1305_SHA256], // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
]);

/** GCM's per-record explicit nonce (RFC 5288 §3). */
const EXPLICIT_NONCE_LENGTH = 8;
const TLS12_VERSION = 0x0303;

export function tls12Suite(code: number): Tls12Suite | undefined {
  return TLS12_SUITES.get(code);
}

/** RFC 5246 §5: PRF(secret, label, seed) = P_hash(secret, label + seed). */
export function prf(
  hash: Tls12Suite['hash'],
  secret: Buffer,
  label: string,
  seed: Buffer,
  length: number,
): Buffer {
  const labelAndSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const blocks: Buffer[] = [];
  let a = labelAndSeed; // A(0)
  for (let produced = 0; produced < length; ) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelAndSeed).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

export interface Tls12WriteKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** RFC 5246 §6.3: the key block, split into the client's and the server's write keys (AEAD: no MAC keys). */
export function keyBlock(
  suite: Tls12Suite,
  masterSecret: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): { client: Tls12WriteKeys; server: Tls12WriteKeys } {
  const { keyLength, fixedIvLength } = suite;
  const seed = Buffer.concat([serverRandom, clientRandom]);
  const block = prf(suite.hash, masterSecret, 'key expansion', seed, 2 * (keyLength + fixedIvLength));
  const ivStart = 2 * keyLength;
  return {
    client: { key: block.subarray(0, keyLength), iv: block.subarray(ivStart, ivStart + fixedIvLength) },
    server: {
      key: block.subarray(keyLength, ivStart),
      iv: block.subarray(ivStart + fixedIvLength, ivStart + 2 * fixedIvLength),
    },
  };
}

/**
 * Decrypts one TLS 1.2 AEAD record. The additional data is seq_num + type + version + the plaintext
 * length (RFC 5246 §6.2.3.3). GCM takes its nonce as salt + the record's explicit part (RFC 5288 §3);
 * ChaCha20-Poly1305 XORs the IV with the sequence number and has no explicit part (RFC 7905 §2).
 */
export function openTls12Record(
  suite: Tls12Suite,
  keys: Tls12WriteKeys,
  sequence: number,
  record: TlsRecord,
): OpenResult {
  const explicitLength = explicitNonceLength(suite);
  const { fragment } = record;
  if (fragment.length < explicitLength + AEAD_TAG_LENGTH) return { status: 'failed' };
  const nonce = recordNonce(suite, keys, sequence, fragment.subarray(0, explicitLength));
  const sealed = fragment.subarray(explicitLength);
  const additionalData = tls12AdditionalData(
    sequence,
    record.type,
    record.version,
    sealed.length - AEAD_TAG_LENGTH,
  );
  const content = openAead(suite.cipher, keys.key, nonce, additionalData, sealed);
  return content === undefined
    ? { status: 'failed' }
    : { status: 'opened', contentType: record.type, content };
}

/** Encrypts one TLS 1.2 AEAD record; GCM's explicit nonce is the sequence number, as OpenSSL does. */
export function sealTls12Record(
  suite: Tls12Suite,
  keys: Tls12WriteKeys,
  sequence: number,
  contentType: number,
  content: Buffer,
): Buffer {
  const explicit = Buffer.alloc(explicitNonceLength(suite));
  if (explicit.length > 0) {
    explicit.writeUInt32BE(Math.floor(sequence / 2 ** 32), 0);
    explicit.writeUInt32BE(sequence >>> 0, 4);
  }
  const nonce = recordNonce(suite, keys, sequence, explicit);
  const additionalData = tls12AdditionalData(sequence, contentType, TLS12_VERSION, content.length);
  const sealed = sealAead(suite.cipher, keys.key, nonce, additionalData, content);
  const header = Buffer.from([contentType, TLS12_VERSION >> 8, TLS12_VERSION & 0xff, 0, 0]);
  header.writeUInt16BE(explicit.length + sealed.length, RECORD_HEADER_LENGTH - 2);
  return Buffer.concat([header, explicit, sealed]);
}

function explicitNonceLength(suite: Tls12Suite): number {
  return suite.fixedIvLength === 4 ? EXPLICIT_NONCE_LENGTH : 0;
}

/** GCM: salt + the record's explicit part (RFC 5288 §3); ChaCha20-Poly1305: IV XOR sequence (RFC 7905 §2). */
function recordNonce(suite: Tls12Suite, keys: Tls12WriteKeys, sequence: number, explicit: Buffer): Buffer {
  return explicitNonceLength(suite) > 0
    ? Buffer.concat([keys.iv, explicit])
    : sequenceNonce(keys.iv, sequence);
}

/** RFC 5246 §6.2.3.3: seq_num + type + version + the plaintext length. */
function tls12AdditionalData(sequence: number, type: number, version: number, length: number): Buffer {
  const additionalData = Buffer.alloc(13);
  additionalData.writeUInt32BE(Math.floor(sequence / 2 ** 32), 0);
  additionalData.writeUInt32BE(sequence >>> 0, 4);
  additionalData[8] = type;
  additionalData.writeUInt16BE(version, 9);
  additionalData.writeUInt16BE(length, 11);
  return additionalData;
}

/**
 * The keys of one direction after its ChangeCipherSpec. The master secret is looked up in the
 * keylog (CLIENT_RANDOM line) when the first record needs it, so a line that arrives late still counts.
 */
export class Tls12RecordProtection implements RecordProtection {
  readonly #suite: Tls12Suite;
  readonly #keylog: KeylogStore;
  readonly #clientRandom: Buffer;
  readonly #serverRandom: Buffer;
  readonly #writer: 'client' | 'server';
  #keys: Tls12WriteKeys | undefined;
  #sequence = 0;

  constructor(
    suite: Tls12Suite,
    keylog: KeylogStore,
    randoms: { client: Buffer; server: Buffer },
    writer: 'client' | 'server',
  ) {
    this.#suite = suite;
    this.#keylog = keylog;
    this.#clientRandom = randoms.client;
    this.#serverRandom = randoms.server;
    this.#writer = writer;
  }

  open(record: TlsRecord): OpenResult {
    const keys = this.#currentKeys();
    if (keys === undefined) return { status: 'no-key' };
    return openTls12Record(this.#suite, keys, this.#sequence++, record);
  }

  seal(contentType: number, content: Buffer): Buffer {
    const keys = this.#currentKeys();
    if (keys === undefined) throw new Error('the keylog has no master secret for these records');
    return sealTls12Record(this.#suite, keys, this.#sequence++, contentType, content);
  }

  #currentKeys(): Tls12WriteKeys | undefined {
    if (this.#keys === undefined) {
      const masterSecret = this.#keylog.get('CLIENT_RANDOM', this.#clientRandom);
      if (masterSecret === undefined) return undefined;
      this.#keys = keyBlock(this.#suite, masterSecret, this.#clientRandom, this.#serverRandom)[this.#writer];
    }
    return this.#keys;
  }
}
