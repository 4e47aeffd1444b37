/**
 * Reading into the caller's buffer: `read(into)` and `readable` as a byte stream read through a BYOB
 * reader. Every case runs with our socket as the client and as the server.
 */
import type { ShutdownableSecureSocket } from '@closenotify/core';
import { CaseFailure, check, concat, delay, equal, rejectsWith } from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import { type PeerHandle, pseudoRandomBytes, type Step, sha256Hex } from '../peer-client.ts';

type Role = 'client' | 'server';

/** Small peer writes, so records end at many places the reads do not. */
const RECORD_BYTES = 1000;
/** Read sizes 1, 2, 3, ... up to this, then from 1 again: each size meets many record boundaries. */
const LARGEST_READ = 3000;
/** Every read size once, and then some: 1 + 2 + ... + 3000 bytes. */
const STREAM_BYTES = (LARGEST_READ * (LARGEST_READ + 1)) / 2 + 777;
const SEED = 41;

const MIB = 1024 * 1024;
/** More than the loopback windows and the runtime hold: a peer sending this to a slow reader is held. */
const HELD_BYTES = 16 * MIB;
const NOT_READING_PAUSE_MS = 500;

/** Our socket in `role`, and the peer in the other role running `steps`. */
async function against(
  ctx: CaseContext,
  role: Role,
  steps: Step[],
): Promise<{ peer: PeerHandle; socket: ShutdownableSecureSocket }> {
  if (role === 'client') {
    const peer = await ctx.peer({ role: 'server', observe: false, steps });
    return { peer, socket: await ctx.connect(peer) };
  }
  const { server, next } = await ctx.listen();
  const peer = await ctx.peer({
    role: 'client',
    connect: { port: server.address.port },
    observe: false,
    steps,
  });
  return { peer, socket: await next() };
}

/** The next read size: 1, 2, ... LARGEST_READ, 1, 2, ... */
function nextSize(size: number): number {
  return size >= LARGEST_READ ? 1 : size + 1;
}

/** `value` is a view of `into` from its first byte, 1..into.byteLength long. */
function checkViewOf(value: Uint8Array, into: Uint8Array, what: string): void {
  check(value.buffer === into.buffer, `${what}: not a view of the buffer passed in`);
  equal(value.byteOffset, into.byteOffset, `${what}: byteOffset`);
  check(
    value.byteLength >= 1 && value.byteLength <= into.byteLength,
    `${what}: ${value.byteLength} bytes filled of a ${into.byteLength}-byte buffer`,
  );
}

/** Reads with read(into) to the end, sizes 1, 2, 3, ..., each buffer a fresh one at an odd offset. */
async function readIntoToEnd(socket: ShutdownableSecureSocket): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let size = 1; ; size = nextSize(size)) {
    // A view into the middle of a larger buffer: the bytes around it must stay untouched.
    const backing = new Uint8Array(size + 2).fill(0xee);
    const into = backing.subarray(1, size + 1);
    const value = await socket.read(into);
    if (value === null) break;
    checkViewOf(value, into, `read(into) of ${size} bytes`);
    check(backing[0] === 0xee && backing[size + 1] === 0xee, `read(into) of ${size} bytes wrote outside it`);
    chunks.push(value);
    total += value.byteLength;
  }
  return concat(chunks, total);
}

/** Reads through a BYOB reader to done, sizes 1, 2, 3, ..., reusing each result's buffer once it fits. */
async function readByobToEnd(socket: ShutdownableSecureSocket): Promise<Uint8Array> {
  const reader = socket.readable.getReader({ mode: 'byob' });
  const chunks: Uint8Array[] = [];
  let total = 0;
  let buffer = new ArrayBuffer(LARGEST_READ);
  for (let size = 1; ; size = nextSize(size)) {
    const { done, value } = await reader.read(new Uint8Array(buffer, 0, size));
    if (done) {
      // At the end the stream hands the last buffer back, empty.
      check(value === undefined || value.byteLength === 0, 'the final (done) read carries bytes');
      break;
    }
    check(
      value.byteLength >= 1 && value.byteLength <= size,
      `a BYOB read of ${size} gave ${value.byteLength}`,
    );
    chunks.push(value.slice());
    total += value.byteLength;
    // The stream transferred the buffer passed in; its result's buffer is the one to reuse.
    buffer = value.buffer as ArrayBuffer;
  }
  reader.releaseLock();
  return concat(chunks, total);
}

/** Reads exactly `count` bytes with read(into), in `size`-byte buffers. */
async function readIntoExactly(
  socket: ShutdownableSecureSocket,
  count: number,
  size: number,
): Promise<Uint8Array> {
  const all = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const value = await socket.read(all.subarray(filled, Math.min(count, filled + size)));
    if (value === null) throw new CaseFailure(`the stream ended after ${filled} of ${count} bytes`);
    filled += value.byteLength;
  }
  return all;
}

async function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): Promise<void> {
  equal(actual.byteLength, expected.byteLength, `${what}: bytes`);
  equal(await sha256Hex(actual), await sha256Hex(expected), `${what}: sha256`);
}

/**
 * A BYOB read waits, its reader is released, then the peer sends: either while a default reader
 * already waits, or before one asks (the bytes are then already queued when it does).
 */
async function releasedWhilePending(
  ctx: CaseContext,
  role: Role,
  order: 'reader first' | 'data first',
): Promise<void> {
  const text = 'after the release';
  const { peer, socket } = await against(ctx, role, [
    { op: 'wait', signal: 'send' },
    { op: 'sendText', text },
    { op: 'closeNotify' },
  ]);
  const byob = socket.readable.getReader({ mode: 'byob' });
  const pending = byob.read(new Uint8Array(64)).then(
    () => 'resolved',
    () => 'rejected',
  );
  byob.releaseLock();
  ctx.note(`the pending BYOB read was ${await pending} by releaseLock()`);
  if (order === 'reader first') {
    const reader = socket.readable.getReader();
    const first = reader.read();
    await peer.signal('send');
    await readAllText(reader, await first, text);
    return;
  }
  await peer.signal('send');
  // The peer's close_notify answered: our socket has read everything, and holds it.
  equal((await socket.closed).closeNotifyReceived, true, 'closeNotifyReceived');
  const reader = socket.readable.getReader();
  await readAllText(reader, await reader.read(), text);
}

async function readAllText(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: ReadableStreamReadResult<Uint8Array>,
  expected: string,
): Promise<void> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let result = first; !result.done; result = await reader.read()) {
    chunks.push(result.value);
    total += result.value.byteLength;
  }
  equal(new TextDecoder().decode(concat(chunks, total)), expected, 'what the next reader got');
}

interface Scenario {
  name: string;
  requirement: string;
  source: string;
  requires?: ConformanceCase['requires'];
  timeoutMs?: number;
  run(ctx: CaseContext, role: Role): Promise<void>;
}

const STREAM_STEPS: Step[] = [{ op: 'send', bytes: STREAM_BYTES, seed: SEED, chunk: RECORD_BYTES }];

const SCENARIOS: Scenario[] = [
  {
    name: 'read-into.every-size',
    requirement:
      'read(into) with buffers of 1, 2, 3, ... bytes fills each from its first byte across record boundaries, loses nothing, and gives null at close_notify',
    source: 'issue 14 (caller-owned receive buffers); spec §3 invariant 1',
    timeoutMs: 60_000,
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [...STREAM_STEPS, { op: 'closeNotify' }]);
      await sameBytes(
        await readIntoToEnd(socket),
        pseudoRandomBytes(STREAM_BYTES, SEED),
        'what read(into) gave',
      );
      equal(await socket.read(new Uint8Array(8)), null, 'read(into) after the end');
      const report = await socket.closed;
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      equal(report.bytesRead, STREAM_BYTES, 'bytesRead');
    },
  },
  {
    name: 'reader.every-size',
    requirement:
      "readable.getReader({ mode: 'byob' }) reads of 1, 2, 3, ... bytes lose nothing across record boundaries and end done at close_notify",
    source: 'issue 14 (readable as a byte stream); WHATWG Streams (ReadableStreamBYOBReader)',
    timeoutMs: 60_000,
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [...STREAM_STEPS, { op: 'closeNotify' }]);
      await sameBytes(
        await readByobToEnd(socket),
        pseudoRandomBytes(STREAM_BYTES, SEED),
        'what the BYOB reader gave',
      );
      equal((await socket.closed).closeNotifyReceived, true, 'closeNotifyReceived');
    },
  },
  {
    name: 'read-into.truncation',
    requirement:
      'at a bare FIN, read(into) first delivers every byte sent before it, then rejects ERR_TLS_TRUNCATED',
    source: 'RFC 8446 §6.1; spec §3 (the peer EOF without close_notify)',
    requires: ['truncationDetection'],
    timeoutMs: 60_000,
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [...STREAM_STEPS, { op: 'fin' }]);
      const expected = pseudoRandomBytes(STREAM_BYTES, SEED);
      await sameBytes(await readIntoExactly(socket, STREAM_BYTES, 777), expected, 'bytes before the FIN');
      await rejectsWith(socket.read(new Uint8Array(64)), 'ERR_TLS_TRUNCATED', 'read(into) at the bare FIN');
      equal((await socket.closed).truncated, true, 'truncated');
    },
  },
  {
    name: 'reader.truncation',
    requirement:
      'at a bare FIN, a BYOB reader first gets every byte sent before it, then its read rejects ERR_TLS_TRUNCATED',
    source: 'RFC 8446 §6.1; spec §3 (readable errors ERR_TLS_TRUNCATED)',
    requires: ['truncationDetection'],
    timeoutMs: 60_000,
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [...STREAM_STEPS, { op: 'fin' }]);
      const reader = socket.readable.getReader({ mode: 'byob' });
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read(new Uint8Array(1500));
        } catch (error) {
          equal((error as { code?: unknown }).code, 'ERR_TLS_TRUNCATED', 'what the BYOB read rejected with');
          break;
        }
        if (result.done)
          throw new CaseFailure(`the BYOB reader ended cleanly after ${total} bytes and a bare FIN`);
        chunks.push(result.value);
        total += result.value.byteLength;
      }
      await sameBytes(concat(chunks, total), pseudoRandomBytes(STREAM_BYTES, SEED), 'bytes before the FIN');
      equal((await socket.closed).truncated, true, 'truncated');
    },
  },
  {
    name: 'mixed',
    requirement:
      'read(into), read() and the readable stream (BYOB reader, then a default reader) take turns on one stream and lose nothing',
    source: 'issue 14 (read(into) mixed with plain read())',
    timeoutMs: 60_000,
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [...STREAM_STEPS, { op: 'closeNotify' }]);
      const chunks: Uint8Array[] = [];
      let total = 0;
      const keep = (value: Uint8Array): void => {
        chunks.push(value.slice());
        total += value.byteLength;
      };
      // Seven bytes out of a chunk: read() then gets the rest of that chunk, not a new one. A runtime
      // may deliver large chunks, so any turn may meet the end; the sha256 below is the verdict.
      let ended = false;
      for (let turn = 0; turn < 40 && !ended; turn += 1) {
        const value = turn % 2 === 0 ? await socket.read(new Uint8Array(7)) : await socket.read();
        if (value === null) ended = true;
        else keep(value);
      }
      const byob = socket.readable.getReader({ mode: 'byob' });
      for (let turn = 0; turn < 50 && !ended; turn += 1) {
        const { done, value } = await byob.read(new Uint8Array(13));
        if (done) ended = true;
        else keep(value);
      }
      byob.releaseLock();
      // Straight from a BYOB reader to read(): what the last BYOB read left must come first.
      for (let turn = 0; turn < 4 && !ended; turn += 1) {
        const value = await socket.read();
        if (value === null) ended = true;
        else keep(value);
      }
      const reader = socket.readable.getReader();
      for (let turn = 0; turn < 20 && !ended; turn += 1) {
        const { done, value } = await reader.read();
        if (done) ended = true;
        else keep(value);
      }
      reader.releaseLock();
      if (!ended) {
        for (
          let value = await socket.read(new Uint8Array(4096));
          value !== null;
          value = await socket.read()
        ) {
          keep(value);
        }
      }
      await sameBytes(concat(chunks, total), pseudoRandomBytes(STREAM_BYTES, SEED), 'what every reader gave');
    },
  },
  {
    name: 'reader.released-while-pending',
    requirement:
      'a BYOB reader released while its read waits loses nothing: bytes that arrive while the next (default) reader waits go to it',
    source: 'WHATWG Streams (releasing a BYOB reader with a pending read-into); issue 14',
    run: (ctx, role) => releasedWhilePending(ctx, role, 'reader first'),
  },
  {
    name: 'reader.released-then-data',
    requirement:
      'a BYOB reader released while its read waits loses nothing: bytes that arrive before the next (default) reader asks go to it',
    source: 'WHATWG Streams (releasing a BYOB reader with a pending read-into); issue 14',
    run: (ctx, role) => releasedWhilePending(ctx, role, 'data first'),
  },
  {
    name: 'read-into.no-aliasing',
    requirement:
      'once read(into) settled, core never writes into that buffer again: not the part it left unfilled, not after shutdown(read) ended a pending read',
    source: 'issue 14 (caller-owned buffers; a pooled read buffer)',
    async run(ctx, role) {
      const { peer, socket } = await against(ctx, role, [
        { op: 'sendText', text: 'first' },
        { op: 'wait', signal: 'more' },
        { op: 'send', bytes: 50_000, seed: SEED, chunk: RECORD_BYTES },
        { op: 'wait', signal: 'last' },
        { op: 'send', bytes: 50_000, seed: SEED + 1, chunk: RECORD_BYTES },
        { op: 'closeNotify' },
      ]);
      // A buffer larger than what arrives: its tail stays the caller's.
      const first = new Uint8Array(4096);
      const value = await socket.read(first);
      check(value !== null, 'the stream ended before the first bytes');
      checkViewOf(value, first, 'the first read(into)');
      const snapshot = first.slice();
      await peer.signal('more');
      await readIntoExactly(socket, 50_000, 3000);
      await sameBytes(first, snapshot, 'the first buffer after later reads');
      // A read waiting with its buffer when shutdown('read') ends it: the discarded bytes go nowhere.
      const waiting = new Uint8Array(4096);
      const ended = socket.read(waiting);
      await socket.shutdown('read');
      equal(await ended, null, 'the read waiting at shutdown(read)');
      await peer.signal('last');
      // close() waits for the peer's close_notify, so the last 50,000 bytes arrived (and were discarded).
      equal((await socket.close()).bytesDiscarded, 50_000, 'bytesDiscarded');
      check(
        waiting.every((byte) => byte === 0),
        'the buffer of the read ended by shutdown(read) was written',
      );
    },
  },
  {
    name: 'reader.backpressure',
    requirement:
      'a BYOB reader that reads one byte and then nothing holds the peer back (TCP backpressure), and every byte arrives once it reads again',
    source: 'spec §3 (shutdown(read) drains; otherwise the peer feels backpressure); issue 14',
    timeoutMs: 120_000,
    async run(ctx, role) {
      const { peer, socket } = await against(ctx, role, [
        { op: 'send', bytes: HELD_BYTES, seed: SEED },
        { op: 'closeNotify' },
      ]);
      const reader = socket.readable.getReader({ mode: 'byob' });
      const head = await reader.read(new Uint8Array(1));
      check(!head.done && head.value.byteLength === 1, 'the first one-byte BYOB read');
      await delay(NOT_READING_PAUSE_MS);
      const held = await peer.report();
      ctx.note(`after ${NOT_READING_PAUSE_MS} ms without reading the peer had sent ${held.sent.bytes} bytes`);
      check(
        held.sent.bytes < HELD_BYTES,
        `the peer sent all ${HELD_BYTES} bytes to a BYOB reader that read one: no backpressure`,
      );
      const all = new Uint8Array(HELD_BYTES);
      all.set(head.value);
      let filled = 1;
      let buffer = new ArrayBuffer(65536);
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done) break;
        all.set(value, filled);
        filled += value.byteLength;
        buffer = value.buffer as ArrayBuffer;
      }
      await sameBytes(
        all.subarray(0, filled),
        pseudoRandomBytes(HELD_BYTES, SEED),
        'what the BYOB reader got',
      );
    },
  },
  {
    name: 'read-into.bad-buffer',
    requirement:
      'read(into) with an empty, transferred or non-Uint8Array buffer rejects ERR_INVALID_ARGUMENT and reading goes on',
    source: 'spec §5 (bad input gets a stable code, never a throw)',
    async run(ctx, role) {
      const { socket } = await against(ctx, role, [
        { op: 'sendText', text: 'still here' },
        { op: 'closeNotify' },
      ]);
      const transferred = new Uint8Array(16);
      structuredClone(transferred.buffer, { transfer: [transferred.buffer] });
      const bad: Array<[unknown, string]> = [
        [new Uint8Array(0), 'an empty Uint8Array'],
        [transferred, 'a view of a transferred buffer'],
        [new Uint16Array(4), 'a Uint16Array'],
        [new ArrayBuffer(8), 'an ArrayBuffer'],
        ['text', 'a string'],
        [null, 'null'],
      ];
      for (const [into, what] of bad) {
        await rejectsWith(socket.read(into as Uint8Array), 'ERR_INVALID_ARGUMENT', `read(into) with ${what}`);
      }
      const all = await readIntoExactly(socket, 10, 4);
      equal(new TextDecoder().decode(all), 'still here', 'what read(into) gave after the refusals');
      equal(await socket.read(new Uint8Array(4)), null, 'read(into) at close_notify');
    },
  },
];

export const byobCases: ConformanceCase[] = SCENARIOS.flatMap((scenario) =>
  (['client', 'server'] as const).map(
    (role): ConformanceCase => ({
      id: `${role === 'server' ? 'server.' : ''}byob.${scenario.name}`,
      requirement: scenario.requirement,
      source: scenario.source,
      tls: 'any',
      ...(role === 'server' ? { requires: ['server', ...(scenario.requires ?? [])] } : {}),
      ...(role === 'client' && scenario.requires ? { requires: scenario.requires } : {}),
      ...(scenario.timeoutMs ? { timeoutMs: scenario.timeoutMs } : {}),
      run: (ctx) => scenario.run(ctx, role),
    }),
  ),
);
