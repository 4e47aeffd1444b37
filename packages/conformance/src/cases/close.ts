import type { ShutdownableSecureSocket } from '@closenotify/core';
import {
  check,
  closingEvents,
  delay,
  endsWith,
  equal,
  fillUntilPending,
  HANG_GUARD_MS,
  readBytes,
  rejectsWith,
  valueWithin,
  within,
} from '../assert.ts';
import type { CapabilityName, CaseContext, ConformanceCase } from '../case.ts';
import type { Direction, PeerHandle, Step } from '../peer-client.ts';

/** Stops reading until the case has closed, then reads on to the end (or our RST). */
const STALLED_PEER: Step[] = [
  { op: 'stopReading' },
  { op: 'wait', signal: 'read again' },
  { op: 'resumeReading' },
  { op: 'readUntilEnd' },
];

/**
 * close({ timeoutMs }) on a socket whose output is stuck behind a peer that stopped reading: it must
 * settle on time, say close_notify was not sent, reject the stuck write and, where it can, reset.
 */
async function closeStuckSocket(
  ctx: CaseContext,
  socket: ShutdownableSecureSocket,
  peer: PeerHandle,
  ours: Direction,
  timeoutMs: number,
): Promise<void> {
  const { pending: stuck } = await fillUntilPending(socket);
  const started = performance.now();
  const report = await valueWithin(socket.close({ timeoutMs }), timeoutMs + HANG_GUARD_MS);
  const took = performance.now() - started;
  check(
    report,
    `close({ timeoutMs: ${timeoutMs} }) did not settle within ${timeoutMs + HANG_GUARD_MS} ms (state ${socket.state})`,
  );
  within(took, Math.max(0, timeoutMs - 5), timeoutMs + HANG_GUARD_MS, `close({ timeoutMs: ${timeoutMs} })`);
  equal(report.initiator, 'timeout', 'initiator');
  equal(report.closeNotifySent, false, 'closeNotifySent');
  equal(socket.state, 'closed', 'state');
  await rejectsWith(stuck, 'ERR_CLOSE_TIMEOUT', 'the write still pending at close()');
  equal(report.error?.code, 'ERR_CLOSE_TIMEOUT', 'report.error');
  // The relay stalled with the peer: only once the peer reads again does it read on to our RST.
  await peer.signal('read again');
  const sent = closingEvents((await peer.whenDone()).wire, ours);
  if (!ctx.adapter.capabilities.abortiveReset) return;
  // The RST may cut the record the relay was receiving (partial-record): that is what a reset does.
  check(
    sent.at(-1) === 'rst' && !sent.includes('alert:close_notify') && !sent.includes('fin'),
    `expected a RST with no close_notify or FIN before it, saw [${sent.join(', ')}]`,
  );
}

function boundedCloseCase(timeoutMs: number, id: string): ConformanceCase {
  return {
    id,
    requirement: `close({ timeoutMs: ${timeoutMs} }) to a peer that stopped reading settles on time, reports closeNotifySent false and initiator timeout, rejects the pending write ERR_CLOSE_TIMEOUT and resets`,
    source: 'contract v2: close() is bounded whatever is still queued; Go crypto/tls Close deadline',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: STALLED_PEER });
      const socket = await ctx.connect(peer);
      await closeStuckSocket(ctx, socket, peer, 'c2s', timeoutMs);
    },
  };
}

/** The peer greets, then reads to our end and ends too: nothing unread is left to draw a reset. */
const GREETING_PEER: Step[] = [
  { op: 'sendText', text: 'ready' },
  { op: 'readUntilEnd' },
  { op: 'fin' },
  { op: 'waitEnd' },
];

function noWaitGraceCase(role: 'client' | 'server'): ConformanceCase {
  return {
    id: `${role === 'server' ? 'server.' : ''}close.bounded.no-wait-grace-after-fin-queued`,
    requirement:
      "close({ timeoutMs: 0 }) whose flush grace runs out once our close_notify is handed over but before the runtime sent the FIN still settles and frees the runtime's socket",
    source:
      "contract v2: close() is bounded and frees what it holds; found by the soak on Node 20.20, where a reset while end()'s FIN was queued failed (EINVAL) and leaked the descriptor",
    tls: 'each',
    ...(role === 'server' ? { requires: ['server'] as CapabilityName[] } : {}),
    async run(ctx) {
      let socket: ShutdownableSecureSocket;
      let peer: PeerHandle;
      if (role === 'client') {
        peer = await ctx.peer({ role: 'server', steps: GREETING_PEER });
        socket = await ctx.connect(peer);
      } else {
        const { server, next } = await ctx.listen();
        peer = await ctx.peer({
          role: 'client',
          connect: { port: server.address.port },
          steps: GREETING_PEER,
        });
        socket = await next();
      }
      await readBytes(socket, 5);
      const closing = socket.close({ timeoutMs: 0 });
      // Stalls the event loop right after an adapter that defers its end() to the next turn (Node)
      // handed over its close_notify, past close()'s flush grace (50 ms): the grace runs out before
      // the runtime's next chance to send the FIN. setImmediate is no web standard, but Node, Bun
      // and Deno all have it, and only it runs after such a deferred end() in the same turn.
      const { setImmediate } = globalThis as unknown as { setImmediate(callback: () => void): unknown };
      setImmediate(() => {
        for (const until = performance.now() + 100; performance.now() < until; );
      });
      const report = await valueWithin(closing, HANG_GUARD_MS);
      check(
        report,
        `close({ timeoutMs: 0 }) did not settle within ${HANG_GUARD_MS} ms (state ${socket.state})`,
      );
      equal(socket.state, 'closed', 'state');
      await peer.whenDone();
    },
  };
}

export const closeCases: ConformanceCase[] = [
  {
    id: 'close.waits-for-peer',
    requirement:
      "close() sends close_notify + FIN, waits for the peer's close_notify, then releases (no RST)",
    source: 'spec §3 close(); OpenSSL SSL_shutdown bidirectional; measured: Deno close() never waits',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'readUntilEnd' }, { op: 'sleep', ms: 200 }, { op: 'closeNotify' }, { op: 'waitEnd' }],
      });
      const socket = await ctx.connect(peer);
      const started = performance.now();
      const report = await socket.close();
      within(performance.now() - started, 190, 200 + HANG_GUARD_MS, 'close() waiting for the peer');
      equal(report.initiator, 'local', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(
        report.closeNotifyReceived,
        ctx.adapter.capabilities.truncationDetection ? true : null,
        'closeNotifyReceived',
      );
      const wire = (await peer.whenDone()).wire;
      endsWith(closingEvents(wire, 'c2s'), ['alert:close_notify', 'fin'], 'what we sent');
      endsWith(closingEvents(wire, 's2c'), ['alert:close_notify', 'fin'], 'what the peer sent');
    },
  },
  {
    id: 'close.timeout',
    requirement:
      'close() against a peer that never answers ends at timeoutMs with initiator timeout and releases anyway',
    source: 'spec §3 close(); Go crypto/tls Close deadline; asyncio ssl_shutdown_timeout',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'wait', signal: 'never' }] });
      const socket = await ctx.connect(peer);
      const started = performance.now();
      const report = await socket.close({ timeoutMs: 300 });
      within(performance.now() - started, 295, 300 + HANG_GUARD_MS, 'close() with a 300 ms timeout');
      equal(report.initiator, 'timeout', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(socket.state, 'closed', 'state');
    },
  },
  boundedCloseCase(0, 'close.bounded.peer-not-reading'),
  boundedCloseCase(300, 'close.bounded.peer-not-reading-timeout'),
  {
    id: 'server.close.bounded.peer-not-reading',
    requirement:
      'close({ timeoutMs: 0 }) on an accepted socket whose client stopped reading settles at once, reports closeNotifySent false and initiator timeout, rejects the pending write ERR_CLOSE_TIMEOUT and resets',
    source: 'contract v2: close() is bounded whatever is still queued',
    tls: 'any',
    requires: ['server'],
    timeoutMs: 60_000,
    async run(ctx) {
      const { server, next } = await ctx.listen();
      const peer = await ctx.peer({
        role: 'client',
        connect: { port: server.address.port },
        steps: STALLED_PEER,
      });
      await closeStuckSocket(ctx, await next(), peer, 's2c', 0);
    },
  },
  {
    id: 'close.bounded.no-wait-still-clean',
    requirement:
      'close({ timeoutMs: 0 }) to a peer that reads delivers every accepted byte, then close_notify and FIN, and reports closeNotifySent true',
    source: 'contract v2: timeoutMs 0 means do not wait for the peer, never skip our close_notify',
    tls: 'each',
    async run(ctx) {
      // The peer's greeting comes after its TLS 1.3 session tickets: once it is read, nothing but the
      // peer's FIN arrives, so no unread byte makes the kernel answer our release with a RST.
      const peer = await ctx.peer({
        role: 'server',
        steps: GREETING_PEER,
      });
      const socket = await ctx.connect(peer);
      await readBytes(socket, 5);
      const payload = new Uint8Array(16384).fill(7);
      await socket.write(payload);
      const report = await socket.close({ timeoutMs: 0 });
      equal(report.initiator, 'local', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(report.error, undefined, 'error');
      const done = await peer.whenDone();
      equal(done.received.bytes, payload.byteLength, 'bytes the peer received');
      endsWith(closingEvents(done.wire, 'c2s'), ['data', 'alert:close_notify', 'fin'], 'what we sent');
    },
  },
  noWaitGraceCase('client'),
  noWaitGraceCase('server'),
  {
    id: 'close.peer-streams-after',
    requirement:
      'a peer that streams 50 MB after our close_notify causes no error; the bytes are discarded and counted',
    source: 'spec §3 invariant 6; OpenSSL APPLICATION_DATA_AFTER_CLOSE_NOTIFY; nodejs/node#33330',
    tls: 'each',
    timeoutMs: 90_000,
    async run(ctx) {
      const size = 50_000_000;
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'wait', signal: 'go' },
          { op: 'streamUntilClosed', maxBytes: size },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer);
      await peer.signal('go');
      await readBytes(socket, 16384);
      const report = await socket.close({ timeoutMs: 60_000 });
      equal(report.error, undefined, 'error');
      equal(report.initiator, 'local', 'initiator');
      const sent = (await peer.whenDone()).sent.bytes;
      ctx.note(`peer sent ${sent}, we read ${report.bytesRead} and discarded ${report.bytesDiscarded}`);
      check(report.bytesDiscarded > 0, 'bytesDiscarded > 0');
      equal(
        report.bytesRead + report.bytesDiscarded,
        sent,
        'bytesRead + bytesDiscarded = what the peer sent',
      );
    },
  },
  {
    id: 'abort.rst-on-wire',
    requirement: 'abort() puts a TCP RST on the wire, with no close_notify before it',
    source: 'spec §3 abort(); SO_LINGER 0; measured: Node resetAndDestroy throws on TLS sockets',
    tls: 'each',
    requires: ['abortiveReset'],
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'read', bytes: 4 }, { op: 'waitEnd' }] });
      const socket = await ctx.connect(peer);
      await socket.write('ping');
      await delay(50);
      socket.abort(new Error('abort test'));
      const report = await peer.whenDone();
      const sent = closingEvents(report.wire, 'c2s');
      endsWith(sent, ['data', 'rst'], 'what we sent');
      check(!sent.includes('alert:close_notify'), `close_notify before the RST: [${sent.join(', ')}]`);
      check(
        report.errors.some((e) => e.code === 'ECONNRESET'),
        `the peer saw no ECONNRESET: ${JSON.stringify(report.errors)}`,
      );
    },
  },
  {
    id: 'abort.rejects-pending',
    requirement:
      'abort() rejects a pending read, a write the runtime is still taking and later writes with ERR_ABORTED, and resolves closed with initiator abort',
    source: 'spec §3 abort()',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'stopReading' }, { op: 'waitEnd' }],
      });
      const socket = await ctx.connect(peer);
      const pending = socket.read();
      const { pending: inFlight } = await fillUntilPending(socket);
      const reason = new Error('user abort');
      socket.abort(reason);
      const error = await rejectsWith(pending, 'ERR_ABORTED', 'pending read');
      equal(error.cause, reason, 'cause');
      await rejectsWith(inFlight, 'ERR_ABORTED', 'the write the runtime was still taking');
      await rejectsWith(socket.write('x'), 'ERR_ABORTED', 'write after abort');
      const report = await socket.closed;
      equal(report.initiator, 'abort', 'initiator');
      equal(report.error?.code, 'ERR_ABORTED', 'report.error');
    },
  },
  {
    id: 'reset.peer-rst-mid-stream',
    requirement: 'a peer RST in the middle of a stream rejects reads and writes with ERR_CONNECTION_RESET',
    source: 'spec §3 peer RST; measured: Bun reports it only in close',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'send', bytes: 65536 }, { op: 'wait', signal: 'rst' }, { op: 'rst' }],
      });
      const socket = await ctx.connect(peer);
      await readBytes(socket, 65536);
      await peer.signal('rst');
      await rejectsWith(socket.read(), 'ERR_CONNECTION_RESET', 'read at the RST');
      await rejectsWith(socket.write('after the reset'), 'ERR_CONNECTION_RESET', 'write after the RST');
      const report = await socket.closed;
      equal(report.initiator, 'error', 'initiator');
    },
  },
];
