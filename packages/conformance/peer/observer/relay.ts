/**
 * The loopback relay: every accepted socket gets its own upstream connection to the target, and
 * bytes, FIN and RST are passed on faithfully in both directions while the decoder watches.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConnectionDecoder } from './decoder.ts';
import type { Direction, ObservedConnection, Relay, WireEvent } from './index.ts';
import { KeylogStore } from './keylog.ts';

export async function startRelay(options: {
  target: { host: string; port: number };
  /** STARTTLS: each direction is plaintext until its first TLS handshake record. */
  plaintextFirst?: boolean;
}): Promise<Relay> {
  const { target, plaintextFirst = false } = options;
  const keylog = new KeylogStore();
  const connections: ObservedConnection[] = [];
  const sockets = new Set<net.Socket>();
  let closing = false;

  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    if (closing) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    track(upstream);
    connections.push(observeConnection(connections.length + 1, client, upstream, keylog, plaintextFirst));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    keylog: (line) => keylog.add(line),
    connections: () => [...connections],
    close: async () => {
      closing = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Every socket still in the set has its 'close' to come: the handle is only released then.
      const socketsClosed = [...sockets].map(
        (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
      );
      for (const socket of sockets) socket.destroy();
      await Promise.all([serverClosed, ...socketsClosed]);
      await closePhasePassed();
    },
  };
}

/**
 * net.Server emits 'close' on the tick after close(), before libuv runs the listening handle's close
 * callback in the close phase of the loop; the second of two nested setImmediate callbacks always
 * runs after that phase.
 */
function closePhasePassed(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function observeConnection(
  id: number,
  client: net.Socket,
  upstream: net.Socket,
  keylog: KeylogStore,
  plaintextFirst: boolean,
): ObservedConnection {
  const decoder = new ConnectionDecoder(keylog, { plaintextFirst });
  const endedDirections = new Set<Direction>();
  let resolveEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  const directionEnded = (dir: Direction): void => {
    endedDirections.add(dir);
    if (endedDirections.size === 2) resolveEnded();
  };
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  forward('c2s', client, upstream, decoder, directionEnded);
  forward('s2c', upstream, client, decoder, directionEnded);
  return { id, ended, events: (): WireEvent[] => decoder.events() };
}

/**
 * How a RST from the far side of a relay socket can surface in Node: ECONNRESET on a read or a write, or
 * EPIPE on a write once the reset has been taken in another way (or after a FIN, when Linux records the
 * reset as EPIPE). Any other error is our own or the network's, not the peer's.
 */
const RESET_CODES: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE']);

const NOTHING = Buffer.alloc(0);

/** Copies `source` to `destination` with backpressure, and passes on its FIN or RST. */
function forward(
  dir: Direction,
  source: net.Socket,
  destination: net.Socket,
  decoder: ConnectionDecoder,
  directionEnded: (dir: Direction) => void,
): void {
  let reset = false;
  source.on('data', (chunk: Buffer) => {
    const at = performance.now();
    // A destination that does not read must stall the source, not grow our buffer.
    if (!destination.write(chunk)) source.pause();
    decoder.receive(dir, chunk, at);
  });
  destination.on('drain', () => source.resume());
  source.on('end', () => {
    const passOnFin = (): void => {
      if (reset) return;
      decoder.end(dir, 'fin', performance.now());
      directionEnded(dir);
      // Queued after every chunk already written, so the FIN follows the data.
      destination.end();
    };
    // libuv reports a read that returns data with the RST right behind it (POLLHUP) as an end of stream,
    // leaving the ECONNRESET unread in the socket. A zero-length write to the source takes it: it fails on
    // a reset socket and sends nothing on one that got a FIN. Its error arrives before the check phase:
    // on the next tick when the write is made at once, or, with writes still queued, from the same poll
    // callback as this end, where libuv writes into the reset socket too. Once our own FIN has gone to the
    // source it cannot be written to any more, and an end is taken at its word.
    if (source.writableEnded || source.destroyed) {
      passOnFin();
      return;
    }
    source.write(NOTHING);
    setImmediate(passOnFin);
  });
  source.on('error', (error: NodeJS.ErrnoException) => {
    if (RESET_CODES.has(error.code)) {
      reset = true;
      decoder.end(dir, 'rst', performance.now());
      if (!destination.destroyed) destination.resetAndDestroy();
    } else {
      destination.destroy();
    }
  });
  source.on('close', () => {
    decoder.end(dir, 'close', performance.now());
    directionEnded(dir);
  });
}
