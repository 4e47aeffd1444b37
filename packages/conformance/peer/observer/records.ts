/**
 * TLS record framing (RFC 8446 §5.1, RFC 5246 §6.2) over a byte stream that arrives in chunks of
 * any size. Only the bytes of the one incomplete record are kept between chunks.
 */

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

export const RECORD_HEADER_LENGTH = 5;

/** RFC 8446 §5.2: a protected record carries at most 2^14 + 256 bytes. */
const MAX_FRAGMENT_LENGTH = 2 ** 14 + 256;

export interface TlsRecord {
  readonly type: number;
  readonly version: number;
  /** The 5 header bytes: the additional data of a TLS 1.3 record. */
  readonly header: Buffer;
  readonly fragment: Buffer;
}

export type FramedUnit =
  | { kind: 'record'; record: TlsRecord }
  | { kind: 'garbage'; bytes: number }
  | { kind: 'plaintext'; bytes: number };

export class RecordFramer {
  #parts: Buffer[] = [];
  #buffered = 0;
  /** Size of the record being assembled; 0 while its header is incomplete. */
  #recordLength = 0;
  /** Once a header does not parse there is no reliable way to resync, so the rest is garbage. */
  #garbage = false;
  /** STARTTLS: the stream is plaintext until the first byte that can start a TLS handshake record. */
  #plaintext: boolean;

  constructor(options: { plaintextFirst?: boolean } = {}) {
    this.#plaintext = options.plaintextFirst ?? false;
  }

  push(chunk: Buffer): FramedUnit[] {
    const units: FramedUnit[] = [];
    if (this.#plaintext) {
      const start = handshakeRecordStart(chunk);
      if (start > 0 || start < 0) units.push({ kind: 'plaintext', bytes: start < 0 ? chunk.length : start });
      if (start < 0) return units;
      this.#plaintext = false;
      chunk = chunk.subarray(start);
    }
    if (this.#garbage) {
      units.push({ kind: 'garbage', bytes: chunk.length });
      return units;
    }
    let offset = this.#buffered > 0 ? this.#completeBuffered(chunk, units) : 0;
    while (!this.#garbage && offset < chunk.length) {
      const available = chunk.length - offset;
      if (available < RECORD_HEADER_LENGTH) {
        this.#keep(chunk.subarray(offset));
        break;
      }
      const fragmentLength = parseHeader(chunk, offset);
      if (fragmentLength < 0) {
        this.#becomeGarbage(available, units);
        break;
      }
      const recordLength = RECORD_HEADER_LENGTH + fragmentLength;
      if (available < recordLength) {
        this.#keep(chunk.subarray(offset));
        this.#recordLength = recordLength;
        break;
      }
      units.push({ kind: 'record', record: toRecord(chunk.subarray(offset, offset + recordLength)) });
      offset += recordLength;
    }
    return units;
  }

  /** The record cut short when the stream stops (FIN, RST or close), if any; forgets it. */
  takeIncomplete(): { have: number; need: number } | undefined {
    if (this.#buffered === 0) return undefined;
    const incomplete = { have: this.#buffered, need: this.#recordLength || RECORD_HEADER_LENGTH };
    this.#parts = [];
    this.#buffered = 0;
    this.#recordLength = 0;
    return incomplete;
  }

  /** Feeds the start of `chunk` into the buffered partial record; returns how many bytes it used. */
  #completeBuffered(chunk: Buffer, units: FramedUnit[]): number {
    let offset = 0;
    if (this.#recordLength === 0) {
      offset = Math.min(RECORD_HEADER_LENGTH - this.#buffered, chunk.length);
      this.#keep(chunk.subarray(0, offset));
      if (this.#buffered < RECORD_HEADER_LENGTH) return offset;
      const header = Buffer.concat(this.#parts);
      const fragmentLength = parseHeader(header, 0);
      if (fragmentLength < 0) {
        this.#becomeGarbage(this.#buffered + chunk.length - offset, units);
        return chunk.length;
      }
      this.#parts = [header];
      this.#recordLength = RECORD_HEADER_LENGTH + fragmentLength;
    }
    const take = Math.min(this.#recordLength - this.#buffered, chunk.length - offset);
    this.#keep(chunk.subarray(offset, offset + take));
    offset += take;
    if (this.#buffered === this.#recordLength) {
      units.push({ kind: 'record', record: toRecord(Buffer.concat(this.#parts, this.#buffered)) });
      this.#parts = [];
      this.#buffered = 0;
      this.#recordLength = 0;
    }
    return offset;
  }

  #keep(bytes: Buffer): void {
    // A copy, so a kept tail does not pin the whole chunk it came from.
    this.#parts.push(Buffer.from(bytes));
    this.#buffered += bytes.length;
  }

  #becomeGarbage(bytes: number, units: FramedUnit[]): void {
    this.#garbage = true;
    this.#parts = [];
    this.#buffered = 0;
    this.#recordLength = 0;
    units.push({ kind: 'garbage', bytes });
  }
}

/**
 * Where a TLS handshake record (type 22, version 3.x) can start in `chunk`, or -1. The suite's plaintext
 * is text, which never holds byte 22.
 */
function handshakeRecordStart(chunk: Buffer): number {
  for (
    let index = chunk.indexOf(ContentType.handshake);
    index >= 0;
    index = chunk.indexOf(ContentType.handshake, index + 1)
  ) {
    if (index + 1 >= chunk.length || chunk[index + 1] === 3) return index;
  }
  return -1;
}

/** The fragment length announced by a plausible record header at `offset`, or -1 if it is not one. */
function parseHeader(bytes: Buffer, offset: number): number {
  const type = bytes[offset]!;
  const version = bytes.readUInt16BE(offset + 1);
  const length = bytes.readUInt16BE(offset + 3);
  const knownType = type >= ContentType.changeCipherSpec && type <= ContentType.applicationData;
  const knownVersion = version >= 0x0301 && version <= 0x0304;
  return knownType && knownVersion && length <= MAX_FRAGMENT_LENGTH ? length : -1;
}

function toRecord(bytes: Buffer): TlsRecord {
  return {
    type: bytes[0]!,
    version: bytes.readUInt16BE(1),
    header: bytes.subarray(0, RECORD_HEADER_LENGTH),
    fragment: bytes.subarray(RECORD_HEADER_LENGTH),
  };
}
