import { connect as netConnect, Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { createServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ensurePki, type Pki } from '@closenotify/test-pki';
import { beforeAll, describe, expect, it } from 'vitest';
import { duplexUnder, keepUntilReleased, readIntoUserBuffer, tlsStreamEnded } from '../src/node-internals.ts';

// Pins the Node internals the adapter's truncation verdicts and server handshakes rely on: a Node
// that changes them fails here, and the adapter itself then fails with ERR_RUNTIME_UNSUPPORTED.
let pki: Pki;
beforeAll(async () => {
  pki = await ensurePki();
});

/**
 * A TLS server that answers the first bytes it receives with `answer` and ends, and a client TLS
 * socket over a PassThrough fed from a raw TCP socket, as the adapter's cipher stream is.
 * `forwardEof`: whether the raw socket's EOF reaches the PassThrough.
 */
async function tlsOverPassThrough(answer: string | Buffer, forwardEof: boolean) {
  const server = createServer({ ...pki.server }, (peer) => peer.once('data', () => peer.end(answer)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const raw = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const cipher = new PassThrough({ allowHalfOpen: true });
  raw.on('data', (chunk) => cipher.push(chunk));
  if (forwardEof) raw.on('end', () => cipher.push(null));
  cipher._write = (chunk, _encoding, callback) => raw.write(chunk, callback);
  const tls = tlsConnect({ socket: cipher, servername: 'localhost', ca: pki.ca });
  const stop = (): void => {
    tls.destroy();
    raw.destroy();
    server.close();
  };
  return { raw, cipher, tls, stop };
}

describe('Node internals @closenotify/node relies on', () => {
  it('_readableState.ended turns true at push(null), before any read or end event', () => {
    const readable = new Readable({ read() {} });
    const tlsLike = readable as unknown as TLSSocket;
    expect(tlsStreamEnded(tlsLike)).toBe(false);
    readable.push(null);
    expect(tlsStreamEnded(tlsLike)).toBe(true);
    expect(readable.readableEnded).toBe(false);
  });

  it('a TLS socket over a Duplex leads back to that Duplex, and ends on close_notify before the EOF', async () => {
    // Ending at once in 'secureConnection' on TLS 1.3 sends no close_notify on Node 20 (OpenSSL's
    // s_client sees an unexpected EOF too): the server answers a request instead.
    // The raw socket's EOF is held back: only the close_notify can end the TLS stream here.
    const { raw, cipher, tls, stop } = await tlsOverPassThrough('bye', false);
    tls.write('hi');
    expect(duplexUnder(tls)).toBe(cipher);
    let received = '';
    tls.on('data', (chunk: Buffer) => {
      received += chunk;
    });
    await new Promise<void>((resolve) => raw.once('end', resolve));
    expect(received).toBe('bye');
    expect(tlsStreamEnded(tls)).toBe(true);
    stop();
  });

  it('a flowing Readable with nothing queued emits a pushed chunk inside push()', () => {
    const readable = new Readable({ read() {} });
    const seen: Buffer[] = [];
    readable.on('data', (chunk: Buffer) => seen.push(chunk));
    readable.push(Buffer.from('queued before the first read'));
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        const chunk = Buffer.from('pushed');
        readable.push(chunk);
        expect(seen.at(-1)).toBe(chunk);
        expect(readable.readableLength).toBe(0);
        readable.pause();
        readable.push(Buffer.from('paused'));
        expect(readable.readableLength).toBe(6);
        resolve();
      });
    });
  });

  it('a TLS socket over a Duplex decrypts into a user buffer, pauses, and still ends', async () => {
    const payload = Buffer.alloc(256 * 1024, 0x5a);
    const { tls, stop } = await tlsOverPassThrough(payload, true);
    const buffer = Buffer.alloc(64 * 1024);
    let received = 0;
    let wrongBuffer = 0;
    let paused = false;
    readIntoUserBuffer(tls, {
      buffer,
      callback: (length, into) => {
        if (into !== buffer) wrongBuffer += 1;
        expect(into.subarray(0, length).every((byte) => byte === 0x5a)).toBe(true);
        received += length;
        if (!paused && received >= 64 * 1024) {
          paused = true;
          tls.pause();
          setTimeout(() => tls.resume(), 50);
        }
      },
    });
    tls.on('data', () => expect.fail("'data' emitted"));
    tls.resume();
    tls.write('hi');
    await new Promise<void>((resolve) => tls.once('end', resolve));
    expect(received).toBe(payload.byteLength);
    expect(wrongBuffer).toBe(0);
    expect(tlsStreamEnded(tls)).toBe(true);
    stop();
  });

  it('a TLS socket destroys itself once both sides are done, unless kept until released', async () => {
    // Checked as the promise of the later of 'end' and 'finish' resumes: Node's own destroy would
    // have run by then, inside that event's emit; the Duplex under it closes only a loop turn later.
    const destroyedWhenBothSidesDone = async (keep: boolean) => {
      const { tls, stop } = await tlsOverPassThrough('bye', true);
      if (keep) keepUntilReleased(tls);
      const emitted = (event: string) => new Promise<void>((resolve) => tls.once(event, () => resolve()));
      const bothSidesDone = Promise.all([emitted('end'), emitted('finish')]);
      tls.resume();
      tls.end('hi');
      await bothSidesDone;
      const destroyed = tls.destroyed;
      stop();
      return destroyed;
    };
    expect(await destroyedWhenBothSidesDone(false)).toBe(true);
    expect(await destroyedWhenBothSidesDone(true)).toBe(false);
  });

  it('fails loudly, with a stable code, where the internals are missing', () => {
    const handleless = new Socket() as unknown as TLSSocket;
    expect(() => readIntoUserBuffer(handleless, { buffer: Buffer.alloc(1), callback: () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_RUNTIME_UNSUPPORTED' }),
    );
    const changed = {} as TLSSocket;
    expect(() => tlsStreamEnded(changed)).toThrow(
      expect.objectContaining({ code: 'ERR_RUNTIME_UNSUPPORTED' }),
    );
    expect(() => keepUntilReleased(changed)).toThrow(
      expect.objectContaining({ code: 'ERR_RUNTIME_UNSUPPORTED' }),
    );
    const noParent = { _handle: {}, destroyed: false } as unknown as TLSSocket;
    expect(() => duplexUnder(noParent)).toThrow(expect.objectContaining({ code: 'ERR_RUNTIME_UNSUPPORTED' }));
  });
});
