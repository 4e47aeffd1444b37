import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { type Relay, startRelay, summarize, type WireEvent } from '../peer/observer/index.ts';

const MiB = 1024 * 1024;

const tcpHandles = (kind = 'TCP'): number =>
  process.getActiveResourcesInfo().filter((resource) => resource.startsWith(kind)).length;

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/**
 * Closes a server and waits until libuv has released its handle: 'close' is emitted a tick after
 * close(), before the loop's close phase, which two nested setImmediate callbacks always follow.
 */
async function closeServer(server: net.Server): Promise<void> {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

/**
 * Settles on the socket's 'close' event, when its handle is released, whatever came before it
 * (events.once would reject on an 'error'). Call it before the socket can close.
 */
const closeOf = (socket: net.Socket): Promise<void> =>
  new Promise((resolve) => socket.once('close', () => resolve()));

/**
 * The error code a reset gave `socket` (allowHalfOpen), or, when it reported an end of stream instead,
 * what its next write gets: the code of the reset still waiting in the socket, or undefined after a FIN.
 */
function resetOrWritable(socket: net.Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    socket.once('end', () => {
      socket.write('y', (error?: NodeJS.ErrnoException | null) => resolve(error?.code));
    });
  });
}

/** Bytes the relay took from the client: non-TLS bytes are all counted as one garbage event. */
const garbageBytes = (events: WireEvent[]): number =>
  events.reduce((sum, event) => sum + (event.kind === 'garbage' ? event.bytes : 0), 0);

/** Resolves once `socket` has had no write completed for `quietMs` (a stall is an absence of events). */
function stalled(progress: { lastAt: number }, quietMs: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      const quietFor = performance.now() - progress.lastAt;
      if (quietFor >= quietMs) resolve();
      else setTimeout(check, quietMs - quietFor);
    };
    check();
  });
}

describe('relay', () => {
  it('propagates backpressure from a target that does not read, then forwards everything once it does', async () => {
    const targetSockets: net.Socket[] = [];
    const target = net.createServer((socket) => {
      socket.pause();
      targetSockets.push(socket);
    });
    const relay = await startRelay({ target: { host: '127.0.0.1', port: await listen(target) } });
    const client = await connect(relay.port);

    // One 1 MiB buffer written 64 times: the client's queue holds references, so any growth of
    // the process is the relay buffering, not our own data.
    const chunk = Buffer.alloc(MiB, 0x41);
    const total = 64 * MiB;
    const progress = { lastAt: performance.now(), completed: 0 };
    let drained = false;
    client.on('drain', () => {
      drained = true;
    });
    const rssBefore = process.memoryUsage().rss;
    for (let written = 0; written < total; written += chunk.length) {
      client.write(chunk, (error) => {
        if (error) return;
        progress.completed += chunk.length;
        progress.lastAt = performance.now();
      });
    }
    await stalled(progress, 300);

    const [connection] = relay.connections();
    const acceptedByRelay = garbageBytes(connection!.events());
    expect(progress.completed).toBeLessThan(total);
    expect(client.writableLength).toBeGreaterThan(0);
    expect(drained).toBe(false);
    // Without backpressure the relay would take nearly all 64 MiB; with it, it takes only what
    // its send buffer and the target's receive buffer hold.
    expect(acceptedByRelay).toBeLessThan(32 * MiB);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MiB);

    let targetReceived = 0;
    const targetSocket = targetSockets[0]!;
    targetSocket.on('data', (data: Buffer) => {
      targetReceived += data.length;
    });
    const targetEnded = once(targetSocket, 'end');
    targetSocket.resume();
    client.end();
    await targetEnded;
    expect(targetReceived).toBe(total);
    expect(progress.completed).toBe(total);
    await connection!.ended;
    const events = connection!.events();
    expect(summarize(events)).toBe(`c2s garbage(${total}) c2s fin s2c fin`);

    await relay.close();
    for (const socket of targetSockets) socket.destroy();
    await closeServer(target);
  });

  it('leaves no TCP handle behind after close(), whatever state its connections were in', async () => {
    const targetSockets: net.Socket[] = [];
    const targetSocketsClosed: Promise<void>[] = [];
    const target = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.pause();
      targetSockets.push(socket);
      targetSocketsClosed.push(closeOf(socket));
    });
    const targetPort = await listen(target);
    const handlesBefore = tcpHandles();
    const listenersBefore = tcpHandles('TCPServerWrap');

    const relay: Relay = await startRelay({ target: { host: '127.0.0.1', port: targetPort } });
    const idle = await connect(relay.port);
    const halfClosed = await connect(relay.port);
    halfClosed.end();
    const backlogged = await connect(relay.port);
    backlogged.write(Buffer.alloc(8 * MiB));
    const clients = [idle, halfClosed, backlogged];
    const clientsClosed = clients.map(closeOf);
    // Destroyed relay sockets may answer with a RST: that is the relay's to send, not a test failure.
    for (const client of clients) client.on('error', () => {});
    while (targetSockets.length < 3) await once(target, 'connection');

    await relay.close();
    expect(tcpHandles('TCPServerWrap'), 'listening handle released when close() resolves').toBe(
      listenersBefore,
    );
    expect(relay.connections()).toHaveLength(3);
    await Promise.all(clientsClosed);
    for (const socket of targetSockets) socket.destroy();
    await Promise.all(targetSocketsClosed);
    expect(tcpHandles()).toBe(handlesBefore);
    await closeServer(target);
  });

  it('passes on a RST that surfaces as EPIPE (a FIN first, then the RST) as a reset', async () => {
    const targetSockets: net.Socket[] = [];
    const target = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => {});
      targetSockets.push(socket);
      socket.end();
    });
    const relay = await startRelay({ target: { host: '127.0.0.1', port: await listen(target) } });
    const client = net.connect({ port: relay.port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await once(client, 'end');
    // The relay's upstream socket took the FIN, so Linux records the RST after it as EPIPE; the relay does
    // not read any more and meets the reset only when it forwards the client's next bytes.
    const targetSocket = targetSockets[0]!;
    const targetClosed = closeOf(targetSocket);
    targetSocket.resetAndDestroy();
    await targetClosed;
    const clientClosed = closeOf(client);
    client.write('x');
    const [connection] = relay.connections();
    await connection!.ended;
    const s2c = connection!.events().filter((event) => event.dir === 's2c');
    expect(summarize(s2c), summarize(connection!.events())).toBe('s2c fin s2c rst');
    // Reset, not closed: the client's very next write fails, where after a FIN it would go through.
    const written = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
      client.write('y', resolve),
    );
    expect(written?.code).toMatch(/^(ECONNRESET|EPIPE)$/);
    await clientClosed;
    await relay.close();
    await closeServer(target);
  });

  it.each(['s2c', 'c2s'] as const)(
    '%s: data with the RST right behind it is passed on as a reset, not a FIN (20 runs)',
    async (dir) => {
      // libuv reports such a read as an end of stream (POLLHUP after a short read), never as ECONNRESET.
      const targetSockets: net.Socket[] = [];
      const target = net.createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => {});
        socket.on('end', () => socket.end());
        targetSockets.push(socket);
        socket.resume();
        if (dir === 's2c') {
          socket.once('data', () => socket.write(Buffer.alloc(1000, 0x41), () => socket.resetAndDestroy()));
        }
      });
      const relay = await startRelay({ target: { host: '127.0.0.1', port: await listen(target) } });
      const summaries: string[] = [];
      const nextWrites: (string | undefined)[] = [];
      for (let run = 0; run < 20; run++) {
        const client = net.connect({ port: relay.port, host: '127.0.0.1', allowHalfOpen: true });
        client.on('error', () => {});
        client.resume();
        const clientClosed = closeOf(client);
        if (dir === 's2c') {
          client.write('x');
          nextWrites.push(await resetOrWritable(client));
          client.destroy();
        } else {
          client.write(Buffer.alloc(1000, 0x41), () => client.resetAndDestroy());
        }
        await clientClosed;
        const connection = relay.connections()[run]!;
        await connection.ended;
        summaries.push(summarize(connection.events().filter((event) => event.dir === dir)));
      }
      expect(summaries).toEqual(Array(20).fill(`${dir} garbage(1000) ${dir} rst`));
      if (dir === 's2c') expect(nextWrites.filter((code) => code !== 'ECONNRESET')).toEqual([]);
      await relay.close();
      for (const socket of targetSockets) socket.destroy();
      await closeServer(target);
    },
  );

  it('records nothing when the target refuses the connection, and closes the client', async () => {
    const unused = net.createServer();
    const port = await listen(unused);
    await closeServer(unused);
    const relay = await startRelay({ target: { host: '127.0.0.1', port } });
    const client = await connect(relay.port);
    client.on('error', () => {});
    client.resume();
    await closeOf(client);
    const [connection] = relay.connections();
    await connection!.ended;
    expect(connection!.events()).toEqual([]);
    await relay.close();
  });
});
