/**
 * ChaCha20-Poly1305 (RFC 8439), decryption only. BoringSSL in Bun negotiates the TLS suites built on it,
 * but Bun's node:crypto does not offer the cipher, and the transport opens at most a handful of short
 * records per connection, so plain JavaScript is fast enough.
 */

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  s[a] = (s[a]! + s[b]!) | 0;
  s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) | 0;
  s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) | 0;
  s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) | 0;
  s[b] = rotl(s[b]! ^ s[c]!, 7);
}

/** One 64-byte keystream block (RFC 8439 §2.3). */
export function chacha20Block(key: Uint8Array, counter: number, nonce: Uint8Array): Uint8Array {
  const keyWords = new DataView(key.buffer, key.byteOffset, 32);
  const nonceWords = new DataView(nonce.buffer, nonce.byteOffset, 12);
  const initial = new Uint32Array(16);
  initial.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) initial[4 + i] = keyWords.getUint32(i * 4, true);
  initial[12] = counter;
  for (let i = 0; i < 3; i++) initial[13 + i] = nonceWords.getUint32(i * 4, true);
  const state = initial.slice();
  for (let round = 0; round < 10; round++) {
    quarterRound(state, 0, 4, 8, 12);
    quarterRound(state, 1, 5, 9, 13);
    quarterRound(state, 2, 6, 10, 14);
    quarterRound(state, 3, 7, 11, 15);
    quarterRound(state, 0, 5, 10, 15);
    quarterRound(state, 1, 6, 11, 12);
    quarterRound(state, 2, 7, 8, 13);
    quarterRound(state, 3, 4, 9, 14);
  }
  const out = new Uint8Array(64);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 16; i++) view.setUint32(i * 4, (state[i]! + initial[i]!) | 0, true);
  return out;
}

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

const P1305 = (1n << 130n) - 5n;

/** The Poly1305 tag of `message` under a one-time key (RFC 8439 §2.5). */
export function poly1305(oneTimeKey: Uint8Array, message: Uint8Array): Uint8Array {
  const r = littleEndian(oneTimeKey.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = littleEndian(oneTimeKey.subarray(16, 32));
  let accumulator = 0n;
  for (let offset = 0; offset < message.length; offset += 16) {
    const block = message.subarray(offset, offset + 16);
    accumulator = ((accumulator + littleEndian(block) + (1n << BigInt(8 * block.length))) * r) % P1305;
  }
  let tag = (accumulator + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 0xffn);
    tag >>= 8n;
  }
  return out;
}

function padded16(length: number): number {
  return (length + 15) & ~15;
}

/** RFC 8439 §2.8 AEAD decryption: the plaintext, or null when the tag does not verify. */
export function chacha20Poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  if (sealed.length < 16) return null;
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  const macData = new Uint8Array(padded16(aad.length) + padded16(ciphertext.length) + 16);
  macData.set(aad, 0);
  macData.set(ciphertext, padded16(aad.length));
  const lengths = new DataView(macData.buffer, macData.length - 16);
  lengths.setBigUint64(0, BigInt(aad.length), true);
  lengths.setBigUint64(8, BigInt(ciphertext.length), true);
  const expected = poly1305(chacha20Block(key, 0, nonce).subarray(0, 32), macData);
  let difference = 0;
  for (let i = 0; i < 16; i++) difference |= expected[i]! ^ tag[i]!;
  if (difference !== 0) return null;
  const plaintext = new Uint8Array(ciphertext.length);
  for (let offset = 0, counter = 1; offset < ciphertext.length; offset += 64, counter++) {
    const stream = chacha20Block(key, counter, nonce);
    const end = Math.min(64, ciphertext.length - offset);
    for (let i = 0; i < end; i++) plaintext[offset + i] = ciphertext[offset + i]! ^ stream[i]!;
  }
  return plaintext;
}
