/**
 * Follows the record framing of the ciphertext the peer sends (upgradeTLS hands it to the raw socket's
 * `data` before BoringSSL decrypts it) and keeps what an end-of-stream verdict needs: whether the stream
 * stopped inside a record, the last whole record, the counts that give its sequence number, the first
 * encrypted record (for the self-check) and, on a client, the server's hello random.
 * Chunks are referenced, not copied: Bun hands every `data` event a fresh buffer.
 */

const HEADER = 5;
const CHANGE_CIPHER_SPEC = 20;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const SERVER_HELLO = 2;
/** A record this short can be a KeyUpdate (TLS 1.3): where a new key generation may start. */
const SHORT_RECORD = 64;
/** How many short records are remembered as KeyUpdate candidates. */
const SHORT_RECORDS_KEPT = 32;

function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class PeerRecords {
  readonly #header = new Uint8Array(HEADER);
  #headerFilled = 0;
  /** Body bytes still to come of the current record; its parts so far, header first. */
  #bodyLeft = 0;
  #parts: Uint8Array[] = [];
  #last: Uint8Array[] | undefined;
  #lastType = 0;
  #lastLength = 0;
  /** Type-23 records so far (TLS 1.3: handshake and application records alike). */
  encryptedRecords = 0;
  /** Records after the peer's ChangeCipherSpec (TLS 1.2: the last one's sequence number + 1). */
  recordsAfterCipherChange = 0;
  #cipherChanged = false;
  /** The ordinal (in encryptedRecords) of each recent short type-23 record. */
  readonly shortRecords: number[] = [];
  /** The first encrypted record: TLS 1.3 the first type 23, TLS 1.2 the first after ChangeCipherSpec. */
  firstEncrypted: Uint8Array | undefined;
  serverRandom: Uint8Array | undefined;
  /** A whole handshake record arrived (the peer's hello): the raw half does see the ciphertext. */
  sawHello = false;

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#headerFilled < HEADER) {
        const take = Math.min(HEADER - this.#headerFilled, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
        this.#headerFilled += take;
        offset += take;
        if (this.#headerFilled < HEADER) return;
        this.#parts = [this.#header.slice()];
        this.#bodyLeft = (this.#header[3]! << 8) | this.#header[4]!;
      }
      const take = Math.min(this.#bodyLeft, chunk.length - offset);
      if (take > 0) this.#parts.push(chunk.subarray(offset, offset + take));
      this.#bodyLeft -= take;
      offset += take;
      if (this.#bodyLeft === 0) this.#recordDone();
    }
  }

  /** The stream stopped inside a record (its header or its body). */
  get midRecord(): boolean {
    return this.#headerFilled > 0;
  }

  /** The last whole record, header included. */
  lastRecord(): Uint8Array | undefined {
    return this.#last && joined(this.#last);
  }

  get lastType(): number {
    return this.#lastType;
  }

  /** The last whole record's length, header included. */
  get lastLength(): number {
    return this.#lastLength;
  }

  /** How many bytes of the unfinished record at the end of the stream arrived so far (0: none). */
  get partialBytes(): number {
    if (this.#headerFilled < HEADER) return this.#headerFilled;
    return HEADER + ((this.#header[3]! << 8) | this.#header[4]!) - this.#bodyLeft;
  }

  /** The unfinished record's type and body length, once its header is whole. */
  partialHeader(): { type: number; length: number } | undefined {
    if (this.#headerFilled < HEADER) return undefined;
    return { type: this.#header[0]!, length: (this.#header[3]! << 8) | this.#header[4]! };
  }

  #recordDone(): void {
    const type = this.#header[0]!;
    const length = (this.#header[3]! << 8) | this.#header[4]!;
    this.#headerFilled = 0;
    this.#last = this.#parts;
    this.#lastType = type;
    this.#lastLength = HEADER + length;
    if (this.#cipherChanged) {
      this.recordsAfterCipherChange++;
      if (this.recordsAfterCipherChange === 1) this.firstEncrypted = joined(this.#parts).slice();
    }
    if (type === CHANGE_CIPHER_SPEC) this.#cipherChanged = true;
    if (type === APPLICATION_DATA) {
      this.encryptedRecords++;
      if (this.encryptedRecords === 1 && !this.#cipherChanged)
        this.firstEncrypted = joined(this.#parts).slice();
      if (length <= SHORT_RECORD) {
        this.shortRecords.push(this.encryptedRecords);
        if (this.shortRecords.length > SHORT_RECORDS_KEPT) this.shortRecords.shift();
      }
    }
    if (type === HANDSHAKE) this.sawHello = true;
    // Only before ChangeCipherSpec is a TLS 1.2 handshake record in the clear: the encrypted Finished
    // after it is one too, and its first byte is ciphertext, which is 2 about once in 256 connections.
    if (type === HANDSHAKE && !this.serverRandom && !this.#cipherChanged) {
      const record = joined(this.#parts);
      // A ServerHello opens its record: handshake type, 3-byte length, version, then the random.
      if (record[HEADER] === SERVER_HELLO && record.length >= HEADER + 38) {
        this.serverRandom = record.slice(HEADER + 6, HEADER + 38);
      }
    }
  }
}
