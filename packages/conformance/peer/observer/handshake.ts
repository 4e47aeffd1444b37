/**
 * Handshake messages (RFC 8446 §4, RFC 5246 §7.4): reassembly across records and the two hellos,
 * which carry everything the decryption needs besides the keylog secrets.
 */

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  finished: 20,
  keyUpdate: 24,
} as const;

const HANDSHAKE_NAMES = new Map<number, string>([
  [0, 'HelloRequest'],
  [1, 'ClientHello'],
  [2, 'ServerHello'],
  [3, 'HelloVerifyRequest'],
  [4, 'NewSessionTicket'],
  [5, 'EndOfEarlyData'],
  [8, 'EncryptedExtensions'],
  [11, 'Certificate'],
  [12, 'ServerKeyExchange'],
  [13, 'CertificateRequest'],
  [14, 'ServerHelloDone'],
  [15, 'CertificateVerify'],
  [16, 'ClientKeyExchange'],
  [20, 'Finished'],
  [21, 'CertificateURL'],
  [22, 'CertificateStatus'],
  [24, 'KeyUpdate'],
  [25, 'CompressedCertificate'],
  [254, 'MessageHash'],
]);

export function handshakeTypeName(type: number): string {
  return HANDSHAKE_NAMES.get(type) ?? `unknown(${type})`;
}

export const TLS12 = 0x0303;
export const TLS13 = 0x0304;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (it is SHA-256 of "HelloRetryRequest"). */
const HELLO_RETRY_REQUEST_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

/** RFC 8446 §4.2.1 */
const SUPPORTED_VERSIONS_EXTENSION = 0x002b;

export interface HandshakeMessage {
  readonly type: number;
  readonly body: Buffer;
}

/** Splits a direction's handshake stream into messages; a message may span records, or share one. */
export class HandshakeReassembler {
  #parts: Buffer[] = [];
  #buffered = 0;
  /** Header plus body length of the message being assembled; 0 while its header is incomplete. */
  #messageLength = 0;

  push(fragment: Buffer): HandshakeMessage[] {
    this.#parts.push(fragment);
    this.#buffered += fragment.length;
    const messages: HandshakeMessage[] = [];
    while (this.#buffered >= 4) {
      if (this.#messageLength === 0) this.#messageLength = 4 + this.#joined().readUIntBE(1, 3);
      if (this.#buffered < this.#messageLength) break;
      const bytes = this.#joined();
      messages.push({ type: bytes[0]!, body: bytes.subarray(4, this.#messageLength) });
      const rest = bytes.subarray(this.#messageLength);
      this.#parts = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#messageLength = 0;
    }
    return messages;
  }

  #joined(): Buffer {
    if (this.#parts.length !== 1) this.#parts = [Buffer.concat(this.#parts, this.#buffered)];
    return this.#parts[0]!;
  }
}

/** RFC 8446 §4.1.2: legacy_version (2 bytes), then the 32-byte random. */
export function parseClientRandom(body: Buffer): Buffer | undefined {
  return body.length >= 34 ? Buffer.from(body.subarray(2, 34)) : undefined;
}

export interface ServerHello {
  readonly random: Buffer;
  /** From supported_versions when present (TLS 1.3, RFC 8446 §4.2.1), else legacy_version. */
  readonly version: number;
  readonly cipherSuite: number;
  readonly helloRetryRequest: boolean;
}

/** RFC 8446 §4.1.3 (RFC 5246 §7.4.1.3 for TLS 1.2, where extensions are optional). */
export function parseServerHello(body: Buffer): ServerHello | undefined {
  const reader = new ByteReader(body);
  const legacyVersion = reader.u16();
  const random = reader.bytes(32);
  const sessionIdLength = reader.u8();
  if (sessionIdLength !== undefined) reader.bytes(sessionIdLength);
  const cipherSuite = reader.u16();
  reader.u8(); // legacy_compression_method
  if (legacyVersion === undefined || random === undefined || cipherSuite === undefined || reader.overrun) {
    return undefined;
  }
  let version = legacyVersion;
  const extensionsLength = reader.u16();
  if (extensionsLength !== undefined) {
    const extensions = new ByteReader(reader.bytes(extensionsLength) ?? Buffer.alloc(0));
    for (let type = extensions.u16(); type !== undefined; type = extensions.u16()) {
      const data = extensions.bytes(extensions.u16() ?? 0);
      if (type === SUPPORTED_VERSIONS_EXTENSION && data?.length === 2) version = data.readUInt16BE(0);
    }
  }
  return {
    random: Buffer.from(random),
    version,
    cipherSuite,
    helloRetryRequest: random.equals(HELLO_RETRY_REQUEST_RANDOM),
  };
}

/** Reads big-endian fields; a read past the end returns undefined and sets `overrun`, never throws. */
class ByteReader {
  readonly #bytes: Buffer;
  #offset = 0;
  overrun = false;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  u8(): number | undefined {
    return this.bytes(1)?.[0];
  }

  u16(): number | undefined {
    return this.bytes(2)?.readUInt16BE(0);
  }

  bytes(length: number): Buffer | undefined {
    if (this.#offset + length > this.#bytes.length) {
      this.overrun = true;
      return undefined;
    }
    const bytes = this.#bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return bytes;
  }
}
