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
