/**
 * Whether the peer's stream ended with its close_notify, from the ciphertext alone: BoringSSL in Bun
 * reports a close_notify, a bare FIN and a FIN inside a record with the same `end`. The last record is
 * opened with the peer's keys (from the key log) and only an authenticated close_notify counts: a stream
 * cut inside a record, a last record that is data or another alert, or one no candidate key opens is a
 * truncation. A key log that does not even open the peer's first encrypted record means the runtime
 * changed under the check: that throws instead of guessing.
 */
import { SecureSocketError } from '@closenotify/core';
import type { PeerRecords } from './peer-records.ts';
import {
  type AeadSuite,
  nextTrafficSecret,
  type OpenedRecord,
  openTls12Record,
  openTls13Record,
  type RecordKeys,
  tls12Keys,
  tls13Keys,
} from './record-crypto.ts';

const ALERT = 21;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const FINISHED = 20;
/** Key generations tried after the initial one: each KeyUpdate of the peer's starts one. */
const MAX_KEY_UPDATES = 8;

type Label =
  | 'CLIENT_RANDOM'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0';

/** The key log labels a verdict reads, as bytes; the others (the exporter secret) are skipped unread. */
const LABELS_KEPT: readonly (readonly [Label, Uint8Array])[] = (
  [
    'CLIENT_RANDOM',
    'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
    'SERVER_HANDSHAKE_TRAFFIC_SECRET',
    'CLIENT_TRAFFIC_SECRET_0',
    'SERVER_TRAFFIC_SECRET_0',
  ] as const
).map((label) => [label, new TextEncoder().encode(label)] as const);

const SPACE = 0x20;

/** The label a key log line starts with, when it is one a verdict reads. */
function labelOf(line: Uint8Array, end: number): Label | undefined {
  for (const [label, bytes] of LABELS_KEPT) {
    if (bytes.length !== end) continue;
    let i = 0;
    while (i < end && line[i] === bytes[i]) i++;
    if (i === end) return label;
  }
  return undefined;
}

/** One hex digit's value, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/** The bytes the hex digits from `start` to `end` spell, or undefined when they are not hex. */
function hexBytes(line: Uint8Array, start: number, end: number): Uint8Array | undefined {
  const length = end - start;
  if (length <= 0 || length % 2 !== 0) return undefined;
  const out = new Uint8Array(length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexValue(line[start + 2 * i]!);
    const low = hexValue(line[start + 2 * i + 1]!);
    if (high < 0 || low < 0) return undefined;
    out[i] = high * 16 + low;
  }
  return out;
}

const lineEncoder = new TextEncoder();

/**
 * The key log lines of one connection (NSS key log format), read as they arrive and kept as bytes:
 * a few dozen bytes a secret instead of the lines' text, and no hex to decode when the peer closes.
 * Given our side, only the peer's secrets are kept (and CLIENT_RANDOM, which TLS 1.2 needs). A line
 * is parsed in the bytes it came in: the lines skipped (ours, the exporter secret) cost a label
 * comparison, never a string.
 */
export class KeyLog {
  readonly #peerPrefix: number | undefined;
  #clientRandom: Uint8Array | undefined;
  readonly #secrets: Partial<Record<Label, Uint8Array>> = {};
  /** The last TLS 1.3 keys derived, by the label of their secret. */
  #derived: { label: string; keys: RecordKeys } | undefined;

  constructor(side?: 'client' | 'server') {
    // The peer's labels start with SERVER_ (a client's peer) or CLIENT_ (a server's): 'S' or 'C'.
    this.#peerPrefix = side && (side === 'client' ? 0x53 : 0x43);
  }

  /** One line: `<label> <client random> <secret>`, hex, as bytes or as text. */
  add(line: Uint8Array | string): void {
    const bytes = typeof line === 'string' ? lineEncoder.encode(line) : line;
    const labelEnd = bytes.indexOf(SPACE);
    if (labelEnd <= 0) return;
    const label = labelOf(bytes, labelEnd);
    if (label === undefined) return;
    if (this.#peerPrefix !== undefined && label !== 'CLIENT_RANDOM' && bytes[0] !== this.#peerPrefix) return;
    const randomEnd = bytes.indexOf(SPACE, labelEnd + 1);
    if (randomEnd < 0) return;
    let secretEnd = bytes.length;
    while (secretEnd > randomEnd && bytes[secretEnd - 1]! <= SPACE) secretEnd--;
    const secret = hexBytes(bytes, randomEnd + 1, secretEnd);
    const clientRandom = this.#clientRandom ?? hexBytes(bytes, labelEnd + 1, randomEnd);
    if (!secret || !clientRandom) return;
    this.#clientRandom = clientRandom;
    this.#secrets[label] = secret;
  }

  get(label: string): { clientRandom: Uint8Array; secret: Uint8Array } | undefined {
    const secret = this.#secrets[label as Label];
    return secret && { clientRandom: this.#clientRandom!, secret };
  }

  /** The TLS 1.3 record keys of a logged secret, derived once. */
  keysOf(label: string, suite: AeadSuite): RecordKeys | undefined {
    const derived = this.#derived;
    if (derived !== undefined && derived.label === label && derived.keys.suite === suite) return derived.keys;
    const secret = this.#secrets[label as Label];
    if (!secret) return undefined;
    const keys = tls13Keys(suite, secret);
    this.#derived = { label, keys };
    return keys;
  }
}

export interface VerdictInput {
  records: PeerRecords;
  keyLog: KeyLog;
  /** Which side we are: the peer is the other one. */
  side: 'client' | 'server';
  protocol: 'TLSv1.2' | 'TLSv1.3';
  /** undefined: a suite whose records this module cannot open. */
  suite: AeadSuite | undefined;
  /** encryptedRecords when the handshake finished: TLS 1.3 handshake records are among those. */
  encryptedAtHandshake: number;
  /**
   * TLS 1.2: the server's hello random. A client reads it in the records it receives, a server in the
   * records it sends, where it can see them; undefined where it cannot.
   */
  serverRandom: Uint8Array | undefined;
}

function isCloseNotify(record: OpenedRecord): boolean {
  return (
    record.type === ALERT && record.content.length === 2 && record.content[0] === 1 && record.content[1] === 0
  );
}

function checkFailed(reason: string): SecureSocketError {
  return new SecureSocketError(
    'ERR_TRUNCATION_CHECK_FAILED',
    `Cannot tell a close_notify from a truncation: ${reason}. The Bun runtime changed under closenotify's check`,
    { phase: 'read' },
  );
}

/**
 * true: the stream ended with the peer's close_notify; false: it was truncated; null: the last record is
 * a TLS 1.2 alert this module cannot open (a CBC suite, or no server hello random to derive the keys).
 * Throws ERR_TRUNCATION_CHECK_FAILED when the key log does not open the peer's first encrypted record.
 */
export function closeNotifyVerdict(input: VerdictInput): boolean | null {
  const { records } = input;
  if (records.midRecord) return false;
  const last = records.lastRecord();
  if (!last) return false;
  return input.protocol === 'TLSv1.3' ? tls13Verdict(input, last) : tls12Verdict(input, last);
}

/**
 * Derives, ahead of the peer's close, the keys a TLS 1.3 verdict tries first: at the end of the
 * handshake rather than on the path from the peer's close_notify to read() → null.
 */
export function prepareVerdict(
  keyLog: KeyLog,
  side: 'client' | 'server',
  suite: AeadSuite | undefined,
): void {
  if (suite) keyLog.keysOf(peerLabel(side, 'TRAFFIC_SECRET_0'), suite);
}

function peerLabel(
  side: 'client' | 'server',
  secret: 'HANDSHAKE_TRAFFIC_SECRET' | 'TRAFFIC_SECRET_0',
): string {
  return `${side === 'client' ? 'SERVER' : 'CLIENT'}_${secret}`;
}

function tls13Verdict(input: VerdictInput, last: Uint8Array): boolean {
  const { records, keyLog, suite } = input;
  if (records.lastType !== APPLICATION_DATA) return false;
  const trafficSecret = keyLog.get(peerLabel(input.side, 'TRAFFIC_SECRET_0'))?.secret;
  const handshakeSecret = keyLog.get(peerLabel(input.side, 'HANDSHAKE_TRAFFIC_SECRET'))?.secret;
  if (!trafficSecret || !handshakeSecret) throw checkFailed('the key log gave no TLS 1.3 traffic secret');
  if (!suite) throw checkFailed('the TLS 1.3 suite is not one BoringSSL offers');
  const lastOrdinal = records.encryptedRecords;
  // Generation 0: the last record's sequence number is its ordinal less the handshake records, all of
  // which arrived before the handshake finished.
  let keys = keyLog.keysOf(peerLabel(input.side, 'TRAFFIC_SECRET_0'), suite)!;
  for (let handshakeRecords = input.encryptedAtHandshake; handshakeRecords >= 0; handshakeRecords--) {
    const sequence = lastOrdinal - 1 - handshakeRecords;
    if (sequence < 0) continue;
    const opened = openTls13Record(keys, BigInt(sequence), last);
    if (opened) return isCloseNotify(opened);
  }
  // Later generations start after a KeyUpdate, which travels in a short record.
  let secret = trafficSecret;
  for (let generation = 1; generation <= MAX_KEY_UPDATES; generation++) {
    secret = nextTrafficSecret(suite, secret);
    keys = tls13Keys(suite, secret);
    for (const keyUpdateOrdinal of records.shortRecords) {
      if (keyUpdateOrdinal >= lastOrdinal) continue;
      const opened = openTls13Record(keys, BigInt(lastOrdinal - keyUpdateOrdinal - 1), last);
      if (opened) return isCloseNotify(opened);
    }
  }
  selfCheck13(input, handshakeSecret, suite);
  return false;
}

/** The peer's first encrypted record is a handshake record under its handshake secret, sequence 0. */
function selfCheck13(input: VerdictInput, handshakeSecret: Uint8Array, suite: AeadSuite): void {
  const first = input.records.firstEncrypted;
  const opened = first && openTls13Record(tls13Keys(suite, handshakeSecret), 0n, first);
  if (opened?.type !== HANDSHAKE) throw checkFailed('the key log does not open the peer’s handshake records');
}

function tls12Verdict(input: VerdictInput, last: Uint8Array): boolean | null {
  const { records, keyLog, suite } = input;
  // TLS 1.2 shows the content type: a close_notify is an alert record, never data.
  if (records.lastType !== ALERT || records.recordsAfterCipherChange === 0) return false;
  // A CBC suite (BoringSSL still offers a few to TLS 1.2 peers) is not opened here.
  if (!suite) return null;
  // Without the server's hello random no key opens the record, whatever the key log holds.
  const serverRandom = input.serverRandom;
  if (!serverRandom) return null;
  const logged = keyLog.get('CLIENT_RANDOM');
  if (!logged) throw checkFailed('the key log gave no TLS 1.2 master secret');
  const peerSide = input.side === 'client' ? 'server' : 'client';
  const keys = tls12Keys(suite, logged.secret, logged.clientRandom, serverRandom, peerSide);
  const opened = openTls12Record(keys, BigInt(records.recordsAfterCipherChange - 1), last);
  if (opened) return isCloseNotify(opened);
  const first = records.firstEncrypted;
  const finished = first && openTls12Record(keys, 0n, first);
  if (finished?.content[0] !== FINISHED) throw checkFailed('the key log does not open the peer’s Finished');
  return false;
}
