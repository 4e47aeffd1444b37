// A pass-through between a TLS socket and its TCP socket, installed only for scripts that work below the
// TLS layer. It can put just the beginning of one record's ciphertext on the wire and then a bare FIN,
// which no TLS stack does by itself (a peer dying mid-write does); it can hold the TCP FIN back after the
// TLS layer's close_notify; and it can put records on the wire that Node's TLS cannot be asked to send
// (any alert, a KeyUpdate), sealed with the peer's own keylog secrets: it follows the peer's own records
// with the wire observer's decoder, so it knows the keys and the sequence number they continue from.

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import type { Direction } from '../src/peer-client.ts';
import { Condition } from './condition.ts';
import type { RecordProtection } from './observer/aead.ts';
import { ConnectionDecoder } from './observer/decoder.ts';
import { HandshakeType } from './observer/handshake.ts';
import { KeylogStore } from './observer/keylog.ts';
import { ContentType } from './observer/records.ts';
import { Tls13RecordProtection } from './observer/tls13.ts';

export interface Cut {
  /** Bytes of the cut record (header included) that reached the wire. */
  kept: number;
  /** Size of the cut record, header included. */
  total: number;
}

const RECORD_HEADER_BYTES = 5;
/** RFC 8446 §4.6.3: KeyUpdateRequest update_not_requested, so the other side need not answer. */
const UPDATE_NOT_REQUESTED = 0;

/** A record the peer crafts itself. */
export type CraftedRecord =
  | { kind: 'alert'; level: number; description: number }
  /** TLS 1.3 only; records crafted after it use the next traffic secret. */
  | { kind: 'keyUpdate' };

export interface CutterOptions {
  /** The direction the peer sends in; given when the script crafts records, which need its keys. */
  craftingAs?: Direction;
}

export class RecordCutter extends Duplex {
  readonly #raw: Socket;
  readonly #writesSettled = new Condition();
  readonly #keylog = new KeylogStore();
  /** Follows both directions, to know the peer's own keys and sequence numbers. */
  readonly #wire: { decoder: ConnectionDecoder; own: Direction; other: Direction } | undefined;
  #pendingWrites = 0;
  #armed: { keep: number; resolve: (cut: Cut) => void; reject: (error: Error) => void } | undefined;
  /** After a cut, or once the TCP stream is the script's: the TLS layer's output goes nowhere. */
  #severed = false;
  /** The TLS layer's end does not end the TCP stream; the script's `fin` does. */
  #holdingFin = false;
  /** The keys the next crafted record is sealed with, once one was crafted. */
  #crafting: RecordProtection | undefined;

  constructor(raw: Socket, options: CutterOptions = {}) {
    super({ allowHalfOpen: true });
    this.#raw = raw;
    const own = options.craftingAs;
    if (own) {
      this.#wire = {
        decoder: new ConnectionDecoder(this.#keylog),
        own,
        other: own === 'c2s' ? 's2c' : 'c2s',
      };
    }
    raw.on('data', (chunk: Buffer) => {
      // Once the TLS socket is gone, a TCP stream the script still owns reads on to the other side's end.
      if (this.destroyed) return;
      if (this.#wire) this.#wire.decoder.receive(this.#wire.other, chunk, 0);
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    // The TCP socket's errors are recorded where it is owned; here its end only tears the TLS side down.
    raw.on('close', () => this.destroy());
  }

  override _read(): void {
    this.#raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#forward(chunk, callback);
  }

  // The TLS layer corks the buffers of one of its writes together; they arrive here as one batch.
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#forward(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#severed && !this.#holdingFin) this.#raw.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#armed?.reject(new Error('the connection closed before the record was cut'));
    this.#armed = undefined;
    // A TCP stream the script still owns outlives the TLS socket: its FIN comes when the script says.
    if (!this.ownsWire) this.#raw.destroy();
    callback(error);
  }

  /** The script, not the TLS layer, ends the TCP stream (a held FIN, or crafted records went out). */
  get ownsWire(): boolean {
    return (this.#holdingFin || this.#crafting !== undefined) && !this.#raw.writableEnded;
  }

  /** One NSS keylog line of the peer's own TLS socket. */
  keylog(line: string | Uint8Array): void {
    this.#keylog.add(line);
  }

  /** From now on the TLS layer's end (after its close_notify) leaves the TCP stream open. */
  holdFin(): void {
    this.#holdingFin = true;
  }

  /**
   * Puts `records` on the wire after everything the TLS layer has written, sealed as the next records of
   * the peer's stream. From then on the TLS layer's own output is dropped (its sequence numbers no longer
   * match the wire), and the TCP stream stays open until the script's `fin`.
   */
  async craft(records: readonly CraftedRecord[], signal: AbortSignal): Promise<void> {
    const wire = this.#wire;
    if (!wire) throw new Error('crafting records needs the cutter set up for it when the spec is read');
    if (this.#raw.writableEnded) throw new Error('the TCP stream has already ended');
    await this.settled(signal);
    this.#severed = true;
    let protection = this.#crafting ?? wire.decoder.protectionAfter(wire.own);
    if (!protection)
      throw new Error("the peer's own keys are unknown (no keylog line, or an unsupported suite)");
    const sealed: Buffer[] = [];
    for (const record of records) {
      if (record.kind === 'alert') {
        sealed.push(protection.seal(ContentType.alert, Buffer.from([record.level, record.description])));
        continue;
      }
      if (!(protection instanceof Tls13RecordProtection)) throw new Error('a KeyUpdate needs TLS 1.3');
      const keyUpdate = Buffer.from([HandshakeType.keyUpdate, 0, 0, 1, UPDATE_NOT_REQUESTED]);
      sealed.push(protection.seal(ContentType.handshake, keyUpdate));
      protection = protection.next();
    }
    this.#crafting = protection;
    await new Promise<void>((resolve, reject) => {
      this.#raw.write(Buffer.concat(sealed), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The script's FIN on a TCP stream it owns, after everything written so far. */
  async finOwnedWire(signal: AbortSignal): Promise<void> {
    await this.settled(signal);
    this.#severed = true;
    this.#raw.end();
  }

  /**
   * Resolves once the TLS layer has handed over everything it had produced and the TCP socket accepted it.
   * Node's JS stream bridge releases the TLS layer's next write only in the check phase after a write
   * completes, so this waits a check phase after the last write and looks again.
   */
  async settled(signal: AbortSignal): Promise<void> {
    do {
      await this.#writesSettled.until(() => this.#pendingWrites === 0, signal);
      await nextCheckPhase(undefined, { signal });
    } while (this.#pendingWrites > 0);
  }

  /**
   * Arms the cut: of the next write, every record but the last goes out whole, the last only up to `keep`
   * bytes (never all of it), followed by a bare FIN; everything later is dropped. The last record is the
   * one carrying the data written after arming: OpenSSL sends TLS 1.3 session tickets lazily, in the same
   * write, ahead of the first application data.
   */
  cutNextWrite(keep: number): Promise<Cut> {
    return new Promise((resolve, reject) => {
      this.#armed = { keep, resolve, reject };
    });
  }

  #forward(data: Buffer, callback: (error?: Error | null) => void): void {
    // After a cut or a bare FIN the TLS layer's output has nowhere to go; writing it would only fail.
    if (this.#severed || this.#raw.writableEnded) {
      callback();
      return;
    }
    const armed = this.#armed;
    if (armed) {
      this.#armed = undefined;
      this.#severed = true;
      const start = lastRecordStart(data);
      const kept = Math.min(armed.keep, data.length - start - 1);
      this.#raw.end(data.subarray(0, start + kept));
      armed.resolve({ kept, total: data.length - start });
      callback();
      return;
    }
    if (this.#wire) this.#wire.decoder.receive(this.#wire.own, data, 0);
    this.#pendingWrites++;
    this.#raw.write(data, () => {
      this.#pendingWrites--;
      this.#writesSettled.notify();
      callback();
    });
  }
}

/** Where the last TLS record in `data` starts (records: a 5-byte header whose last two bytes are the length). */
function lastRecordStart(data: Buffer): number {
  let start = 0;
  let next = 0;
  while (next + RECORD_HEADER_BYTES <= data.length) {
    start = next;
    next += RECORD_HEADER_BYTES + data.readUInt16BE(next + 3);
  }
  return start;
}
