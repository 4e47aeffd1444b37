import {
  closingEvents,
  endsWith,
  equal,
  HANG_GUARD_MS,
  readToEnd,
  rejectsWith,
  settlesWithin,
} from '../assert.ts';
import type { ConformanceCase } from '../case.ts';

export const peerCloseCases: ConformanceCase[] = [
  {
    id: 'peer-close.half-open',
    requirement:
      "with allowHalfOpen: true, the peer's close_notify ends our reading and we can still write all we want",
    source: 'RFC 8446 §6.1; measured: Node and Bun auto-close without allowHalfOpen',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'request' }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const socket = await ctx.connect(peer, { allowHalfOpen: true });
      equal((await readToEnd(socket)).text, 'request', 'what we read before the end');
      equal(socket.state, 'readShut', 'state after the peer close_notify');
      const reply = new Uint8Array(65536).fill(42);
      await socket.write(reply);
      await socket.shutdown('write');
      const report = await socket.closed;
      equal(report.initiator, 'peer', 'initiator');
      const peerReport = await peer.whenDone();
      equal(peerReport.received.bytes, 65536, 'bytes the peer received after its close_notify');
      endsWith(closingEvents(peerReport.wire, 'c2s'), ['data', 'alert:close_notify', 'fin'], 'what we sent');
    },
  },
  {
    id: 'peer-close.answers',
    requirement: "with allowHalfOpen: false (default), we answer the peer's close_notify with ours, then FIN",
    source: 'spec §3 peer close_notify; RFC 5246 §7.2.1',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'closeNotify' }, { op: 'readUntilEnd' }] });
      const socket = await ctx.connect(peer);
      equal(await socket.read(), null, 'read() after the peer close_notify');
      const report = await socket.closed;
      equal(report.initiator, 'peer', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      await rejectsWith(socket.write('late'), 'ERR_WRITE_AFTER_SHUTDOWN', 'write after we answered');
      endsWith(
        closingEvents((await peer.whenDone()).wire, 'c2s'),
        ['alert:close_notify', 'fin'],
        'our answer on the wire',
      );
    },
  },
  {
    id: 'peer-close.fin-after-our-shutdown',
    requirement:
      "after our shutdown('write'), the peer's bare FIN ends reading (cleanly where a truncation cannot be told, with ERR_TLS_TRUNCATED where it can), never as an unexpected close",
    source:
      "spec §3 (the peer's EOF without close_notify); found by model-based fuzzing (bun, seeds 21 and 5206)",
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'readUntilEnd' }, { op: 'fin' }] });
      const socket = await ctx.connect(peer);
      await socket.shutdown('write');
      const detects = ctx.adapter.capabilities.truncationDetection;
      if (detects) await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() after the bare FIN');
      else equal(await socket.read(), null, 'read() after the bare FIN');
      const report = await settlesWithin(socket.closed, HANG_GUARD_MS, 'closed');
      equal(report.error?.code, detects ? 'ERR_TLS_TRUNCATED' : undefined, 'report.error');
      equal(report.initiator, detects ? 'error' : 'local', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
    },
  },
];
