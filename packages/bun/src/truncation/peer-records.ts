/**
 * Follows the record framing of the ciphertext the peer sends (upgradeTLS hands it to the raw socket's
 * `data` before BoringSSL decrypts it) and keeps what an end-of-stream verdict needs: whether the stream
 * stopped inside a record, the last whole record, the counts that give its sequence number, the first
 * encrypted record (for the self-check) and, on a client, the server's hello random.
 * Per record it only does arithmetic: the last record is located in the chunks it arrived in (Bun hands
 * every `data` event a fresh buffer) and only read at the end. A short last record (a close_notify, a
 * session ticket, the end of a handshake) is copied, so that an idle connection does not keep the whole
 * chunk it arrived in; a long one stays a view of its chunks, which bulk data would not copy for free.
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
/** A last record up to this length (header included) is copied out of its chunk. */
const COPIED_RECORD = 512;
const TWO_POW_32 = 2 ** 32;

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
  /** The current record's header bytes so far, big-endian in one number (all five fit exactly). */
  #header = 0;
  #headerFilled = 0;
  /** Body bytes still to come of the current record. */
  #bodyLeft = 0;
  /** Where the current record starts in the chunk being pushed; -1: in an earlier chunk. */
  #start = 0;
  /** The earlier chunks the current record spans, and where it starts in the first of them. */
  #earlier: Uint8Array[] | undefined;
  #earlierStart = 0;
  /** A short last record, copied. */
  #lastCopy: Uint8Array | undefined;
  /** A long last record: the chunks it arrived in, from `#lastStart` of the first to `#lastEnd` of `#lastChunk`. */
  #lastEarlier: Uint8Array[] | undefined;
  #lastStart = 0;
  #lastChunk: Uint8Array | undefined;
  #lastEnd = 0;
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
    const length = chunk.length;
    if (length === 0) return;
    let offset = 0;
    this.#start = this.#headerFilled > 0 ? -1 : 0;
    while (offset < length) {
      if (this.#headerFilled < HEADER) {
        if (this.#headerFilled === 0) this.#start = offset;
        while (this.#headerFilled < HEADER && offset < length) {
          this.#header = this.#header * 256 + chunk[offset++]!;
          this.#headerFilled++;
        }
        if (this.#headerFilled < HEADER) break;
        this.#bodyLeft = this.#header % 65536;
      }
      const take = Math.min(this.#bodyLeft, length - offset);
      this.#bodyLeft -= take;
      offset += take;
      if (this.#bodyLeft === 0) this.#recordDone(chunk, offset);
    }
    // The current record goes on in the next chunk: keep what of it arrived in this one.
    if (this.#headerFilled === 0) return;
    if (this.#start < 0) {
      this.#earlier!.push(chunk);
    } else {
      this.#earlier = [chunk];
      this.#earlierStart = this.#start;
    }
  }

  /** The stream stopped inside a record (its header or its body). */
  get midRecord(): boolean {
    return this.#headerFilled > 0;
  }

  /** The last whole record, header included. */
  lastRecord(): Uint8Array | undefined {
    if (this.#lastCopy) return this.#lastCopy;
    const chunk = this.#lastChunk;
    return chunk && PeerRecords.#bytes(this.#lastEarlier, this.#lastStart, chunk, this.#lastEnd);
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
    return HEADER + (this.#header % 65536) - this.#bodyLeft;
  }

  /** The unfinished record's type and body length, once its header is whole. */
  partialHeader(): { type: number; length: number } | undefined {
    if (this.#headerFilled < HEADER) return undefined;
    return { type: Math.floor(this.#header / TWO_POW_32), length: this.#header % 65536 };
  }

  /** A record's bytes, from `start` of the first chunk it spans to `end` of `chunk`: a view when it can be. */
  static #bytes(
    earlier: Uint8Array[] | undefined,
    start: number,
    chunk: Uint8Array,
    end: number,
  ): Uint8Array {
    if (!earlier) return chunk.subarray(start, end);
    return joined([earlier[0]!.subarray(start), ...earlier.slice(1), chunk.subarray(0, end)]);
  }

  #recordDone(chunk: Uint8Array, end: number): void {
    const type = Math.floor(this.#header / TWO_POW_32);
    const length = this.#header % 65536;
    const earlier = this.#earlier;
    const start = earlier ? this.#earlierStart : this.#start;
    this.#header = 0;
    this.#headerFilled = 0;
    this.#earlier = undefined;
    this.#lastType = type;
    this.#lastLength = HEADER + length;
    if (HEADER + length <= COPIED_RECORD) {
      this.#lastCopy = PeerRecords.#bytes(earlier, start, chunk, end).slice();
      this.#lastChunk = undefined;
      this.#lastEarlier = undefined;
    } else {
      this.#lastCopy = undefined;
      this.#lastEarlier = earlier;
      this.#lastStart = start;
      this.#lastChunk = chunk;
      this.#lastEnd = end;
    }
    if (this.#cipherChanged) {
      this.recordsAfterCipherChange++;
      if (this.recordsAfterCipherChange === 1)
        this.firstEncrypted = PeerRecords.#bytes(earlier, start, chunk, end).slice();
    }
    if (type === CHANGE_CIPHER_SPEC) this.#cipherChanged = true;
    if (type === APPLICATION_DATA) {
      this.encryptedRecords++;
      if (this.encryptedRecords === 1 && !this.#cipherChanged)
        this.firstEncrypted = PeerRecords.#bytes(earlier, start, chunk, end).slice();
      if (length <= SHORT_RECORD) {
        this.shortRecords.push(this.encryptedRecords);
        if (this.shortRecords.length > SHORT_RECORDS_KEPT) this.shortRecords.shift();
      }
    }
    if (type === HANDSHAKE) this.sawHello = true;
    // Only before ChangeCipherSpec is a TLS 1.2 handshake record in the clear: the encrypted Finished
    // after it is one too, and its first byte is ciphertext, which is 2 about once in 256 connections.
    if (type === HANDSHAKE && !this.serverRandom && !this.#cipherChanged) {
      const hello = PeerRecords.#bytes(earlier, start, chunk, end);
      // A ServerHello opens its record: handshake type, 3-byte length, version, then the random.
      if (hello[HEADER] === SERVER_HELLO && hello.length >= HEADER + 38) {
        this.serverRandom = hello.slice(HEADER + 6, HEADER + 38);
      }
    }
  }
}
