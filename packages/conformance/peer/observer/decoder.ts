/**
 * Turns the two byte streams of one relayed connection into wire events. Records are framed as
 * they arrive and opened as soon as the keylog has their secret. A record whose secret is not there
 * yet waits, with every later record of its direction, until a later call finds the secret; until
 * then it is reported as undecryptable.
 */
import type { OpenResult, RecordProtection } from './aead.ts';
import { alertDescription, alertLevel } from './alerts.ts';
import {
  HandshakeReassembler,
  HandshakeType,
  handshakeTypeName,
  parseClientRandom,
  parseServerHello,
  type ServerHello,
  TLS12,
  TLS13,
} from './handshake.ts';
import type { Direction, WireEvent } from './index.ts';
import type { KeylogStore, SecretLabel } from './keylog.ts';
import { ContentType, RecordFramer, type TlsRecord } from './records.ts';
import { Tls12RecordProtection, tls12Suite } from './tls12.ts';
import { Tls13RecordProtection, tls13Suite } from './tls13.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type EventBody = DistributiveOmit<WireEvent, 'dir' | 'at'>;

/**
 * Ciphertext a direction may hold back while its secret is missing. Past it the direction gives up
 * on decryption, so a peer without keylog lines cannot make the observer keep a whole stream.
 */
const MAX_WAITING_BYTES = 16 * 1024 * 1024;

type GarbageContent = { state: 'garbage'; bytes: number };

/** One slot of the arrival-ordered log: a record (decoded or still waiting), a marker, or garbage. */
interface Entry {
  readonly dir: Direction;
  readonly at: number;
  content:
    | { state: 'decoded'; events: EventBody[] }
    | { state: 'waiting'; record: TlsRecord }
    | GarbageContent;
}

interface DirectionState {
  readonly framer: RecordFramer;
  readonly handshake: HandshakeReassembler;
  /** Keys for this direction's protected records; undefined when none can be known. */
  protection: RecordProtection | undefined;
  /** TLS 1.2: this side sent ChangeCipherSpec, so all its later records are protected (RFC 5246 §7.1). */
  changedCipherSpec: boolean;
  /** Records not decoded yet, oldest first; `waiting[waitingHead]` is the one that lacks a secret. */
  waiting: { entry: Entry; record: TlsRecord }[];
  waitingHead: number;
  waitingBytes: number;
  gaveUp: boolean;
  /** All bytes from the first unparsable header on are counted in this one entry. */
  garbage: GarbageContent | undefined;
}

interface Session {
  /** TLS 1.2 and older protect records from ChangeCipherSpec on; only TLS 1.2 AEAD suites are opened. */
  readonly protocol: 'tls12' | 'tls13';
  readonly hello: ServerHello;
}

export class ConnectionDecoder {
  readonly #keylog: KeylogStore;
  readonly #entries: Entry[] = [];
  readonly #directions: Record<Direction, DirectionState>;
  #clientRandom: Buffer | undefined;
  #session: Session | undefined;

  constructor(keylog: KeylogStore, options: { plaintextFirst?: boolean } = {}) {
    this.#keylog = keylog;
    this.#directions = {
      c2s: newDirection(options.plaintextFirst),
      s2c: newDirection(options.plaintextFirst),
    };
  }

  /** Bytes that went over the wire in `dir`, in order. */
  receive(dir: Direction, chunk: Buffer, at: number): void {
    const direction = this.#directions[dir];
    for (const unit of direction.framer.push(chunk)) {
      if (unit.kind === 'plaintext') {
        this.#entries.push({ dir, at, content: { state: 'decoded', events: [unit] } });
        continue;
      }
      if (unit.kind === 'garbage') {
        if (direction.garbage) {
          direction.garbage.bytes += unit.bytes;
        } else {
          direction.garbage = { state: 'garbage', bytes: unit.bytes };
          this.#entries.push({ dir, at, content: direction.garbage });
        }
        continue;
      }
      const entry: Entry = { dir, at, content: { state: 'waiting', record: unit.record } };
      this.#entries.push(entry);
      direction.waiting.push({ entry, record: unit.record });
      direction.waitingBytes += unit.record.fragment.length;
    }
    this.#decodeWaiting(dir);
  }

  /** The stream in `dir` stopped: a TCP FIN, a TCP RST, or the relay socket closed without either. */
  end(dir: Direction, how: 'fin' | 'rst' | 'close', at: number): void {
    const incomplete = this.#directions[dir].framer.takeIncomplete();
    if (incomplete) {
      this.#entries.push({
        dir,
        at,
        content: { state: 'decoded', events: [{ kind: 'partial-record', ...incomplete }] },
      });
    }
    if (how !== 'close') {
      this.#entries.push({ dir, at, content: { state: 'decoded', events: [{ kind: how }] } });
    }
  }

  /**
   * The keys `dir` protects its next record with, positioned after every record fed so far (sealing with
   * them continues that direction's stream); undefined while a record still waits for its secret, or when
   * the keys cannot be known.
   */
  protectionAfter(dir: Direction): RecordProtection | undefined {
    this.#decodeWaiting(dir);
    const direction = this.#directions[dir];
    return direction.waiting.length > 0 ? undefined : direction.protection;
  }

  events(): WireEvent[] {
    this.#decodeWaiting('c2s');
    this.#decodeWaiting('s2c');
    const events: WireEvent[] = [];
    for (const { dir, at, content } of this.#entries) {
      if (content.state === 'decoded') {
        for (const body of content.events) events.push({ dir, at, ...body });
      } else if (content.state === 'waiting') {
        events.push({ dir, at, ...undecryptable(content.record) });
      } else {
        events.push({ dir, at, kind: 'garbage', bytes: content.bytes });
      }
    }
    return events;
  }

  #decodeWaiting(dir: Direction): void {
    const direction = this.#directions[dir];
    while (direction.waitingHead < direction.waiting.length) {
      const { entry, record } = direction.waiting[direction.waitingHead]!;
      const events = this.#decodeRecord(dir, record);
      if (events === undefined) {
        if (direction.waitingBytes <= MAX_WAITING_BYTES) return;
        direction.gaveUp = true;
        direction.protection = undefined;
        continue;
      }
      entry.content = { state: 'decoded', events };
      direction.waitingHead++;
      direction.waitingBytes -= record.fragment.length;
    }
    direction.waiting = [];
    direction.waitingHead = 0;
  }

  /** The events of one record, or undefined when its secret is not in the keylog yet. */
  #decodeRecord(dir: Direction, record: TlsRecord): EventBody[] | undefined {
    const direction = this.#directions[dir];
    if (!this.#isProtected(direction, record)) {
      return this.#decodeContent(dir, record.type, record.fragment, false);
    }
    const opened: OpenResult = direction.protection?.open(record) ?? { status: 'failed' };
    switch (opened.status) {
      case 'no-key':
        return undefined;
      case 'failed':
        return [undecryptable(record)];
      case 'opened':
        return this.#decodeContent(dir, opened.contentType, opened.content, true);
    }
  }

  #isProtected(direction: DirectionState, record: TlsRecord): boolean {
    // Before the ServerHello, and throughout TLS 1.3 (RFC 8446 §5.2), the protected records are
    // exactly those with the outer type application_data.
    if (this.#session?.protocol === 'tls12') return direction.changedCipherSpec;
    return record.type === ContentType.applicationData;
  }

  #decodeContent(dir: Direction, type: number, content: Buffer, protectedRecord: boolean): EventBody[] {
    switch (type) {
      case ContentType.alert:
        return decodeAlerts(content);
      case ContentType.handshake:
        return this.#decodeHandshake(dir, content, protectedRecord);
      case ContentType.applicationData:
        return [{ kind: 'data', bytes: content.length }];
      case ContentType.changeCipherSpec:
        // TLS 1.3 ignores the middlebox-compatibility ChangeCipherSpec (RFC 8446 §5, Appendix D.4).
        if (this.#session?.protocol === 'tls12') {
          this.#directions[dir].changedCipherSpec = true;
          this.#protect(dir, this.#tls12Protection(dir));
        }
        return [{ kind: 'ccs' }];
      default:
        return [{ kind: 'undecryptable', contentType: type, length: content.length }];
    }
  }

  #decodeHandshake(dir: Direction, content: Buffer, protectedRecord: boolean): EventBody[] {
    const direction = this.#directions[dir];
    const events: EventBody[] = [];
    let nextProtection: RecordProtection | undefined;
    for (const message of direction.handshake.push(content)) {
      let type = handshakeTypeName(message.type);
      if (message.type === HandshakeType.clientHello && dir === 'c2s') {
        // A second ClientHello (after a HelloRetryRequest) repeats the random (RFC 8446 §4.1.2).
        this.#clientRandom = parseClientRandom(message.body) ?? this.#clientRandom;
      } else if (message.type === HandshakeType.serverHello && dir === 's2c') {
        const hello = parseServerHello(message.body);
        if (hello?.helloRetryRequest) {
          // Not a ServerHello: the client answers with a new ClientHello, still in plaintext.
          type = 'HelloRetryRequest';
        } else if (hello) {
          this.#startSession(hello);
        }
      } else if (protectedRecord && this.#session?.protocol === 'tls13') {
        if (message.type === HandshakeType.finished) {
          // RFC 8446 §7.1: after its Finished a side sends with application traffic secret 0.
          nextProtection = this.#tls13Protection(
            dir === 'c2s' ? 'CLIENT_TRAFFIC_SECRET_0' : 'SERVER_TRAFFIC_SECRET_0',
          );
        } else if (
          message.type === HandshakeType.keyUpdate &&
          direction.protection instanceof Tls13RecordProtection
        ) {
          // RFC 8446 §4.6.3: the sender switches to the next secret after its KeyUpdate.
          nextProtection = direction.protection.next();
        }
      }
      events.push({ kind: 'handshake', type });
    }
    // Key changes fall on a record boundary (RFC 8446 §5.1), so the new keys start with the next record.
    if (nextProtection) this.#protect(dir, nextProtection);
    return events;
  }

  #startSession(hello: ServerHello): void {
    const protocol = hello.version === TLS13 ? 'tls13' : 'tls12';
    this.#session = { protocol, hello };
    if (protocol === 'tls13') {
      // RFC 8446 §7.1: both sides protect everything after the ServerHello with handshake traffic keys.
      this.#protect('s2c', this.#tls13Protection('SERVER_HANDSHAKE_TRAFFIC_SECRET'));
      this.#protect('c2s', this.#tls13Protection('CLIENT_HANDSHAKE_TRAFFIC_SECRET'));
    }
  }

  #tls13Protection(label: SecretLabel): RecordProtection | undefined {
    const suite = this.#session && tls13Suite(this.#session.hello.cipherSuite);
    if (!suite || !this.#clientRandom) return undefined;
    return Tls13RecordProtection.fromKeylog(suite, this.#keylog, label, this.#clientRandom);
  }

  #tls12Protection(dir: Direction): RecordProtection | undefined {
    const hello = this.#session?.hello;
    const suite = hello?.version === TLS12 ? tls12Suite(hello.cipherSuite) : undefined;
    if (!hello || !suite || !this.#clientRandom) return undefined;
    const randoms = { client: this.#clientRandom, server: hello.random };
    return new Tls12RecordProtection(suite, this.#keylog, randoms, dir === 'c2s' ? 'client' : 'server');
  }

  #protect(dir: Direction, protection: RecordProtection | undefined): void {
    const direction = this.#directions[dir];
    if (!direction.gaveUp) direction.protection = protection;
  }
}

function newDirection(plaintextFirst = false): DirectionState {
  return {
    framer: new RecordFramer({ plaintextFirst }),
    handshake: new HandshakeReassembler(),
    protection: undefined,
    changedCipherSpec: false,
    waiting: [],
    waitingHead: 0,
    waitingBytes: 0,
    gaveUp: false,
    garbage: undefined,
  };
}

/** Alert records carry (level, description) pairs (RFC 8446 §6); anything else does not parse. */
function decodeAlerts(content: Buffer): EventBody[] {
  if (content.length === 0 || content.length % 2 !== 0) {
    return [{ kind: 'undecryptable', contentType: ContentType.alert, length: content.length }];
  }
  const events: EventBody[] = [];
  for (let offset = 0; offset < content.length; offset += 2) {
    const code = content[offset + 1]!;
    events.push({
      kind: 'alert',
      level: alertLevel(content[offset]!),
      description: alertDescription(code),
      code,
    });
  }
  return events;
}

function undecryptable(record: TlsRecord): EventBody {
  return { kind: 'undecryptable', contentType: record.type, length: record.fragment.length };
}
