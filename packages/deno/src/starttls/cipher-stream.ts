import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { tlsStreamEnded } from './node-internals.ts';

/**
 * The ciphertext between a raw node:net socket the adapter owns and the node:tls socket Deno runs
 * over it (the STARTTLS path: Deno.startTls is client-only, and cannot take a TcpConn with a read
 * pending, see socket.ts).
 *
 * Deno's node:tls decrypts every chunk this stream emits synchronously, inside the 'data' emit, as
 * Node's does: a close_notify ends the TLS socket's readable side right there, while the TCP EOF only
 * reaches TLS through this stream's 'end'; both end with the same 'end' event. So the TLS socket has
 * ended before that 'end' if and only if the peer's close_notify arrived.
 * `starttls.upgraded.truncation`, `server.starttls.upgraded.truncation`.
 *
 * Backpressure both ways: a full readable side pauses the raw socket until TLS reads again; a write
 * completes as soon as the raw socket took the bytes, or at its 'drain' once it is over its mark.
 */
export class CipherStream extends Duplex {
  readonly raw: Socket;
  #tls: TLSSocket | undefined;
  #rawEnded = false;
  #eofDelivered = false;
  #closeNotifySeen = false;
  /** Core paused delivery: TLS reading on does not resume the raw socket. */
  #held = false;
  /** finishWith() handed the raw socket our last records and its FIN. */
  #finishing = false;
  #sampling = false;

  constructor(raw: Socket) {
    super({ allowHalfOpen: true, emitClose: true });
    this.raw = raw;
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => {
      this.#rawEnded = true;
      this.push(null);
    });
    raw.on('error', (error: Error) => this.destroy(error));
    // After a clean EOF the raw socket closes by itself once both directions are done, while TLS may
    // not have read all the ciphertext yet: this stream then ends on its own, as TLS drains it.
    raw.on('close', () => {
      if (!this.#rawEnded) this.destroy();
    });
    this.once('end', () => {
      this.#eofDelivered = true;
    });
  }

  /**
   * Called as soon as TLS wrapped this stream (synchronously after tls.connect, or after
   * tls.Server's 'connection' emit): this 'data' listener then runs after the TLS engine's own, so it
   * sees the TLS socket as each chunk left it. A server learns its TLS socket inside the chunk that
   * completes the handshake, which may also carry the close_notify: sampling starts before that.
   */
  sampleAfterTls(): void {
    if (this.#sampling) return;
    this.#sampling = true;
    this.on('data', this.#sample);
  }

  /**
   * The TLS socket over this stream; throws ERR_RUNTIME_UNSUPPORTED if it cannot be sampled. Starts
   * sampling if the caller did not already (a client knows its TLS socket before any chunk), so the
   * verdict never rests on which 'end' comes first. `starttls.upgraded.slow-reader.close-notify`.
   */
  observe(tls: TLSSocket): void {
    tlsStreamEnded(tls);
    this.#tls = tls;
    this.sampleAfterTls();
    this.#sample();
  }

  /** Before the EOF was handed to TLS, an ended TLS stream can only mean a close_notify. */
  readonly #sample = (): void => {
    const tls = this.#tls;
    if (!this.#closeNotifySeen && !this.#eofDelivered && tls && tlsStreamEnded(tls))
      this.#closeNotifySeen = true;
  };

  /**
   * Asked when the TLS socket emits 'end'. Never true for a bare EOF: the TCP EOF is handed to TLS
   * only after every chunk was sampled, so a TLS stream that ended before it ended on close_notify;
   * and a stream that cannot be sampled fails before any verdict (node-internals.ts).
   */
  closeNotifyReceived(): boolean {
    return !this.#eofDelivered || this.#closeNotifySeen;
  }

  /**
   * Deno's node:tls loses the TCP EOF when its TLS socket is paused, so core's backpressure never
   * pauses TLS: it holds the raw socket here, and TLS decrypts only what already arrived.
   */
  hold(held: boolean): void {
    this.#held = held;
    if (held) this.raw.pause();
    else if (this.readableLength < this.readableHighWaterMark) this.raw.resume();
  }

  override _read(): void {
    if (!this.#held) this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send([chunk], callback);
  }

  /** TLS hands over the buffers of one write together: they leave in one system call. */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#send(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  /**
   * Completes at once unless the raw socket is still over its mark from an earlier write: a TLS
   * write then waits for the kernel only under backpressure, and the raw socket holds at most one TLS
   * write beyond its mark. The raw socket owns the ciphertext buffers (the engine's copies), which no
   * one reuses.
   */
  #send(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const raw = this.raw;
    if (!raw.writable) {
      callback(connectionClosed());
      return;
    }
    const backlogged = raw.writableNeedDrain;
    raw.cork();
    for (const chunk of chunks) raw.write(chunk);
    raw.uncork();
    if (backlogged) this.#afterDrain(callback);
    else callback();
  }

  /**
   * Hands the FIN to the raw socket, behind every ciphertext byte, and completes at once, as writes
   * do: waiting for the kernel to take it made TLS report close_notify sent a loop turn or more after
   * it left, long enough under load for the peer's reply to overtake it
   * (`peer-close.fin-after-our-shutdown`). A raw socket that fails later destroys this stream.
   */
  override _final(callback: (error?: Error | null) => void): void {
    this.raw.end();
    callback();
  }

  /**
   * Our last TLS records and the FIN, straight to the raw socket, for a TLS socket that is being
   * destroyed before it hands them over itself (tls-transport.ts, shutdownWrite). Resolves once the
   * raw socket took the FIN; rejects if it closed first.
   */
  finishWith(records: Uint8Array | null): Promise<void> {
    const raw = this.raw;
    return new Promise<void>((resolve, reject) => {
      if (!raw.writable) {
        reject(connectionClosed());
        return;
      }
      this.#finishing = true;
      const finished = (): void => {
        raw.off('close', closedFirst);
        resolve();
      };
      const closedFirst = (): void => {
        raw.off('finish', finished);
        reject(connectionClosed());
      };
      raw.once('finish', finished);
      raw.once('close', closedFirst);
      if (records) raw.write(records);
      raw.end();
    });
  }

  /** A raw socket still sending what finishWith() gave it is destroyed once that is out (or by release()). */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const raw = this.raw;
    if (this.#finishing && !raw.writableFinished && !raw.destroyed) raw.once('finish', () => raw.destroy());
    else raw.destroy();
    callback(error);
  }

  #afterDrain(callback: (error?: Error | null) => void): void {
    const raw = this.raw;
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      callback();
    };
    raw.on('drain', done);
    raw.on('close', done);
  }
}

function connectionClosed(): Error {
  return Object.assign(new Error('The TCP connection is closed'), { code: 'EPIPE' });
}
