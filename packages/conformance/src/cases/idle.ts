import type { ShutdownableSecureSocket } from '@closenotify/core';
import { delay, equal, HANG_GUARD_MS, readBytes, rejectsWith, within } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';

/**
 * The idle timer re-arms lazily and may fire up to 1 ms before the limit (timer granularity); a close
 * measurably earlier than that means activity did not count or the timer is wrong.
 */
const EARLY_TOLERANCE_MS = 1;
/**
 * The reset cases keep the socket busy with a gap far below the idle limit: a timer or a peer step that
 * runs late on a busy machine must not look like an idle period.
 */
const RESET_IDLE_MS = 1500;
const ACTIVITY_GAP_MS = 100;
const ACTIVITY_COUNT = 18;

export const idleCases: ConformanceCase[] = [
  {
    id: 'idle.fires',
    requirement:
      'with no byte either way, the socket closes no earlier than idleTimeoutMs, as close() with initiator idle',
    source: 'spec §3 idle timeout; measured: Bun timeout() has 4 s granularity',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: 300 });
      const started = performance.now();
      const report = await socket.closed;
      within(performance.now() - started, 300 - EARLY_TOLERANCE_MS, 300 + HANG_GUARD_MS, 'idle close');
      equal(report.initiator, 'idle', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
    },
  },
  {
    id: 'idle.reset-by-reads',
    requirement: 'every byte read restarts the idle timer',
    source: 'spec §3 idle timeout; measured: Bun timeout() is not reset by reads',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const trickle = Array.from({ length: ACTIVITY_COUNT }, () => [
        { op: 'sleep' as const, ms: ACTIVITY_GAP_MS },
        { op: 'sendText' as const, text: 'a' },
      ]).flat();
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [...trickle, { op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: RESET_IDLE_MS });
      const started = performance.now();
      await readBytes(socket, ACTIVITY_COUNT);
      // The byte was received (and counted as activity) no later than read() handed it over.
      const lastRead = performance.now();
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      within(
        performance.now() - lastRead,
        RESET_IDLE_MS - EARLY_TOLERANCE_MS,
        RESET_IDLE_MS + HANG_GUARD_MS,
        'idle close after the last read',
      );
      within(
        lastRead - started,
        RESET_IDLE_MS,
        Number.POSITIVE_INFINITY,
        'the reads spanned more than one idle period',
      );
    },
  },
  {
    id: 'idle.reset-by-writes',
    requirement: 'every byte written restarts the idle timer',
    source: 'spec §3 idle timeout',
    tls: 'any',
    timeoutMs: 60_000,
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: RESET_IDLE_MS });
      const started = performance.now();
      let lastWrite = started;
      for (let index = 0; index < ACTIVITY_COUNT; index++) {
        await delay(ACTIVITY_GAP_MS);
        // Taken before write(): the engine counts the bytes as activity when it hands them to the runtime,
        // which is no earlier than this and may be before write() resolves.
        lastWrite = performance.now();
        await socket.write('a');
      }
      equal(socket.state, 'open', `state after ${ACTIVITY_COUNT} writes ${ACTIVITY_GAP_MS} ms apart`);
      within(
        lastWrite - started,
        RESET_IDLE_MS,
        Number.POSITIVE_INFINITY,
        'the writes spanned more than one idle period',
      );
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      within(
        performance.now() - lastWrite,
        RESET_IDLE_MS - EARLY_TOLERANCE_MS,
        RESET_IDLE_MS + HANG_GUARD_MS,
        'idle close after the last write',
      );
    },
  },
  {
    id: 'idle.reader-sees-timeout',
    requirement:
      'an idle timeout rejects a pending read(), later reads and writes with ERR_IDLE_TIMEOUT, never a clean end; the report says initiator idle',
    source:
      'contract v2: an idle timeout is visible to a reader; Go net.Conn deadlines (os.ErrDeadlineExceeded)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: 300 });
      await rejectsWith(socket.read(), 'ERR_IDLE_TIMEOUT', 'the read pending at the idle timeout');
      await rejectsWith(socket.read(), 'ERR_IDLE_TIMEOUT', 'a read after the idle timeout');
      await rejectsWith(socket.write('late'), 'ERR_IDLE_TIMEOUT', 'a write after the idle timeout');
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(report.error?.code, 'ERR_IDLE_TIMEOUT', 'report.error');
    },
  },
  {
    id: 'idle.readable-errors',
    requirement:
      'an idle timeout errors `readable` with ERR_IDLE_TIMEOUT: a for await loop throws, it does not just end',
    source: 'contract v2: an idle timeout is visible to a reader',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'sendText', text: 'hello' }, { op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: 300 });
      await rejectsWith(readAll(socket), 'ERR_IDLE_TIMEOUT', 'for await over readable');
      equal((await socket.closed).initiator, 'idle', 'initiator');
    },
  },
  {
    id: 'server.idle.reader-sees-timeout',
    requirement:
      'on an accepted socket, an idle timeout errors `readable` and later reads with ERR_IDLE_TIMEOUT',
    source: 'contract v2: an idle timeout is visible to a reader',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const { server, next } = await ctx.listen({ idleTimeoutMs: 300 });
      await ctx.peer({
        role: 'client',
        connect: { port: server.address.port },
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await next();
      await rejectsWith(readAll(socket), 'ERR_IDLE_TIMEOUT', 'for await over readable');
      await rejectsWith(socket.read(), 'ERR_IDLE_TIMEOUT', 'a read after the idle timeout');
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      equal(report.error?.code, 'ERR_IDLE_TIMEOUT', 'report.error');
    },
  },
];

/** Reads `readable` to its end with for await; resolving means the stream ended cleanly. */
async function readAll(socket: ShutdownableSecureSocket): Promise<number> {
  let bytes = 0;
  for await (const chunk of socket.readable) bytes += chunk.byteLength;
  return bytes;
}
