/**
 * Pins the node:tls internals the STARTTLS path relies on (src/starttls/node-internals.ts): a Deno that
 * changes them fails here, and the adapter itself then fails with ERR_RUNTIME_UNSUPPORTED.
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl --allow-write=.tmp --allow-read=.tmp
 */
import { connect as netConnect } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { createServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { drainSealedRecords, duplexUnder, tlsStreamEnded } from '../src/starttls/node-internals.ts';
import { assertEquals, assertHas } from './fixtures/assert.ts';
import { testPki } from './fixtures/pki.ts';

const pki = await testPki();

Deno.test('_readableState.ended turns true at push(null), before any end event', () => {
  const readable = new Readable({ read() {} });
  const tlsLike = readable as unknown as TLSSocket;
  assertEquals(tlsStreamEnded(tlsLike), false, 'ended before push(null)');
  readable.push(null);
  assertEquals(tlsStreamEnded(tlsLike), true, 'ended after push(null)');
  assertEquals(readable.readableEnded, false, 'readableEnded (waits for the end event)');
});

Deno.test('a tls.Server socket leads back to the Duplex emitted as its connection, ends on close_notify before the EOF, and gives up its sealed close_notify', async () => {
  const server = createServer({ ...pki.server });
  const cipher = new PassThrough({ allowHalfOpen: true });
  const secured = new Promise<TLSSocket>((resolve) => server.once('secureConnection', resolve));
  const tcp = await new Promise<import('node:net').Socket>((resolve) => {
    const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
    const raw = netConnect({ host: '127.0.0.1', port: listener.addr.port, allowHalfOpen: true });
    // The peer: a node:tls client over a plain TCP connection we accept natively and relay into `cipher`.
    listener.accept().then(async (conn) => {
      listener.close();
      conn.readable
        .pipeTo(
          new WritableStream({
            write: (chunk) => {
              cipher.push(chunk);
            },
          }),
        )
        .catch(() => {});
      cipher._write = (chunk, _encoding, callback) => {
        conn.write(chunk).then(() => callback(), callback);
      };
      resolve(raw);
    });
  });
  server.emit('connection', cipher);
  const client = tlsConnect({ socket: tcp, servername: 'localhost', ca: pki.ca });
  const tls = await secured;
  assertEquals(duplexUnder(tls), cipher, 'the Duplex under the server socket');
  const ended = new Promise<void>((resolve) => tls.once('end', resolve));
  client.end();
  await ended;
  // The cipher stream itself never ended: only the client's close_notify can have ended TLS.
  assertEquals(tlsStreamEnded(tls), true, 'ended on close_notify');
  // Ending now, the engine seals our close_notify and keeps it until its next pump: drained at once,
  // it is one alert record (TLS 1.3 seals it as application data: 5 + 2 + 1 + 16 bytes).
  tls.end();
  const records = drainSealedRecords(tls);
  assertEquals(records?.byteLength, 24, 'the sealed close_notify record');
  tls.destroy();
  client.destroy();
  tcp.destroy();
  cipher.destroy();
  server.close();
});

Deno.test('missing internals fail loudly with a stable code', () => {
  let error: unknown;
  try {
    tlsStreamEnded({} as TLSSocket);
  } catch (caught) {
    error = caught;
  }
  assertHas(error, { code: 'ERR_RUNTIME_UNSUPPORTED' });
  error = undefined;
  try {
    drainSealedRecords({ _handle: {} } as unknown as TLSSocket);
  } catch (caught) {
    error = caught;
  }
  assertHas(error, { code: 'ERR_RUNTIME_UNSUPPORTED' });
  error = undefined;
  try {
    duplexUnder({ _handle: {}, destroyed: false } as unknown as TLSSocket);
  } catch (caught) {
    error = caught;
  }
  assertHas(error, { code: 'ERR_RUNTIME_UNSUPPORTED' });
});
