// The Bun client: `bun bun.ts '<json>'` runs one measure, raw or through @closenotify/bun, and prints
// one JSON result line. Raw is Bun's fastest TLS client path: Bun.connect({ tls }) with one shared
// handler object and the `data` handler, whose chunks are fresh buffers (measured: the fastest Bun path).
import { connect } from '@closenotify/bun';
import type { Socket, SocketHandler } from 'bun';
import { adapterMeasures } from './shared/adapter.mjs';
import { measureClose, measureCycles, measureIdle, measureReceive, measureSend } from './shared/drivers.mjs';
import type { Request } from './shared/request.d.ts';
import { patternAt, WRITE_BYTES } from './shared/stream-pattern.mjs';

const { measure, impl, port, ca, params }: Request = JSON.parse(process.argv[2] ?? '{}');
const echoPayload = new Uint8Array(1024).fill(0x61);
const collectGarbage = (): void => Bun.gc(true);

/** Per-connection state; one handler object serves every connection, as Bun intends. */
interface Connection {
  secure(socket: Socket<Connection>): void;
  chunk(socket: Socket<Connection>, data: Uint8Array): void;
  drain(socket: Socket<Connection>): void;
  ended(socket: Socket<Connection>): void;
  failed(error: Error): void;
}

const handlers: SocketHandler<Connection> = {
  handshake(socket, success, authorizationError) {
    if (success && socket.authorized) socket.data.secure(socket);
    else socket.data.failed(authorizationError ?? new Error('the TLS handshake failed'));
  },
  data(socket, data) {
    socket.data.chunk(socket, data);
  },
  drain(socket) {
    socket.data.drain(socket);
  },
  end(socket) {
    socket.data.ended(socket);
  },
  error(socket, error) {
    socket.data.failed(error);
  },
  connectError(socket, error) {
    socket.data.failed(error);
  },
};

function rawConnect(connection: Partial<Connection> & Pick<Connection, 'failed'>): void {
  const ignore = (): void => {};
  Bun.connect<Connection>({
    hostname: '127.0.0.1',
    port,
    allowHalfOpen: true,
    tls: { ca, serverName: 'localhost' },
    data: { secure: ignore, chunk: ignore, drain: ignore, ended: ignore, ...connection },
    socket: handlers,
  }).catch(connection.failed);
}

const raw = {
  receive: () =>
    measureReceive(params, (check, firstByte) => {
      return new Promise<void>((resolve, reject) => {
        rawConnect({
          chunk(_socket, data) {
            firstByte();
            check.add(data);
          },
          ended(socket) {
            socket.end();
            resolve();
          },
          failed: reject,
        });
      });
    }),

  send: () =>
    measureSend(params, (started) => {
      return new Promise((resolve, reject) => {
        const decoder = new TextDecoder();
        let reply = '';
        let offset = 0;
        // Bun takes what fits and returns the count; the rest waits for `drain`.
        let rest: Uint8Array | undefined;
        const pump = (socket: Socket<Connection>): void => {
          for (;;) {
            if (!rest) {
              if (offset >= params.bytes) {
                socket.shutdown();
                return;
              }
              const length = Math.min(WRITE_BYTES, params.bytes - offset);
              rest = patternAt(offset, length);
              offset += length;
            }
            const written = socket.write(rest);
            if (written < 0) return;
            if (written < rest.byteLength) {
              rest = rest.subarray(written);
              return;
            }
            rest = undefined;
          }
        };
        rawConnect({
          secure(socket) {
            started();
            pump(socket);
          },
          drain: pump,
          chunk(_socket, data) {
            reply += decoder.decode(data, { stream: true });
          },
          ended(socket) {
            socket.end();
            resolve(JSON.parse(reply));
          },
          failed: reject,
        });
      });
    }),

  cycles: () =>
    measureCycles(params, () => {
      return new Promise<void>((resolve, reject) => {
        let echoed = 0;
        rawConnect({
          secure(socket) {
            socket.write(echoPayload);
          },
          chunk(socket, data) {
            echoed += data.byteLength;
            if (echoed === echoPayload.byteLength) socket.shutdown();
          },
          ended(socket) {
            socket.end();
            resolve();
          },
          failed: reject,
        });
      });
    }),

  close: () =>
    measureClose(params, () => {
      return new Promise((resolve, reject) => {
        let peerEnded: (() => void) | undefined;
        rawConnect({
          secure(socket) {
            socket.write(echoPayload.subarray(0, 1));
          },
          chunk(socket) {
            resolve({
              closeWrite: () =>
                new Promise<void>((ended) => {
                  peerEnded = ended;
                  socket.shutdown();
                }),
              release: () => socket.end(),
            });
          },
          ended() {
            peerEnded?.();
          },
          failed: reject,
        });
      });
    }),

  idle: () =>
    measureIdle(params, {
      open: () =>
        new Promise<Socket<Connection>>((resolve, reject) => {
          rawConnect({ secure: resolve, failed: reject });
        }),
      close: (socket: Socket<Connection>) => socket.end(),
      gc: collectGarbage,
    }),
};

const adapter = adapterMeasures(connect, { port, ca });
const run = impl === 'raw' ? raw[measure] : () => adapter[measure](params, collectGarbage);
console.log(JSON.stringify(await run()));
// Idle connections would keep the process alive.
process.exit(0);
