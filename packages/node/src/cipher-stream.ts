import { type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { internalsChanged, tlsStreamEnded } from './node-internals.ts';

/**
 * The one buffer every client's raw socket reads into (`onread`): Node calls back synchronously for
 * each read, and the chunk is either decrypted by TLS before the callback returns or copied.
 */
const sharedCiphertextBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The ciphertext between a raw net.Socket the adapter owns and the TLS socket Node runs over it.
 *
 * Node's TLS gives the same 'end' for a close_notify and for a bare TCP EOF when it reads a socket
 * handle itself. Over a JS Duplex it reads through JSStreamSocket instead, and every chunk this
 * stream emits is decrypted synchronously, inside the 'data' emit: a close_notify ends the TLS
 * socket's readable side right there, while the TCP EOF only reaches TLS through this stream's
 * 'end'. So the TLS socket has ended before that 'end' if and only if the peer's close_notify
 * arrived. `truncation.*`, `server.truncation.*`.
 *
 * Backpressure both ways: a full readable side pauses the raw socket until TLS reads again; a write
 * completes as soon as the raw socket took the bytes, or at its 'drain' once it is over its mark.
 *
 * A client's raw socket reads into one shared buffer (`CipherStream.connect`, net's `onread`): while
 * TLS reads, a chunk pushed here is decrypted inside the push and needs no copy (JSStream copies it
 * into TLS's input); while TLS is paused it is copied and waits. A socket that cannot take `onread`
 * at creation (a server's accepted one, a STARTTLS client's plaintext phase) feeds it with 'data'.
 */
export class CipherStream extends Duplex {
  readonly raw: Socket;
  #tls: TLSSocket | undefined;
  #rawEnded = false;
  #eofDelivered = false;
  #closeNotifySeen = false;
  #sampling = false;

  /** A connecting client's raw socket, read through `onread` into the shared buffer, and its cipher stream. */
  static connect(options: NetConnectOpts): CipherStream {
    let cipher: CipherStream | undefined;
    const raw = netConnect({
      ...options,
      onread: {
        buffer: sharedCiphertextBuffer,
        // Node reads only once connected, after `cipher` is set.
        callback: (length: number, buffer: Buffer): boolean => cipher!.#pushBorrowed(buffer, length),
      },
    });
    cipher = new CipherStream(raw, false);
    return cipher;
  }

  /** `raw`: a socket read with 'data' events (accepted by a server, or left from a plaintext phase). */
  constructor(raw: Socket, readWithData = true) {
    super({ allowHalfOpen: true, emitClose: true });
    this.raw = raw;
    if (readWithData) {
      raw.on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) raw.pause();
      });
    }
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
   * tls.Server's 'connection' emit): this 'data' listener then runs after JSStreamSocket's, so it
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
   * sampling if the caller did not already (a client knows its TLS socket before any chunk): without
   * it a close_notify that arrives while the reader is behind was judged by which 'end' came first,
   * and called a truncation. `truncation.slow-reader-clean-end`.
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
   * A chunk in the shared buffer, valid until this returns; false stops the raw socket reading until
   * `_read()`. TLS reads it inside push() when this stream flows with nothing queued (Readable emits
   * 'data' at once then); otherwise it is queued, so it gets a copy. A push that queued the shared
   * buffer after all would hand TLS overwritten bytes: the stream fails instead, before the next read.
   */
  #pushBorrowed(buffer: Buffer, length: number): boolean {
    const view = buffer.subarray(0, length);
    if (!(this.readableFlowing === true && this.readableLength === 0)) return this.push(Buffer.from(view));
    const more = this.push(view);
    if (this.readableLength !== 0) {
      this.destroy(internalsChanged('a flowing Readable emitting a pushed chunk at once', 'read'));
      return false;
    }
    return more;
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send([chunk], callback);
  }

  /** JSStreamSocket writes the buffers of one TLS write corked: they leave in one system call. */
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
   * write beyond its mark. The raw socket owns the ciphertext buffers (JSStream's copies), which no
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

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy();
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
