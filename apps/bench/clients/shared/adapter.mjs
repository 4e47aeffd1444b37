// The adapter side of every measure. It is the same code on every runtime: only `connect` (from
// @closenotify/node, /bun or /deno) differs, which is the point of the library.
import { measureClose, measureCycles, measureIdle, measureReceive, measureSend } from './drivers.mjs';
import { patternAt, WRITE_BYTES } from './stream-pattern.mjs';

/** @typedef {import('@closenotify/core').ShutdownableSecureSocket} Socket */
/** @typedef {(options: import('@closenotify/core').ConnectOptions) => Promise<Socket>} Connect */

const ECHO_BYTES = 1024;
const decoder = new TextDecoder();

/**
 * Reads until `bytes` have arrived (an echo).
 * @param {Socket} socket
 * @param {number} bytes
 */
async function readExactly(socket, bytes) {
  let received = 0;
  while (received < bytes) {
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`the peer ended after ${received} of ${bytes} echoed bytes`);
    received += chunk.byteLength;
  }
}

/**
 * Reads to the peer's close_notify (read() → null), keeping what arrives.
 * @param {Socket} socket
 */
async function readToEnd(socket) {
  /** @type {Uint8Array[]} */
  const chunks = [];
  for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) chunks.push(chunk);
  return chunks;
}

/**
 * @param {Connect} connect
 * @param {{ port: number, ca: string, caAddsToDefaultTrust?: boolean }} peer
 */
export function adapterMeasures(connect, { port, ca, caAddsToDefaultTrust }) {
  const open = () =>
    connect({ hostname: '127.0.0.1', port, servername: 'localhost', ca, caAddsToDefaultTrust });
  const echoPayload = new Uint8Array(ECHO_BYTES).fill(0x61);

  return {
    /**
     * `intoBytes`: read with read(into) into one reused buffer of that size (the raw sides' way), else
     * with read(), which hands over chunks the caller keeps.
     * @param {{ bytes: number, intoBytes?: number }} params
     */
    receive: (params) =>
      measureReceive(params, async (check, firstByte) => {
        const socket = await open();
        const into = params.intoBytes === undefined ? undefined : new Uint8Array(params.intoBytes);
        for (let chunk = await socket.read(into); chunk !== null; chunk = await socket.read(into)) {
          firstByte();
          check.add(chunk);
        }
        await socket.close();
      }),

    /** @param {{ bytes: number }} params */
    send: (params) =>
      measureSend(params, async (started) => {
        const socket = await open();
        started();
        for (let offset = 0; offset < params.bytes; offset += WRITE_BYTES) {
          await socket.write(patternAt(offset, Math.min(WRITE_BYTES, params.bytes - offset)));
        }
        await socket.shutdown('write');
        const report = (await readToEnd(socket)).map((chunk) => decoder.decode(chunk, { stream: true }));
        await socket.close();
        return JSON.parse(report.join(''));
      }),

    /** @param {{ cycles: number, concurrency: number, timeLimitMs: number }} params */
    cycles: (params) =>
      measureCycles(params, async () => {
        const socket = await open();
        await socket.write(echoPayload);
        await readExactly(socket, ECHO_BYTES);
        await socket.shutdown('write');
        await readToEnd(socket);
        await socket.close();
      }),

    /** @param {{ samples: number, idleMs: number, timeLimitMs: number }} params */
    close: (params) =>
      measureClose(params, async () => {
        const socket = await open();
        await socket.write(echoPayload.subarray(0, 1));
        await readExactly(socket, 1);
        return {
          closeWrite: async () => {
            await socket.shutdown('write');
            if ((await socket.read()) !== null) throw new Error('data after the echo');
          },
          release: () => socket.close(),
        };
      }),

    /**
     * @param {{ connections: number, inFlight: number, settleMs: number, warmUp: number }} params
     * @param {() => void} gc
     */
    idle: (params, gc) =>
      measureIdle(params, {
        open,
        close: (socket) => socket.close(),
        gc,
      }),
  };
}
