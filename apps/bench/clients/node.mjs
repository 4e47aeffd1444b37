// The Node client: `node --expose-gc node.mjs '<json>'` runs one measure, raw or through
// @closenotify/node, and prints one JSON result line. Raw is Node's fastest TLS client path:
// tls.connect with one shared SecureContext and `onread` into a reused 64 KiB buffer
// (measured: the fastest Node paths). `raw-data` receives through plain tls.connect and 'data'
// events, the path most Node applications use.
import { createSecureContext, connect as tlsConnect } from 'node:tls';
import { connect } from '@closenotify/node';
import { adapterMeasures } from './shared/adapter.mjs';
import { measureClose, measureCycles, measureIdle, measureReceive, measureSend } from './shared/drivers.mjs';
import { patternAt, WRITE_BYTES } from './shared/stream-pattern.mjs';

/**
 * What the orchestrator asks for (src/runner.ts); `params` holds the keys its measure reads.
 * @typedef {{
 *   measure: 'receive' | 'send' | 'cycles' | 'close' | 'idle',
 *   impl: 'raw' | 'raw-data' | 'adapter',
 *   port: number,
 *   ca: string,
 *   params: {
 *     bytes: number, intoBytes?: number, cycles: number, concurrency: number, timeLimitMs: number, samples: number,
 *     idleMs: number, connections: number, inFlight: number, settleMs: number, warmUp: number,
 *   },
 * }} Request
 */

/** @type {Request} */
const { measure, impl, port, ca, params } = JSON.parse(process.argv[2] ?? '{}');
/** Node runs with --expose-gc. */
const collectGarbage = /** @type {() => void} */ (globalThis.gc);

const secureContext = createSecureContext({ ca });
// One buffer for every connection: Node calls `onread` synchronously for each chunk, so a chunk is
// always consumed before the next read of any connection overwrites it.
const readBuffer = Buffer.allocUnsafe(64 * 1024);
const echoPayload = Buffer.alloc(1024, 0x61);

/**
 * A raw TLS connection; `onChunk(length, buffer)` sees each decrypted chunk, `onSecure` the handshake.
 * @param {(length: number, buffer: Uint8Array) => void} onChunk
 * @param {() => void} [onSecure]
 */
function rawConnect(onChunk, onSecure) {
  return tlsConnect(
    {
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      secureContext,
      noDelay: true,
      onread: { buffer: readBuffer, callback: onChunk },
    },
    onSecure,
  );
}

const raw = {
  receive: () =>
    measureReceive(params, (check, firstByte) => {
      return new Promise((resolve, reject) => {
        const socket = rawConnect((length, buffer) => {
          firstByte();
          check.add(buffer, length);
        });
        socket.on('error', reject);
        socket.on('end', resolve);
      });
    }),

  send: () =>
    measureSend(params, (started) => {
      return new Promise((resolve, reject) => {
        let reply = '';
        // The sink's short report is read through 'data': it is not part of the timed stream.
        const socket = tlsConnect(
          { host: '127.0.0.1', port, servername: 'localhost', secureContext, noDelay: true },
          () => {
            started();
            let offset = 0;
            const pump = () => {
              while (offset < params.bytes) {
                const length = Math.min(WRITE_BYTES, params.bytes - offset);
                const chunk = patternAt(offset, length);
                offset += length;
                if (!socket.write(chunk)) {
                  socket.once('drain', pump);
                  return;
                }
              }
              socket.end();
            };
            pump();
          },
        );
        socket.setEncoding('utf8');
        socket.on('data', (/** @type {string} */ text) => {
          reply += text;
        });
        socket.on('error', reject);
        socket.on('end', () => resolve(JSON.parse(reply)));
      });
    }),

  cycles: () =>
    measureCycles(params, () => {
      return new Promise((resolve, reject) => {
        let echoed = 0;
        const socket = rawConnect(
          (length) => {
            echoed += length;
            if (echoed === echoPayload.byteLength) socket.end();
          },
          () => socket.write(echoPayload),
        );
        socket.on('error', reject);
        socket.on('end', () => {
          socket.destroy();
          resolve();
        });
      });
    }),

  close: () =>
    measureClose(params, () => {
      return new Promise((resolve, reject) => {
        /** @type {(() => void) | undefined} */
        let peerEnded;
        const socket = rawConnect(
          () =>
            resolve({
              closeWrite: () =>
                new Promise((ended) => {
                  peerEnded = ended;
                  socket.end();
                }),
              release: () => socket.destroy(),
            }),
          () => socket.write(echoPayload.subarray(0, 1)),
        );
        socket.on('error', reject);
        socket.on('end', () => peerEnded?.());
      });
    }),

  idle: () =>
    measureIdle(params, {
      open: () =>
        new Promise((resolve, reject) => {
          const socket = rawConnect(
            () => {},
            () => resolve(socket),
          );
          socket.on('error', reject);
        }),
      close: (socket) =>
        new Promise((resolve) => {
          socket.once('close', resolve);
          socket.destroy();
        }),
      gc: collectGarbage,
    }),
};

/** Only the receive measure is compared against 'data' events (src/plan.ts). */
const receiveThroughData = () =>
  measureReceive(params, (check, firstByte) => {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        secureContext,
        noDelay: true,
      });
      socket.on('data', (/** @type {Buffer} */ chunk) => {
        firstByte();
        check.add(chunk, chunk.byteLength);
      });
      socket.on('error', reject);
      socket.on('end', resolve);
    });
  });

const adapter = adapterMeasures(connect, { port, ca });
const runs = {
  raw: () => raw[measure](),
  'raw-data': receiveThroughData,
  adapter: () => adapter[measure](params, collectGarbage),
};
const result = await runs[impl]();
console.log(JSON.stringify(result));
// Idle connections would keep the process alive.
process.exit(0);
