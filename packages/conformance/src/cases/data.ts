import type { ShutdownableSecureSocket } from '@closenotify/core';
import { check, equal, readBytes, readToEnd, valueWithin } from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import { type PeerHandle, pseudoRandomBytes, type Step, sha256Hex } from '../peer-client.ts';

const MIB = 1024 * 1024;

/**
 * Mixed sizes, small and large, so some writes land while an earlier one is still being taken by
 * the runtime (that is when a runtime that keeps a reference to the chunk would send altered bytes).
 */
const POOLED_WRITE_SIZES = [100, 16384, 300, 1000, 100, 4096, 200, 700, 2500, 150, 8000, 400];
const POOLED_WRITES = 1800;

/** The peer reads nothing until told to, so one of the writes has to wait for the runtime to take it. */
const STALLING_READER = [
  { op: 'stopReading' },
  { op: 'wait', signal: 'resume' },
  { op: 'resumeReading' },
  { op: 'readUntilEnd' },
  { op: 'closeNotify' },
] satisfies Step[];

/** How long a write may stay pending before the stalled peer is told to read again (no timing is asserted). */
const STALL_MS = 200;

/** Whether `write` settles within `ms`; its timer never outlives it. */
async function settlesWithin(write: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([write.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A driver with one pooled buffer: it refills the buffer with the next part of the stream before
 * every write, half through write() and half through a `writable` writer, then ends with close_notify.
 * The peer (STALLING_READER) reads nothing at first, so the runtime also has to keep a chunk it could
 * not take at once. The peer's sha256 must be that of the stream meant, not of the buffer's later contents.
 */
async function writeFromReusedBuffer(
  socket: ShutdownableSecureSocket,
  peer: PeerHandle,
  ctx: CaseContext,
): Promise<void> {
  const sizes = Array.from(
    { length: POOLED_WRITES },
    (_, i) => POOLED_WRITE_SIZES[i % POOLED_WRITE_SIZES.length]!,
  );
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const meant = pseudoRandomBytes(total, 23);
  const pool = new Uint8Array(Math.max(...POOLED_WRITE_SIZES));
  let offset = 0;
  let stalled = false;
  const send = async (write: (chunk: Uint8Array) => Promise<void>, size: number): Promise<void> => {
    pool.set(meant.subarray(offset, offset + size));
    offset += size;
    const written = write(pool.subarray(0, size));
    if (!stalled && !(await settlesWithin(written, STALL_MS))) {
      stalled = true;
      ctx.note(`a write waited for the stalled peer after ${offset} bytes`);
      await peer.signal('resume');
    }
    await written;
  };
  const half = POOLED_WRITES / 2;
  for (const size of sizes.slice(0, half)) await send((chunk) => socket.write(chunk), size);
  const writer = socket.writable.getWriter();
  for (const size of sizes.slice(half)) await send((chunk) => writer.write(chunk), size);
  if (!stalled) await peer.signal('resume');
  await writer.close();
  ctx.note(`${total} bytes written, the second half through writable`);
  const report = await peer.whenDone(30_000);
  equal(report.received.bytes, total, 'bytes the peer received');
  equal(report.received.sha256, await sha256Hex(meant), 'sha256 of what the peer received');
  await socket.closed;
}

/** Each receiver's peer: its own stream, then it reads to our close_notify and answers with its own. */
const RECEIVED_STREAM_BYTES = 4 * MIB;
const sendingPeer = (seed: number): Step[] => [
  { op: 'send', bytes: RECEIVED_STREAM_BYTES, seed },
  { op: 'readUntilEnd' },
  { op: 'closeNotify' },
];

/** Reads `count` bytes through read(into) with one buffer reused for every read, keeping a copy. */
async function readBytesInto(socket: ShutdownableSecureSocket, count: number): Promise<Uint8Array> {
  const all = new Uint8Array(count);
  const into = new Uint8Array(64 * 1024);
  let bytes = 0;
  while (bytes < count) {
    const view = await socket.read(into.subarray(0, Math.min(into.byteLength, count - bytes)));
    check(view !== null, `the stream ended after ${bytes} of ${count} bytes`);
    all.set(view, bytes);
    bytes += view.byteLength;
  }
  return all;
}

/**
 * Two sockets of one process receive at once: the first is read to its end (through read(into), one
 * reused buffer) while nobody reads the second, whose bytes wait meanwhile; then the second is read.
 * A runtime that decrypts every connection into one shared buffer must copy what waits.
 */
async function receiveOneWhileOtherWaits(
  sockets: [ShutdownableSecureSocket, ShutdownableSecureSocket],
  expected: (socket: ShutdownableSecureSocket, received: Uint8Array) => Promise<void>,
): Promise<void> {
  const [first, second] = sockets;
  await expected(first, await readBytesInto(first, RECEIVED_STREAM_BYTES));
  await expected(second, await readBytes(second, RECEIVED_STREAM_BYTES));
  for (const socket of sockets) {
    await socket.shutdown('write');
    equal((await readToEnd(socket)).bytes, 0, 'bytes after the stream');
    equal((await socket.closed).closeNotifyReceived, true, 'close_notify received');
  }
}

export const dataCases: ConformanceCase[] = [
  {
    id: 'data.reused-buffer',
    requirement:
      "once write() resolves the buffer is the caller's again: refilling one pooled buffer between writes sends exactly what each write was given",
    source: 'contract v2 (caller-owned write buffers); a driver that pools its write buffer',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: STALLING_READER,
      });
      const socket = await ctx.connect(peer);
      await writeFromReusedBuffer(socket, peer, ctx);
    },
  },
  {
    id: 'server.data.reused-buffer',
    requirement: 'an accepted socket gives the caller its buffer back once write() resolves, like a client',
    source: 'contract v2 (caller-owned write buffers)',
    tls: 'any',
    timeoutMs: 60_000,
    requires: ['server'],
    async run(ctx) {
      const { server, next } = await ctx.listen();
      const peer = await ctx.peer({
        role: 'client',
        connect: { port: server.address.port },
        observe: false,
        steps: STALLING_READER,
      });
      await writeFromReusedBuffer(await next(), peer, ctx);
    },
  },
  {
    id: 'data.sha256-16mib',
    requirement: '16 MiB of random bytes each way arrive intact (sha256)',
    source: 'spec §3 invariant 1',
    tls: 'each',
    timeoutMs: 60_000,
    async run(ctx) {
      const size = 16 * MIB;
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'read', bytes: size },
          { op: 'send', bytes: size, seed: 7 },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer);
      const outbound = pseudoRandomBytes(size, 11);
      for (let offset = 0; offset < size; offset += 65536)
        await socket.write(outbound.subarray(offset, offset + 65536));
      const inbound = await readBytes(socket, size);
      await socket.shutdown('write');
      equal((await readToEnd(socket)).bytes, 0, 'bytes after the 16 MiB');
      equal(await sha256Hex(inbound), await sha256Hex(pseudoRandomBytes(size, 7)), 'sha256 of what we read');
      const report = await peer.whenDone();
      equal(report.received.bytes, size, 'bytes the peer received');
      equal(report.received.sha256, await sha256Hex(outbound), 'sha256 of what the peer received');
      await socket.closed;
    },
  },
  {
    id: 'data.concurrent-receivers',
    requirement:
      'two sockets receiving at once each get exactly their own stream, also while one of them is not read',
    source: 'spec §3 invariant 1; a runtime that reads every connection into one shared buffer',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peers = [
        await ctx.peer({ role: 'server', observe: false, steps: sendingPeer(41) }),
        await ctx.peer({ role: 'server', observe: false, steps: sendingPeer(43) }),
      ];
      const sockets: [ShutdownableSecureSocket, ShutdownableSecureSocket] = [
        await ctx.connect(peers[0]!),
        await ctx.connect(peers[1]!),
      ];
      await receiveOneWhileOtherWaits(sockets, async (socket, received) => {
        const seed = socket === sockets[0] ? 41 : 43;
        equal(
          await sha256Hex(received),
          await sha256Hex(pseudoRandomBytes(RECEIVED_STREAM_BYTES, seed)),
          `sha256 of the stream sent with seed ${seed}`,
        );
      });
      for (const peer of peers) await peer.whenDone();
    },
  },
  {
    id: 'server.data.concurrent-receivers',
    requirement:
      'two accepted sockets receiving at once each get exactly their own stream, also while one of them is not read',
    source: 'spec §3 invariant 1; a runtime that reads every connection into one shared buffer',
    tls: 'any',
    timeoutMs: 60_000,
    requires: ['server'],
    async run(ctx) {
      const { server, next } = await ctx.listen();
      const connect = { port: server.address.port };
      const peers = [
        await ctx.peer({ role: 'client', connect, observe: false, steps: sendingPeer(41) }),
        await ctx.peer({ role: 'client', connect, observe: false, steps: sendingPeer(43) }),
      ];
      const sockets: [ShutdownableSecureSocket, ShutdownableSecureSocket] = [await next(), await next()];
      // Which client was accepted first is the network's choice: each stream must be one of the two, once.
      const streams = new Map([41, 43].map((seed) => [seed, pseudoRandomBytes(RECEIVED_STREAM_BYTES, seed)]));
      const expectedHashes = new Map<string, number>();
      for (const [seed, stream] of streams) expectedHashes.set(await sha256Hex(stream), seed);
      await receiveOneWhileOtherWaits(sockets, async (_socket, received) => {
        const hash = await sha256Hex(received);
        check(
          expectedHashes.delete(hash),
          `a stream that is neither client's, or one client's twice (${hash})`,
        );
      });
      for (const peer of peers) await peer.whenDone();
    },
  },
  {
    id: 'data.small-writes-in-order',
    requirement: '10,000 small writes issued without waiting arrive complete and in order',
    source: 'spec §3 invariant 1 (write queue)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer);
      const encoder = new TextEncoder();
      const writes: Promise<void>[] = [];
      let expected = '';
      for (let i = 0; i < 10_000; i += 1) {
        const line = `${String(i).padStart(6, '0')}\n`;
        expected += line;
        writes.push(socket.write(encoder.encode(line)));
      }
      await Promise.all(writes);
      await socket.shutdown('write');
      await socket.closed;
      const report = await peer.whenDone();
      equal(report.received.bytes, 70_000, 'bytes received');
      equal(report.received.sha256, await sha256Hex(encoder.encode(expected)), 'sha256 in order');
    },
  },
  {
    id: 'data.peer-stops-reading',
    requirement:
      'against a peer that stops reading, write() stays pending (backpressure) instead of buffering without bound',
    source: 'spec §2 write(): resolves when the runtime accepted the bytes',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'stopReading' },
          { op: 'wait', signal: 'resume' },
          { op: 'resumeReading' },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer);
      const chunk = new Uint8Array(65536).fill(1);
      const limit = 64 * MIB;
      let written = 0;
      let pending: Promise<void> | undefined;
      while (written < limit) {
        const write = socket.write(chunk);
        const settled =
          (await valueWithin(
            write.then(() => true),
            500,
          )) ?? false;
        written += chunk.byteLength;
        if (!settled) {
          pending = write;
          break;
        }
      }
      ctx.note(`a write stayed pending after ${written} bytes`);
      check(pending, `every write resolved: ${written} bytes accepted while the peer read nothing`);
      await peer.signal('resume');
      await pending;
      await socket.shutdown('write');
      await socket.closed;
      equal((await peer.whenDone()).received.bytes, written, 'bytes the peer received once it read again');
    },
  },
];
