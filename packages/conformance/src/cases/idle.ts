import type { ShutdownableSecureSocket } from '@closenotify/core';
import { delay, equal, readBytes, rejectsWith, within } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';

/** The exchange after the idle timer fired (close_notify both ways on loopback) gets this on top. */
const CLOSE_EXCHANGE_MS = 30;
const PRECISION_MS = 20;

export const idleCases: ConformanceCase[] = [
  {
    id: 'idle.fires',
    requirement:
      'with no byte either way, the socket closes within 20 ms of idleTimeoutMs, as close() with initiator idle',
    source: 'DESIGN §3 idle timeout; research Q7 (Bun timeout() has 4 s granularity)',
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
      within(performance.now() - started, 299, 300 + PRECISION_MS + CLOSE_EXCHANGE_MS, 'idle close');
      equal(report.initiator, 'idle', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
    },
  },
  {
    id: 'idle.reset-by-reads',
    requirement: 'every byte read restarts the idle timer',
    source: 'DESIGN §3 idle timeout; research Q7 (Bun timeout() is not reset by reads)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [
          { op: 'sleep', ms: 250 },
          { op: 'sendText', text: 'a' },
          { op: 'sleep', ms: 250 },
          { op: 'sendText', text: 'b' },
          { op: 'readUntilEnd' },
          { op: 'closeNotify' },
        ],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: 400 });
      const started = performance.now();
      await readBytes(socket, 2);
      const lastRead = performance.now();
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      within(
        performance.now() - lastRead,
        399,
        400 + PRECISION_MS + CLOSE_EXCHANGE_MS,
        'idle close after the last read',
      );
      within(lastRead - started, 450, 2000, 'the reads spanned more than one idle period');
    },
  },
  {
    id: 'idle.reset-by-writes',
    requirement: 'every byte written restarts the idle timer',
    source: 'DESIGN §3 idle timeout',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        observe: false,
        steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }],
      });
      const socket = await ctx.connect(peer, { idleTimeoutMs: 400 });
      await delay(250);
      await socket.write('a');
      await delay(250);
      await socket.write('b');
      const lastWrite = performance.now();
      equal(socket.state, 'open', 'state 500 ms in, with writes every 250 ms');
      const report = await socket.closed;
      equal(report.initiator, 'idle', 'initiator');
      within(
        performance.now() - lastWrite,
        399,
        400 + PRECISION_MS + CLOSE_EXCHANGE_MS,
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
