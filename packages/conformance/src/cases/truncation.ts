import { check, equal, readBytes, readToEnd, rejectsWith } from '../assert.ts';
import type { ConformanceCase } from '../case.ts';

export const truncationCases: ConformanceCase[] = [
  {
    id: 'truncation.fin-at-boundary',
    requirement:
      "a FIN without close_notify at a record boundary is ERR_TLS_TRUNCATED under truncation: 'error'",
    source: 'RFC 8446 §6.1 ("cannot know that all the data was received"); measured: only Deno detects it',
    tls: 'each',
    requires: ['truncationDetection'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'partial' }, { op: 'fin' }],
      });
      const socket = await ctx.connect(peer);
      equal(new TextDecoder().decode(await readBytes(socket, 7)), 'partial', 'data before the FIN');
      const error = await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() at the bare FIN');
      equal(error.phase, 'read', 'phase');
      const report = await socket.closed;
      equal(report.truncated, true, 'truncated');
      equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
    },
  },
  {
    id: 'truncation.fin-mid-record',
    requirement: 'a FIN that cuts a record in half is ERR_TLS_TRUNCATED, never a clean end',
    source: 'RFC 8446 §6.1; measured: Node and Bun report a clean end',
    tls: 'each',
    requires: ['truncationDetection'],
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'finMidRecord', bytes: 1022 }] });
      const socket = await ctx.connect(peer);
      await rejectsWith(readToEnd(socket), 'ERR_TLS_TRUNCATED', 'reading a stream cut mid-record');
      check((await socket.closed).truncated === true, 'truncated');
    },
  },
  {
    id: 'truncation.ignore',
    requirement: "truncation: 'ignore' turns a bare FIN into a clean end and reports truncated: true",
    source: 'spec §3; OpenSSL SSL_OP_IGNORE_UNEXPECTED_EOF; Python suppress_ragged_eofs',
    tls: 'any',
    requires: ['truncationDetection'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'partial' }, { op: 'fin' }, { op: 'readUntilEnd' }],
      });
      const socket = await ctx.connect(peer, { truncation: 'ignore' });
      equal((await readToEnd(socket)).text, 'partial', 'data before the FIN');
      const report = await socket.closed;
      equal(report.truncated, true, 'truncated');
      equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
      equal(report.error, undefined, 'error');
    },
  },
];
