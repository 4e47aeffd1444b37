/**
 * The Node-stream bridge over real loopback TLS, as runtime-neutral cases: test/node (vitest),
 * test/bun (bun test) and test/deno (deno test) run every one of them. Each case throws on failure and
 * leaves no socket or server behind (checked after it through core's live counts).
 */
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import {
  createServer,
  type Server as NetServer,
  type Socket as NetSocket,
  connect as netConnect,
} from 'node:net';
import { liveResources } from '@closenotify/core';
import {
  type CloseReport,
  capabilities,
  connect,
  isSecureSocketError,
  listen,
  type SecureServer,
  type ShutdownableSecureSocket,
} from 'closenotify';
import { type SecureSocketDuplex, toNodeDuplex } from 'closenotify/node-stream';
import { readPki } from './serve-example.ts';

const MiB = 1024 * 1024;
/** What may sit between a writer and a slow reader: kernel socket buffers, the adapter's queue, the Duplex. */
const IN_FLIGHT_BOUND = 16 * MiB;
const TRANSFER = 64 * MiB;
const CASE_LIMIT_MS = 120_000;

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function deferred<T = void>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));

/** A server on loopback whose accepted sockets go to `serve`; `served` settles with what it returned. */
async function startServer<T>(
  serve: (socket: ShutdownableSecureSocket) => Promise<T>,
  options: { allowHalfOpen?: boolean } = {},
) {
  const pki = await readPki();
  let resolveServed: (value: Promise<T>) => void = () => {};
  const served = new Promise<T>((resolve) => {
    resolveServed = resolve;
  });
  served.catch(() => {});
  const server = await listen({ ...pki.server, ...options }, (socket) => {
    const result = serve(socket);
    result.catch(() => socket.abort());
    resolveServed(result);
  });
  const trust = capabilities.exclusiveCa ? { ca: pki.ca } : { ca: pki.ca, caAddsToDefaultTrust: true };
  const connectTo = (port = server.address.port) => connect({ hostname: 'localhost', port, ...trust });
  return { server, served, connectTo };
}

/** Everything a closenotify socket reads until its end of stream. */
async function readToEnd(socket: ShutdownableSecureSocket): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) chunks.push(chunk);
  return chunks;
}

/**
 * Everything a Duplex emits until 'end', through 'data' events; rejects with its 'error'. (A `for
 * await` loop would destroy the Duplex when it ends, as it does any Readable.)
 */
function duplexToEnd(duplex: SecureSocketDuplex): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    duplex.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    duplex.once('end', () => resolve(chunks));
    duplex.once('error', reject);
  });
}

/** Until the paused Duplex has data to read again; rejects if it fails or closes first. */
function readableAgain(duplex: SecureSocketDuplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown): void => {
      duplex.off('readable', onReadable).off('error', settle).off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReadable = () => settle();
    const onClose = () => settle(new Error('the Duplex closed while a reader waited for data'));
    duplex.on('readable', onReadable).on('error', settle).on('close', onClose);
  });
}

function events(duplex: SecureSocketDuplex) {
  const seen: string[] = [];
  for (const name of ['end', 'finish', 'close', 'error', 'timeout']) duplex.on(name, () => seen.push(name));
  return seen;
}

function cleanEnd(report: CloseReport, who: string): void {
  check(report.error === undefined, `${who}: the close report has an error: ${report.error?.code}`);
  check(report.closeNotifySent, `${who}: our close_notify was not sent`);
  // null is "this runtime cannot tell", never a false alarm.
  check(report.closeNotifyReceived !== false, `${who}: the peer's close_notify was not received`);
  check(report.truncated !== true, `${who}: the peer's stream was truncated`);
}

function hasCode(error: unknown, code: string): boolean {
  return isSecureSocketError(error) && error.code === code;
}

/** A plain TCP relay in front of `port`, whose `cut()` sends the client a bare FIN. */
async function startRelay(port: number) {
  const sockets = new Set<NetSocket>();
  const relay: NetServer = createServer((downstream) => {
    const upstream = netConnect(port, '127.0.0.1');
    sockets.add(downstream).add(upstream);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    for (const socket of [downstream, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    port: (relay.address() as { port: number }).port,
    /** Stops relaying: a FIN to both sides and nothing else, so no close_notify reaches either. */
    cut() {
      for (const socket of sockets) {
        socket.unpipe();
        socket.end();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      relay.close();
      await once(relay, 'close');
    },
  };
}

async function withServer<T>(server: SecureServer, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    await server.close();
  }
}

export const bridgeCases: Record<string, () => Promise<void>> = {
  async 'end() is shutdown(write), and end is the peer close_notify (client bridged)'() {
    const { server, served, connectTo } = await startServer(
      async (socket) => {
        const request = text(await readToEnd(socket));
        await socket.write(`pong:${request}`);
        return socket.close();
      },
      { allowHalfOpen: true },
    );
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const seen = events(duplex);
      const closeEvent = once(duplex, 'close');
      duplex.end('ping');
      const response = text(await duplexToEnd(duplex));
      await closeEvent;
      check(response === 'pong:ping', `response: ${JSON.stringify(response)}`);
      check(socket.state === 'closed', `'close' came before the socket closed (state ${socket.state})`);
      check(seen.join() === 'finish,end,close', `events: ${seen.join()}`);
      cleanEnd(await socket.closed, 'client');
      cleanEnd(await served, 'server');
    });
  },

  async 'the accepted socket bridged: end is the client close_notify, end() answers it'() {
    let serverEvents: string[] = [];
    const { server, served, connectTo } = await startServer(
      async (socket) => {
        const duplex = toNodeDuplex(socket, { allowHalfOpen: true });
        serverEvents = events(duplex);
        const closeEvent = once(duplex, 'close');
        const request = text(await duplexToEnd(duplex));
        duplex.end(`pong:${request}`);
        await closeEvent;
        return socket.closed;
      },
      { allowHalfOpen: true },
    );
    await withServer(server, async () => {
      const socket = await connectTo();
      await socket.write('ping');
      await socket.shutdown('write');
      const response = text(await readToEnd(socket));
      check(response === 'pong:ping', `response: ${JSON.stringify(response)}`);
      cleanEnd(await socket.close(), 'client');
      cleanEnd(await served, 'server');
      check(serverEvents.join() === 'end,finish,close', `server events: ${serverEvents.join()}`);
    });
  },

  async 'the peer ends first: end, and end() follows it without losing buffered writes'() {
    const { server, served, connectTo } = await startServer(
      async (socket) => {
        await socket.write('hello');
        await socket.shutdown('write');
        const got = text(await readToEnd(socket));
        return { got, report: await socket.close() };
      },
      { allowHalfOpen: true },
    );
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const seen = events(duplex);
      const closeEvent = once(duplex, 'close');
      const got = text(await duplexToEnd(duplex));
      await closeEvent;
      check(got === 'hello', `client got ${JSON.stringify(got)}`);
      check(seen.join() === 'end,finish,close', `events: ${seen.join()}`);
      const report = await socket.closed;
      cleanEnd(report, 'client');
      check(report.initiator === 'peer', `initiator ${report.initiator}`);
      const result = await served;
      check(result.got === '', `the server read ${JSON.stringify(result.got)}`);
      cleanEnd(result.report, 'server');
    });
  },

  async 'a for-await loop ending at the peer close_notify destroys the Duplex into a clean close'() {
    const { server, served, connectTo } = await startServer(
      async (socket) => {
        await socket.write('hello');
        await socket.shutdown('write');
        const got = text(await readToEnd(socket));
        return { got, report: await socket.close() };
      },
      { allowHalfOpen: true },
    );
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      const chunks: Uint8Array[] = [];
      // The loop calls destroy() once it has seen 'end', before the Duplex's own end() could run.
      for await (const chunk of duplex) chunks.push(chunk as Uint8Array);
      await closeEvent;
      check(text(chunks) === 'hello', `client got ${JSON.stringify(text(chunks))}`);
      const report = await socket.closed;
      cleanEnd(report, 'client');
      check(report.initiator === 'peer', `initiator ${report.initiator}`);
      const result = await served;
      cleanEnd(result.report, 'server');
    });
  },

  async 'a truncation destroys the Duplex with ERR_TLS_TRUNCATED'() {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { server, served, connectTo } = await startServer(async (socket) => {
      await socket.write('partial');
      await released;
      socket.abort();
      return socket.closed;
    });
    const relay = await startRelay(server.address.port);
    try {
      await withServer(server, async () => {
        const socket = await connectTo(relay.port);
        const duplex = toNodeDuplex(socket);
        const failed = once(duplex, 'error').then(([error]) => error as unknown);
        const closeEvent = new Promise((resolve) => duplex.once('close', resolve));
        const [first] = (await once(duplex, 'data')) as [Uint8Array];
        check(text([first]) === 'partial', `first chunk ${JSON.stringify(text([first]))}`);
        relay.cut();
        const error = await failed;
        await closeEvent;
        check(capabilities.truncationDetection, 'every adapter detects truncation');
        check(hasCode(error, 'ERR_TLS_TRUNCATED'), `'error' ${String(error)}, not ERR_TLS_TRUNCATED`);
        const report = await socket.closed;
        check(report.truncated === true, `report.truncated ${report.truncated}`);
        check(report.error?.code === 'ERR_TLS_TRUNCATED', `report.error ${report.error?.code}`);
        release();
        await served;
      });
    } finally {
      release();
      await relay.close();
    }
  },

  async 'destroy(error) aborts: the peer sees a reset, never a clean end'() {
    // Destroying before the server has the connection would race its handshake: wait for its first read.
    const firstRead = deferred();
    const { server, served, connectTo } = await startServer(async (socket) => {
      const first = await socket.read();
      firstRead.resolve();
      const rest = await socket.read().then(
        (chunk) => ({ chunk }),
        (error: unknown) => ({ error }),
      );
      return { first, rest, report: await socket.closed };
    });
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const failed = once(duplex, 'error').catch((error: unknown) => [error]);
      const closeEvent = new Promise((resolve) => duplex.once('close', resolve));
      duplex.write('x');
      await firstRead.promise;
      const boom = new Error('boom');
      duplex.destroy(boom);
      const [emitted] = await failed;
      await closeEvent;
      check(emitted === boom, `'error' was ${String(emitted)}, not the destroy() error`);
      const report = await socket.closed;
      check(report.initiator === 'abort', `initiator ${report.initiator}`);
      check(!report.closeNotifySent, 'close_notify was sent for an aborted stream');
      check(report.error?.code === 'ERR_ABORTED', `report.error ${report.error?.code}`);
      check(report.error?.cause === boom, 'report.error.cause is not the destroy() error');
      const peer = await served;
      if (capabilities.abortiveReset) {
        check(
          'error' in peer.rest && hasCode(peer.rest.error, 'ERR_CONNECTION_RESET'),
          `the peer read ${JSON.stringify(peer.rest)}`,
        );
        check(peer.report.closeNotifyReceived === false, 'the peer saw a close_notify');
      }
    });
  },

  async 'destroy() before end() finished aborts; after it, destroy() is a bounded clean close'() {
    const firstRead = deferred();
    const { server, served, connectTo } = await startServer(async (socket) => {
      const first = await socket.read();
      firstRead.resolve();
      const rest = await socket.read().catch(() => null);
      return { first, rest, report: await socket.close() };
    });
    await withServer(server, async () => {
      // Mid-stream: nothing says the data is complete, so no close_notify goes out.
      const torn = await connectTo();
      const tornDuplex = toNodeDuplex(torn);
      const tornClosed = once(tornDuplex, 'close');
      tornDuplex.write('half');
      await firstRead.promise;
      tornDuplex.destroy();
      await tornClosed;
      const tornReport = await torn.closed;
      check(tornReport.initiator === 'abort', `mid-stream destroy(): initiator ${tornReport.initiator}`);
      check(!tornReport.closeNotifySent, 'mid-stream destroy() sent close_notify');
      const tornPeer = await served;
      check(tornPeer.rest === null, 'the peer got more than the first write');
      if (capabilities.abortiveReset) {
        check(
          tornPeer.report.closeNotifyReceived === false,
          'the peer took a torn-down stream for a complete one',
        );
      }
    });
    const second = await startServer(async (socket) => {
      const got = text(await readToEnd(socket));
      return { got, report: await socket.close() };
    });
    await withServer(second.server, async () => {
      const socket = await second.connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      duplex.end('whole');
      await once(duplex, 'finish');
      duplex.destroy();
      await closeEvent;
      const report = await socket.closed;
      check(report.error === undefined, `destroy() after finish: ${report.error?.code}`);
      check(report.closeNotifySent, 'destroy() after finish: close_notify not sent');
      const peer = await second.served;
      check(peer.got === 'whole', `the peer got ${JSON.stringify(peer.got)}`);
      cleanEnd(peer.report, 'server');
    });
  },

  async "a write callback runs once the bytes are taken: the buffer is the caller's again"() {
    const rounds = 64;
    const size = 64 * 1024;
    const { server, served, connectTo } = await startServer(async (socket) => {
      const received = Buffer.concat(await readToEnd(socket));
      await socket.close();
      return received;
    });
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      duplex.resume();
      const buffer = Buffer.alloc(size);
      for (let round = 0; round < rounds; round += 1) {
        buffer.fill(round);
        await new Promise<void>((resolve, reject) =>
          duplex.write(buffer, (error) => (error ? reject(error) : resolve())),
        );
      }
      buffer.fill(0xff);
      duplex.end();
      await closeEvent;
      const received = await served;
      check(received.byteLength === rounds * size, `received ${received.byteLength} bytes`);
      for (let round = 0; round < rounds; round += 1) {
        const slice = received.subarray(round * size, (round + 1) * size);
        check(
          slice.every((byte) => byte === round),
          `round ${round} arrived overwritten`,
        );
      }
    });
  },

  async 'backpressure, writing: 64 MiB to a slow reader stays bounded in memory'() {
    let consumed = 0;
    const { server, served, connectTo } = await startServer(async (socket) => {
      let sinceSleep = 0;
      for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) {
        consumed += chunk.byteLength;
        sinceSleep += chunk.byteLength;
        if (sinceSleep >= 64 * 1024) {
          sinceSleep = 0;
          await sleep(2);
        }
      }
      return socket.close();
    });
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      duplex.resume();
      const chunk = Buffer.alloc(64 * 1024, 1);
      let accepted = 0;
      let widest = 0;
      let deepest = 0;
      for (let sent = 0; sent < TRANSFER; sent += chunk.byteLength) {
        const more = duplex.write(chunk, () => {
          accepted += chunk.byteLength;
          widest = Math.max(widest, accepted - consumed);
        });
        deepest = Math.max(deepest, duplex.writableLength);
        if (!more) await once(duplex, 'drain');
      }
      duplex.end();
      await closeEvent;
      const peerReport = await served;
      const ownReport = await socket.closed;
      check(accepted === TRANSFER, `${accepted} bytes accepted`);
      // Not before `served`: the peer answers our close_notify while its reader still has data queued.
      check(consumed === TRANSFER, `${consumed} bytes read by the peer`);
      cleanEnd(ownReport, 'client');
      cleanEnd(peerReport, 'server');
      check(widest <= IN_FLIGHT_BOUND, `${widest} bytes accepted ahead of the reader`);
      check(
        deepest <= duplex.writableHighWaterMark + chunk.byteLength,
        `${deepest} bytes buffered in the Duplex`,
      );
    });
  },

  async 'backpressure, reading: 64 MiB from a fast peer to a slow Duplex reader stays bounded'() {
    let accepted = 0;
    const { server, served, connectTo } = await startServer(async (socket) => {
      const chunk = new Uint8Array(64 * 1024).fill(2);
      for (let sent = 0; sent < TRANSFER; sent += chunk.byteLength) {
        await socket.write(chunk);
        accepted += chunk.byteLength;
      }
      const rest = await readToEnd(socket);
      check(rest.length === 0, 'the server got data');
      return socket.close();
    });
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      let consumed = 0;
      let widest = 0;
      let deepest = 0;
      let sinceSleep = 0;
      while (consumed < TRANSFER) {
        const chunk = duplex.read() as Uint8Array | null;
        if (chunk === null) {
          await readableAgain(duplex);
          continue;
        }
        consumed += chunk.byteLength;
        widest = Math.max(widest, accepted - consumed);
        deepest = Math.max(deepest, duplex.readableLength);
        sinceSleep += chunk.byteLength;
        if (sinceSleep >= 64 * 1024) {
          sinceSleep = 0;
          await sleep(2);
        }
      }
      // We end first: the bound is what is measured here, not the ending under backpressure.
      duplex.end();
      check((await duplexToEnd(duplex)).length === 0, 'data after the 64 MiB');
      await closeEvent;
      check(consumed === TRANSFER, `${consumed} bytes read`);
      check(widest <= IN_FLIGHT_BOUND, `the peer got ${widest} bytes ahead of the reader`);
      check(deepest <= duplex.readableHighWaterMark + MiB, `${deepest} bytes buffered in the Duplex`);
      cleanEnd(await socket.closed, 'client');
      cleanEnd(await served, 'server');
    });
  },

  async 'setTimeout emits timeout after inactivity and closes nothing; bad delays and options are ERR_INVALID_OPTION'() {
    const { server, served, connectTo } = await startServer(async (socket) => {
      await readToEnd(socket);
      return socket.close();
    });
    await withServer(server, async () => {
      const socket = await connectTo();
      const duplex = toNodeDuplex(socket);
      const closeEvent = once(duplex, 'close');
      duplex.resume();
      let thrown: unknown;
      try {
        duplex.setTimeout(-1);
      } catch (error) {
        thrown = error;
      }
      check(hasCode(thrown, 'ERR_INVALID_OPTION'), `setTimeout(-1) threw ${String(thrown)}`);
      for (const options of [{ highWaterMark: -1 }, { allowHalfOpen: 'yes' }, { idleTimeout: 5 }]) {
        let refused: unknown;
        try {
          toNodeDuplex(socket, options as never);
        } catch (error) {
          refused = error;
        }
        check(hasCode(refused, 'ERR_INVALID_OPTION'), `${JSON.stringify(options)}: threw ${String(refused)}`);
      }
      await new Promise<void>((resolve) => duplex.setTimeout(20, resolve));
      check(socket.state === 'open' && !duplex.destroyed, `after 'timeout': state ${socket.state}`);
      duplex.setTimeout(0);
      check(duplex.setNoDelay(true) === duplex && duplex.setKeepAlive(true) === duplex, 'setters chain');
      check(duplex.ref() === duplex && duplex.unref() === duplex, 'ref/unref chain');
      check(duplex.remotePort === server.address.port, `remotePort ${duplex.remotePort}`);
      duplex.end();
      await closeEvent;
      cleanEnd(await socket.closed, 'client');
      cleanEnd(await served, 'server');
    });
  },
};

/** Not a case of its own in the catalogue above: it needs no socket. */
export function refusesBadInput(): void {
  const attempts: Array<[string, () => unknown]> = [
    ['no socket', () => toNodeDuplex(undefined as never)],
    ['a plain object', () => toNodeDuplex({} as never)],
  ];
  for (const [what, attempt] of attempts) {
    let thrown: unknown;
    try {
      attempt();
    } catch (error) {
      thrown = error;
    }
    check(hasCode(thrown, 'ERR_INVALID_OPTION'), `${what}: threw ${String(thrown)}`);
  }
}

/** Runs one case within a bound, then checks that it left no socket or server open. */
export async function runBridgeCase(name: string): Promise<void> {
  const run = bridgeCases[name];
  if (run === undefined) throw new Error(`no bridge case ${name}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: still running after ${CASE_LIMIT_MS} ms`)),
      CASE_LIMIT_MS,
    );
  });
  try {
    await Promise.race([run(), limit]);
  } finally {
    clearTimeout(timer);
  }
  const live = liveResources();
  check(live.sockets === 0 && live.servers === 0, `${name} left ${JSON.stringify(live)} open`);
}
