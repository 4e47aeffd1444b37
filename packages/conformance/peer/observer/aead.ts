/**
 * The AEAD primitives shared by the TLS 1.2 and TLS 1.3 record protections: the observer opens records
 * with them, and the peer seals the records it crafts itself (alerts, KeyUpdate) with them.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { TlsRecord } from './records.ts';

export type AeadCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

/** Every AEAD suite supported here has a 16-byte tag (RFC 5116 §5.1, RFC 8439 §2.8). */
export const AEAD_TAG_LENGTH = 16;

/** What opening one protected record gave. */
export type OpenResult =
  | { status: 'opened'; contentType: number; content: Buffer }
  /** Authentication failed, or the record cannot be protected under this suite at all. */
  | { status: 'failed' }
  /** The keylog has no secret for this record yet: try again later, at the same sequence number. */
  | { status: 'no-key' };

/**
 * One direction's current keys; it counts the records' sequence numbers itself, so opening every record
 * a side sent and then sealing continues that side's stream exactly where it stopped.
 */
export interface RecordProtection {
  open(record: TlsRecord): OpenResult;
  /** The whole protected record (header included) carrying `content` of `contentType`. */
  seal(contentType: number, content: Buffer): Buffer;
}

/** Decrypts `sealed` (ciphertext followed by the tag); undefined when authentication fails. */
export function openAead(
  cipher: AeadCipher,
  key: Buffer,
  nonce: Buffer,
  additionalData: Buffer,
  sealed: Buffer,
): Buffer | undefined {
  if (sealed.length < AEAD_TAG_LENGTH) return undefined;
  // Two identical calls, one per overload of createDecipheriv.
  const decipher =
    cipher === 'chacha20-poly1305'
      ? createDecipheriv(cipher, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
      : createDecipheriv(cipher, key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  const ciphertext = sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH);
  decipher.setAAD(additionalData, { plaintextLength: ciphertext.length });
  decipher.setAuthTag(sealed.subarray(ciphertext.length));
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plaintext;
}

/** Encrypts `plaintext`; returns the ciphertext followed by the tag. */
export function sealAead(
  cipher: AeadCipher,
  key: Buffer,
  nonce: Buffer,
  additionalData: Buffer,
  plaintext: Buffer,
): Buffer {
  // Two identical calls, one per overload of createCipheriv.
  const encipher =
    cipher === 'chacha20-poly1305'
      ? createCipheriv(cipher, key, nonce, { authTagLength: AEAD_TAG_LENGTH })
      : createCipheriv(cipher, key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  encipher.setAAD(additionalData, { plaintextLength: plaintext.length });
  const ciphertext = Buffer.concat([encipher.update(plaintext), encipher.final()]);
  return Buffer.concat([ciphertext, encipher.getAuthTag()]);
}

/**
 * The per-record nonce of RFC 8446 §5.3 and RFC 7905 §2: the 64-bit sequence number, left-padded
 * with zeros to the IV length, XORed with the IV.
 */
export function sequenceNonce(iv: Buffer, sequence: number): Buffer {
  const nonce = Buffer.from(iv);
  const high = Math.floor(sequence / 2 ** 32);
  const low = sequence >>> 0;
  const at = nonce.length - 8;
  nonce.writeUInt32BE((nonce.readUInt32BE(at) ^ high) >>> 0, at);
  nonce.writeUInt32BE((nonce.readUInt32BE(at + 4) ^ low) >>> 0, at + 4);
  return nonce;
}
