// One TCP connection of a peer as its script sees it: the data channel (the TLS socket, or the TCP socket
// itself when the peer does not speak TLS), the TCP socket underneath for FIN, RST and garbage, and a tally
// of what crossed the channel. Every operation that waits is bounded by the caller's signal.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_SEED, pseudoRandomBytes, pseudoRandomStream } from '../src/peer-client.ts';
import { ByteTally } from './byte-tally.ts';
import { Condition } from './condition.ts';
import type { CraftedRecord, Cut, RecordCutter } from './record-cutter.ts';

/** How much of the received stream the report shows as text. */
const RECEIVED_TEXT_LIMIT = 4096;
/** How much of the cut record's ciphertext `finMidRecord` puts on the wire. */
const CIPHERTEXT_KEPT_BY_CUT = 100;
const GARBAGE_SEED = 0x6a4b_2c1d;

export interface ConnectionHooks {
  error(error: unknown): void;
  /** The TCP connection (and the TLS socket over it) closed. */
  closed(): void;
}

export class ScriptedConnection {
  readonly raw: Socket;
  readonly cutter: RecordCutter | undefined;
  readonly received = new ByteTally(RECEIVED_TEXT_LIMIT);
  readonly sent = new ByteTally();
  /** Notified on every change the waits below depend on. */
  readonly changed = new Condition();
  /** The end of stream from the other side arrived. */
  ended = false;
  /** We ended our sending direction: close_notify, FIN, cut, RST or destroy. */
  writeShut = false;
  closed = false;
  readonly #hooks: ConnectionHooks;
  readonly #closedController = new AbortController();
  readonly #closing: Promise<void>[] = [];
  #channel: Duplex | undefined;
  /** Takes the data channel's listeners off it (STARTTLS: the TCP socket stops being the channel). */
  #leaveChannel: (() => void) | undefined;
  #tls: TLSSocket | undefined;
  /** Bytes already claimed by `read` steps. */
  #consumed = 0;
  /** Writes handed to the data channel whose callback has not run yet (the bytes are not in the kernel). */
  #unflushed = 0;
  #echoing = false;
  /** What the script's bytes and FIN wait for; see holdBytesUntil. */
  #bytesReady: Promise<void> = Promise.resolve();

  constructor(raw: Socket, options: { cutter: RecordCutter | undefined; hooks: ConnectionHooks }) {
    this.raw = raw;
    this.cutter = options.cutter;
    this.#hooks = options.hooks;
    raw.on('error', (error) => this.#hooks.error(error));
    this.#watchClose(raw);
  }

  /** Aborted when the connection closes. */
  get closedSignal(): AbortSignal {
    return this.#closedController.signal;
  }

  /** What a TLS socket runs over: the cutter when the script cuts records, else the TCP socket. */
  get transport(): Duplex {
    return this.cutter ?? this.raw;
  }

  useTls(socket: TLSSocket): void {
    this.#tls = socket;
    socket.on('error', (error) => this.#hooks.error(error));
    // Over the cutter the TCP socket's close is the connection's: it can outlive the TLS socket when the
    // script owns the TCP stream, and it closes with the TLS socket otherwise.
    this.#watchClose(socket, { endsConnection: this.cutter === undefined });
    this.#useChannel(socket);
  }

  /**
   * Script steps that put bytes or a FIN on the wire wait for `ready` before they do: the TLS layer may
   * still have output of its own to queue first. RST and destroy stay immediate.
   */
  holdBytesUntil(ready: Promise<void>): void {
    this.#bytesReady = ready;
  }

  /** The peer does not speak TLS on this connection (or not yet): the TCP socket is the data channel. */
  usePlain(): void {
    this.#useChannel(this.raw);
  }

  /** STARTTLS: the TCP socket stops being the data channel; TLS takes it over. */
  leavePlain(): void {
    this.#leaveChannel?.();
    this.#leaveChannel = undefined;
    this.#channel = undefined;
  }

  /** Writes without waiting for the buffer to drain; for answers that are not part of a script. */
  writeNow(data: Uint8Array): void {
    const channel = this.#channel;
    if (!channel || !this.#writable(channel)) return;
    this.#put(channel, data);
  }

  async write(data: Uint8Array, signal: AbortSignal): Promise<void> {
    await this.#bytesReady;
    const channel = this.#writableChannel();
    if (this.#put(channel, data)) return;
    await this.changed.until(() => !channel.writableNeedDrain || this.closed, signal);
  }

  async send(bytes: number, seed: number, chunkSize: number, signal: AbortSignal): Promise<string> {
    const next = pseudoRandomStream(seed);
    const tally = new ByteTally();
    for (let offset = 0; offset < bytes; offset += chunkSize) {
      const chunk = next(Math.min(chunkSize, bytes - offset));
      tally.add(chunk);
      await this.write(chunk, signal);
      if (this.closed) {
        throw new Error(`the connection closed after ${offset + chunk.length} of ${bytes} bytes`);
      }
    }
    return tally.summary().sha256;
  }

  async read(bytes: number, signal: AbortSignal): Promise<void> {
    const target = this.#consumed + bytes;
    await this.#expect(() => this.received.bytes >= target, `${bytes} more bytes arrived`, signal);
    this.#consumed = target;
  }

  readUntilEnd(signal: AbortSignal): Promise<void> {
    return this.#expect(() => this.ended, 'the end of stream', signal);
  }

  async echoUntilEnd(signal: AbortSignal): Promise<void> {
    this.#echoing = true;
    try {
      await this.readUntilEnd(signal);
    } finally {
      this.#echoing = false;
    }
  }

  /** The TLS layer's close_notify; then its TCP FIN, or (`fin: false`) none until a later `fin`. */
  async closeNotify(signal: AbortSignal, options: { fin: boolean }): Promise<void> {
    const socket = this.#requireTls();
    // Node loses records still waiting for decryption when end() runs inside a 'data' callback
    // (measured on Node 20, both TLS versions); leaving the current callback first keeps the peer from losing data that way.
    await nextCheckPhase(undefined, { signal });
    await this.#bytesReady;
    this.#writableChannel();
    const cutter = options.fin ? undefined : this.#requireCutter('closeNotify without a FIN');
    cutter?.holdFin();
    this.writeShut = true;
    socket.end();
    await this.changed.until(() => socket.writableFinished || this.closed, signal);
    await cutter?.settled(signal);
  }

  /** Records Node's TLS cannot be asked to send, sealed as the peer's next records; no FIN. */
  async craft(records: readonly CraftedRecord[], signal: AbortSignal): Promise<void> {
    this.#requireTls();
    const cutter = this.#requireCutter('crafting records');
    await this.#bytesReady;
    if (!cutter.ownsWire) this.#writableChannel();
    this.writeShut = true;
    await cutter.craft(records, signal);
  }

  /**
   * A bare FIN, after everything written so far: the TCP socket ends under the TLS layer, which never
   * sends its close_notify (or already did, with its FIN held back).
   */
  async fin(signal: AbortSignal): Promise<void> {
    await this.#bytesReady;
    if (this.cutter?.ownsWire) {
      await this.cutter.finOwnedWire(signal);
      return;
    }
    this.#writableChannel();
    this.writeShut = true;
    await this.#flushed(signal);
    this.raw.end();
  }

  async finMidRecord(bytes: number, signal: AbortSignal): Promise<Cut> {
    const socket = this.#requireTls();
    const cutter = this.#requireCutter('finMidRecord');
    await this.#bytesReady;
    this.#writableChannel();
    await cutter.settled(signal);
    const cut = cutter.cutNextWrite(CIPHERTEXT_KEPT_BY_CUT);
    this.#put(socket, pseudoRandomBytes(bytes, DEFAULT_SEED));
    this.writeShut = true;
    return cut;
  }

  /**
   * A TCP RST at once; whatever is still unsent is dropped, as with any reset. Right after our own FIN
   * the RST waits for it: libuv refuses a reset while a FIN it queued is not out (EINVAL), and Node
   * then never closes the handle.
   */
  reset(): void {
    const raw = this.raw;
    if (raw.destroyed) throw new Error('the TCP socket is already closed');
    this.writeShut = true;
    if (raw.writableEnded && !raw.writableFinished) {
      raw.once('finish', () => {
        if (!raw.destroyed) raw.resetAndDestroy();
      });
      return;
    }
    raw.resetAndDestroy();
  }

  /**
   * Bytes that cannot start a TLS record (the first two are 0xff), straight onto the TCP stream after
   * everything written so far.
   */
  async garbage(bytes: number, signal: AbortSignal): Promise<void> {
    await this.#bytesReady;
    await this.#flushed(signal);
    if (this.raw.destroyed || this.raw.writableEnded) {
      throw new Error('the TCP socket can no longer be written to');
    }
    const data = pseudoRandomBytes(bytes, GARBAGE_SEED);
    data.fill(0xff, 0, 2);
    this.raw.write(data);
  }

  stopReading(): void {
    this.#requireChannel().pause();
  }

  resumeReading(): void {
    this.#requireChannel().resume();
  }

  /** Writes the seed-1 stream until the connection closes, our side ends, or `maxBytes` went out. */
  async streamUntilClosed(
    chunkSize: number,
    maxBytes: number | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    const next = pseudoRandomStream(DEFAULT_SEED);
    let streamed = 0;
    const channel = this.#requireChannel();
    while (maxBytes === undefined || streamed < maxBytes) {
      if (this.closed || !this.#writable(channel)) {
        return `${streamed} bytes sent, then the connection ${this.closed ? 'closed' : 'stopped accepting writes'}`;
      }
      const size = maxBytes === undefined ? chunkSize : Math.min(chunkSize, maxBytes - streamed);
      await this.write(next(size), signal);
      streamed += size;
    }
    return `${streamed} bytes sent (maxBytes reached)`;
  }

  waitEnd(signal: AbortSignal): Promise<void> {
    return this.changed.until(() => (this.ended && this.writeShut) || this.closed, signal);
  }

  /** Destroys the TLS socket (or the TCP socket without TLS): no close_notify. */
  destroy(): void {
    this.writeShut = true;
    (this.#tls ?? this.raw).destroy();
  }

  /** Tears everything down and resolves once every socket has closed. */
  async dispose(): Promise<void> {
    this.#tls?.destroy();
    this.cutter?.destroy();
    this.raw.destroy();
    await Promise.all(this.#closing);
  }

  #useChannel(channel: Duplex): void {
    this.#channel = channel;
    const onData = (chunk: Buffer): void => this.#onData(channel, chunk);
    const onEnd = (): void => {
      this.ended = true;
      this.changed.notify();
    };
    const notify = (): void => this.changed.notify();
    channel.on('data', onData);
    channel.on('end', onEnd);
    channel.on('drain', notify);
    channel.on('finish', notify);
    this.#leaveChannel = () => {
      channel.off('data', onData);
      channel.off('end', onEnd);
      channel.off('drain', notify);
      channel.off('finish', notify);
    };
  }

  #onData(channel: Duplex, chunk: Buffer): void {
    this.received.add(chunk);
    if (this.#echoing && this.#writable(channel)) {
      if (!this.#put(channel, chunk)) {
        channel.pause();
        channel.once('drain', () => channel.resume());
      }
    }
    this.changed.notify();
  }

  /** Counts and writes; returns what write() returned (false: wait for 'drain'). */
  #put(channel: Duplex, data: Uint8Array): boolean {
    this.sent.add(data);
    this.#unflushed++;
    return channel.write(data, () => {
      this.#unflushed--;
      this.changed.notify();
    });
  }

  /** Until every write so far reached the kernel, so that what follows on the TCP socket comes after it. */
  #flushed(signal: AbortSignal): Promise<void> {
    return this.changed.until(() => this.#unflushed === 0 || this.closed, signal);
  }

  #watchClose(socket: Duplex, options: { endsConnection: boolean } = { endsConnection: true }): void {
    this.#closing.push(
      new Promise((resolve) => {
        socket.once('close', () => {
          if (options.endsConnection && !this.closed) {
            this.closed = true;
            // Waits that the close satisfies settle first; only then are the remaining ones aborted.
            this.changed.notify();
            this.#closedController.abort(new Error('the connection closed'));
            this.#hooks.closed();
          }
          resolve();
        });
      }),
    );
  }

  /** Waits for `holds`, failing if the stream ends or the connection closes first. */
  async #expect(holds: () => boolean, what: string, signal: AbortSignal): Promise<void> {
    await this.changed.until(() => holds() || this.ended || this.closed, signal);
    if (!holds()) throw new Error(`the ${this.ended ? 'stream ended' : 'connection closed'} before ${what}`);
  }

  #writable(channel: Duplex): boolean {
    return !this.writeShut && !channel.destroyed && !channel.writableEnded;
  }

  #writableChannel(): Duplex {
    const channel = this.#requireChannel();
    if (!this.#writable(channel)) throw new Error('our side of the connection can no longer be written to');
    return channel;
  }

  #requireChannel(): Duplex {
    if (!this.#channel) throw new Error('the connection has no data channel yet');
    return this.#channel;
  }

  #requireCutter(what: string): RecordCutter {
    if (!this.cutter)
      throw new Error(`${what} needs the record cutter, which is set up when the spec is read`);
    return this.cutter;
  }

  #requireTls(): TLSSocket {
    if (!this.#tls) throw new Error('this step needs a TLS connection');
    return this.#tls;
  }
}
