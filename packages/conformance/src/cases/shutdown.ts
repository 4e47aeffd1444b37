import {
  check,
  closingEvents,
  concat,
  dataBytes,
  endsWith,
  equal,
  HANG_GUARD_MS,
  readBytes,
  readToEnd,
  rejectsWith,
  within,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import { pseudoRandomBytes, sha256Hex } from '../peer-client.ts';

const MIB = 1024 * 1024;

/** What closeNotifyReceived must say after the peer's close_notify: true, or null where the runtime cannot tell. */
function expectedCloseNotify(ctx: CaseContext): boolean | null {
  return ctx.adapter.capabilities.truncationDetection ? true : null;
}

export const shutdownCases: ConformanceCase[] = [
  {
    id: 'shutdown-write.close-notify-then-fin',
    requirement:
      "shutdown('write') puts every accepted byte, then close_notify, then FIN on the wire, and nothing after",
    source: 'RFC 8446 §6.1; BSD shutdown(SHUT_WR); measured: Bun end() holds the FIN',
    tls: 'each',
    requires: ['halfClose'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [
          { op: 'readUntilEnd' },
          { op: 'sendText', text: 'bye' },
          { op: 'closeNotify' },
          { op: 'waitEnd' },
        ],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      await socket.write('hello ');
      await socket.write('world');
      await socket.shutdown('write');
      equal((await readToEnd(socket)).text, 'bye', 'the response read after our half-close');
      const report = await socket.closed;
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(report.closeNotifyReceived, expectedCloseNotify(ctx), 'closeNotifyReceived');
      equal(report.initiator, 'local', 'initiator');
      const wire = (await peer.whenDone()).wire;
      endsWith(closingEvents(wire, 'c2s'), ['data', 'alert:close_notify', 'fin'], 'what we sent');
      equal(dataBytes(wire, 'c2s'), 11, 'application bytes before close_notify');
    },
  },
  {
    id: 'shutdown-write.peer-reads-all',
    requirement:
      "bytes accepted before shutdown('write') all reach the peer, and its full response is still read",
    source: 'spec §3 invariant 1; RFC 8446 §6.1 (half-close)',
    tls: 'each',
    requires: ['halfClose'],
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'send', bytes: MIB, seed: 5 }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      const request = pseudoRandomBytes(MIB, 9);
      const writes: Promise<void>[] = [];
      for (let offset = 0; offset < MIB; offset += 16384)
        writes.push(socket.write(request.subarray(offset, offset + 16384)));
      const shutdown = socket.shutdown('write');
      await Promise.all([...writes, shutdown]);
      const response = await readToEnd(socket);
      equal(response.bytes, MIB, 'response bytes read after our half-close');
      equal(response.sha256, await sha256Hex(pseudoRandomBytes(MIB, 5)), 'response sha256');
      const report = await peer.whenDone();
      equal(report.received.bytes, MIB, 'request bytes at the peer');
      equal(report.received.sha256, await sha256Hex(request), 'request sha256 at the peer');
      await socket.closed;
    },
  },
  {
    id: 'shutdown-write.write-after-rejects',
    requirement:
      "write() after shutdown('write') rejects ERR_WRITE_AFTER_SHUTDOWN, sends nothing, and reading goes on",
    source: 'spec §3 invariant 3; measured: Node destroys the read half',
    tls: 'any',
    requires: ['halfClose'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'readUntilEnd' }, { op: 'sendText', text: 'still reading' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      await socket.write('before');
      await socket.shutdown('write');
      const error = await rejectsWith(
        socket.write('after'),
        'ERR_WRITE_AFTER_SHUTDOWN',
        'write after shutdown',
      );
      equal(error.phase, 'write', 'phase');
      equal((await readToEnd(socket)).text, 'still reading', 'read after the rejected write');
      const report = await peer.whenDone();
      equal(report.received.text, 'before', 'what the peer received');
      await socket.closed;
    },
  },
  {
    id: 'shutdown-write.inside-read-loop',
    requirement: "shutdown('write') called inside a read loop in the middle of a 50 MB stream loses nothing",
    source: 'spec §3 invariant 2; measured: Node end() inside data loses the rest',
    tls: 'each',
    requires: ['halfClose'],
    timeoutMs: 90_000,
    async run(ctx) {
      const size = 50_000_000;
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'send', bytes: size, seed: 3, chunk: 16384 }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      const chunks: Uint8Array[] = [];
      let received = 0;
      let shutdown: Promise<void> | undefined;
      for await (const chunk of socket.readable) {
        chunks.push(chunk);
        received += chunk.byteLength;
        // Synchronously, from inside the loop, while more records are in flight.
        if (!shutdown && received >= MIB) shutdown = socket.shutdown('write');
      }
      check(shutdown, 'the stream ended before 1 MiB arrived');
      await shutdown;
      equal(received, size, 'bytes received');
      const all = concat(chunks, received);
      equal(await sha256Hex(all), await sha256Hex(pseudoRandomBytes(size, 3)), 'sha256 of the stream');
      equal((await socket.closed).bytesRead, size, 'bytesRead');
    },
  },
  {
    id: 'shutdown-read.discards-and-counts',
    requirement:
      "shutdown('read') ends reading at once, sends nothing, and discards and counts what arrives later",
    source: 'spec §3 shutdown(read); BSD shutdown(SHUT_RD)',
    tls: 'each',
    requires: ['shutdownRead'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [
          { op: 'send', bytes: 1000, seed: 2 },
          { op: 'wait', signal: 'more' },
          { op: 'send', bytes: 4 * MIB, seed: 4 },
          { op: 'closeNotify' },
          { op: 'readUntilEnd' },
        ],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      await readBytes(socket, 1000);
      await socket.shutdown('read');
      equal(await socket.read(), null, 'read() after shutdown("read")');
      equal(socket.state, 'readShut', 'state');
      await peer.signal('more');
      // The peer gets all 4 MiB out although nobody reads them: it is never blocked.
      await waitForPeerSent(peer, 1000 + 4 * MIB);
      const beforeWrite = closingEvents((await peer.report()).wire, 'c2s');
      check(
        !beforeWrite.includes('alert:close_notify') && !beforeWrite.includes('fin'),
        `shutdown('read') sent [${beforeWrite.join(', ')}]`,
      );
      await socket.shutdown('write');
      const report = await socket.closed;
      equal(report.bytesRead, 1000, 'bytesRead');
      equal(report.bytesDiscarded, 4 * MIB, 'bytesDiscarded');
      equal(report.closeNotifyReceived, expectedCloseNotify(ctx), 'closeNotifyReceived (still observed)');
    },
  },
  {
    id: 'shutdown-read.peer-never-blocked',
    requirement: "after shutdown('read') the peer can send 16 MiB that nobody reads without ever stalling",
    source: 'spec §3 shutdown(read): the peer is never blocked',
    tls: 'any',
    requires: ['shutdownRead'],
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'send', bytes: 16 * MIB, seed: 6 }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      await socket.shutdown('read');
      const started = performance.now();
      const { received } = await waitForPeerSent(peer, 16 * MIB);
      ctx.note(
        `the peer sent 16 MiB in ${(performance.now() - started).toFixed(0)} ms (received ${received})`,
      );
      await socket.shutdown('write');
      equal((await socket.closed).bytesDiscarded, 16 * MIB, 'bytesDiscarded');
    },
  },
  {
    id: 'shutdown-both.no-waiting',
    requirement:
      "shutdown('both') sends close_notify and FIN, ends reading, and resolves without waiting for the peer",
    source: 'spec §3 shutdown(both)',
    tls: 'any',
    requires: ['halfClose'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'readUntilEnd' }, { op: 'wait', signal: 'answer' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer);
      const started = performance.now();
      await socket.shutdown('both');
      // The peer answers only after the signal below: waiting for it would never end.
      within(performance.now() - started, 0, HANG_GUARD_MS, "shutdown('both')");
      equal(socket.state, 'closing', 'state');
      equal(await socket.read(), null, 'read() after shutdown("both")');
      await peer.signal('answer');
      await socket.closed;
      endsWith(
        closingEvents((await peer.whenDone()).wire, 'c2s'),
        ['alert:close_notify', 'fin'],
        'what we sent',
      );
    },
  },
];

/** Polls the peer until it has sent `bytes` (its script moved past the send). */
async function waitForPeerSent(
  peer: { report(): Promise<{ sent: { bytes: number }; received: { bytes: number } }> },
  bytes: number,
) {
  for (;;) {
    const report = await peer.report();
    if (report.sent.bytes >= bytes) return { received: report.received.bytes };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
