import type { ShutdownableSecureSocket } from '@closenotify/core';
import {
  CaseFailure,
  check,
  closingEvents,
  concat,
  delay,
  endsWith,
  equal,
  HANG_GUARD_MS,
  readBytes,
  readToEnd,
  rejectsWith,
  settlesWithin,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import {
  type Direction,
  type PeerHandle,
  type PeerReport,
  type Step,
  sha256Hex,
  type TlsVersion,
} from '../peer-client.ts';

/** Alert descriptions (RFC 8446 §6). */
const CLOSE_NOTIFY = 0;
const USER_CANCELED = 90;

/** Which end of the connection our socket is: `connect()` to a server peer, or accepted from a client peer. */
type Role = 'client' | 'server';

const MIB = 1024 * 1024;
/**
 * More than the loopback windows and the runtime hold together (no relay here): an application that reads
 * nothing held the peer at about 4 MiB (measured on Linux, Deno).
 */
const NOT_READING_BYTES = 16 * MIB;
/** What is left unread when the FIN comes: it fits in the windows, so the peer can send it and its FIN. */
const NOT_READING_TAIL = MIB;
/** How long the application does not read before it checks that the peer is held back. */
const NOT_READING_PAUSE_MS = 500;
/** A reader that takes a short break every 64 KiB: the peer's close_notify arrives with data still queued. */
const SLOW_READER_BYTES = 16 * MIB;
const SLOW_READER_BREAK_EVERY = 64 * 1024;
const SLOW_READER_BREAK_MS = 2;

/** Our socket in `role`, and the peer in the other role running `steps`. */
async function against(
  ctx: CaseContext,
  role: Role,
  steps: Step[],
  options: { allowHalfOpen?: boolean; observe?: boolean; tls?: TlsVersion } = {},
): Promise<{ peer: PeerHandle; socket: ShutdownableSecureSocket }> {
  const observe = options.observe ?? true;
  const forced = options.tls ? { tls: options.tls } : {};
  if (role === 'client') {
    const peer = await ctx.peer({ role: 'server', observe, steps, ...forced });
    const socket = await ctx.connect(peer, { allowHalfOpen: options.allowHalfOpen ?? false });
    return { peer, socket };
  }
  const { server, next } = await ctx.listen({ allowHalfOpen: options.allowHalfOpen ?? false });
  const peer = await ctx.peer({
    role: 'client',
    connect: { port: server.address.port },
    observe,
    steps,
    ...forced,
  });
  return { peer, socket: await next() };
}

/** The peer's direction on the wire. */
function peerDirection(role: Role): Direction {
  return role === 'client' ? 's2c' : 'c2s';
}

/** Polls the peer's report until `holds`; fails naming `what` after the hang guard. */
async function untilPeer(
  peer: PeerHandle,
  holds: (report: PeerReport) => boolean,
  what: string,
): Promise<PeerReport> {
  const deadline = performance.now() + HANG_GUARD_MS;
  for (let report = await peer.report(); ; report = await peer.report()) {
    if (holds(report)) return report;
    if (performance.now() > deadline) {
      throw new CaseFailure(
        `${what}: not within ${HANG_GUARD_MS} ms; peer log: ${report.log.map((entry) => entry.text).join('; ')}`,
      );
    }
    await delay(20);
  }
}

function sentFin(report: PeerReport, dir: Direction): boolean {
  return report.wire.some((event) => event.dir === dir && event.kind === 'fin');
}

/** The report after a truncation under truncation: 'error'. */
async function reportsTruncation(socket: ShutdownableSecureSocket): Promise<void> {
  const report = await socket.closed;
  equal(report.truncated, true, 'truncated');
  equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
}

/** The report after the peer's close_notify. */
async function reportsCleanEnd(socket: ShutdownableSecureSocket): Promise<void> {
  const report = await socket.closed;
  equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
  equal(report.truncated, false, 'truncated');
  equal(report.error, undefined, 'error');
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

interface Scenario {
  name: string;
  requirement: string;
  source: string;
  tls: ConformanceCase['tls'];
  /** The verdict hangs on opening the client's last alert record, which a TLS 1.2 server may not manage. */
  openedLastAlert?: true;
  timeoutMs?: number;
  run(ctx: CaseContext, role: Role): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'not-reading',
    requirement:
      'a bare FIN that comes while the application is not reading waits behind the unread data: every byte is read, then ERR_TLS_TRUNCATED',
    source:
      'RFC 8446 §6.1; spec §3 (the peer EOF without close_notify); backpressure must not lose or reorder the end',
    tls: 'each',
    timeoutMs: 120_000,
    async run(ctx, role) {
      const { peer, socket } = await against(
        ctx,
        role,
        [{ op: 'send', bytes: NOT_READING_BYTES, seed: 11 }, { op: 'fin' }],
        { observe: false },
      );
      await delay(NOT_READING_PAUSE_MS);
      const held = await peer.report();
      ctx.note(`after ${NOT_READING_PAUSE_MS} ms without reading the peer had sent ${held.sent.bytes} bytes`);
      check(
        held.sent.bytes < NOT_READING_BYTES,
        `the peer sent all ${NOT_READING_BYTES} bytes to an application that read nothing: no backpressure to test`,
      );
      const head = await readBytes(socket, NOT_READING_BYTES - NOT_READING_TAIL);
      // The FIN is on its way while the application reads nothing; the tail is still unread.
      await untilPeer(
        peer,
        (report) => report.log.some((entry) => entry.text.includes('bare FIN sent')),
        "the peer's FIN",
      );
      await delay(NOT_READING_PAUSE_MS);
      const tail = await readBytes(socket, NOT_READING_BYTES - head.byteLength);
      const received = concat([head, tail], NOT_READING_BYTES);
      equal(
        await sha256Hex(received),
        (await peer.report()).sent.sha256,
        'sha256 of every byte the peer sent',
      );
      await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() after the last byte');
      await reportsTruncation(socket);
    },
  },
  {
    name: 'slow-reader-clean-end',
    requirement:
      'a close_notify and FIN that arrive while the application reads slowly, with data still queued, are a clean end: every byte, then null',
    source:
      'RFC 8446 §6.1; spec §3 (truncation is judged on the wire, not on how fast the application reads); found on Node, whose client called such an end a truncation',
    tls: 'each',
    timeoutMs: 120_000,
    async run(ctx, role) {
      const { peer, socket } = await against(
        ctx,
        role,
        [{ op: 'send', bytes: SLOW_READER_BYTES, seed: 13 }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
        { observe: false, allowHalfOpen: true },
      );
      const chunks: Uint8Array[] = [];
      let received = 0;
      let sinceBreak = 0;
      for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) {
        chunks.push(chunk);
        received += chunk.byteLength;
        sinceBreak += chunk.byteLength;
        if (sinceBreak >= SLOW_READER_BREAK_EVERY) {
          sinceBreak = 0;
          await delay(SLOW_READER_BREAK_MS);
        }
      }
      equal(received, SLOW_READER_BYTES, 'bytes read before the end');
      equal(
        await sha256Hex(concat(chunks, received)),
        (await peer.report()).sent.sha256,
        'sha256 of every byte the peer sent',
      );
      await socket.close();
      await reportsCleanEnd(socket);
    },
  },
  {
    name: 'after-shutdown-write',
    requirement:
      "after our shutdown('write') a bare FIN from the peer is still ERR_TLS_TRUNCATED for the reader",
    source:
      'RFC 8446 §6.1 (a half-closed connection is still read to a close_notify); spec §3 shutdown(write)',
    tls: 'each',
    async run(ctx, role) {
      const { peer, socket } = await against(
        ctx,
        role,
        [{ op: 'readUntilEnd' }, { op: 'sendText', text: 'answer' }, { op: 'fin' }],
        { allowHalfOpen: true },
      );
      await socket.shutdown('write');
      equal(text(await readBytes(socket, 6)), 'answer', 'data after our shutdown');
      await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() at the bare FIN');
      await reportsTruncation(socket);
      equal((await socket.closed).closeNotifySent, true, 'closeNotifySent');
      const wire = (await peer.whenDone()).wire;
      check(
        !closingEvents(wire, peerDirection(role)).includes('alert:close_notify'),
        'the peer sent no close_notify',
      );
    },
  },
  {
    name: 'after-shutdown-read',
    requirement:
      "after our shutdown('read') a bare FIN is no error, but it is still counted: the report says truncated: true",
    source: "spec §3 (the peer's EOF without close_notify, after our own shutdown('read'))",
    tls: 'each',
    async run(ctx, role) {
      const { peer, socket } = await against(
        ctx,
        role,
        [
          { op: 'wait', signal: 'send' },
          { op: 'sendText', text: 'unread' },
          { op: 'fin' },
          { op: 'readUntilEnd' },
        ],
        { allowHalfOpen: true },
      );
      await socket.shutdown('read');
      equal(await socket.read(), null, "read() after shutdown('read')");
      await peer.signal('send');
      await untilPeer(peer, (report) => sentFin(report, peerDirection(role)), "the peer's FIN on the wire");
      equal(await socket.read(), null, 'read() after the bare FIN');
      const report = await socket.close({ timeoutMs: HANG_GUARD_MS });
      equal(report.truncated, true, 'truncated');
      equal(report.closeNotifyReceived, false, 'closeNotifyReceived');
      equal(report.error, undefined, 'error');
      equal(report.bytesDiscarded, 6, 'bytesDiscarded');
    },
  },
  {
    name: 'close-notify-then-late-fin',
    requirement:
      'a close_notify ends reading cleanly when it arrives, not when the FIN comes (here: only once we let the peer send it)',
    source: 'RFC 8446 §6.1 (close_notify is the end of the data; the TCP FIN may lag)',
    tls: 'each',
    openedLastAlert: true,
    async run(ctx, role) {
      const { peer, socket } = await against(ctx, role, [
        { op: 'sendText', text: 'done' },
        { op: 'closeNotify', fin: false },
        { op: 'wait', signal: 'fin' },
        { op: 'fin' },
      ]);
      equal(text(await readBytes(socket, 4)), 'done', 'data before the close_notify');
      // The peer holds its FIN until the signal below: a read that waited for it would hang here.
      equal(
        await settlesWithin(socket.read(), HANG_GUARD_MS, 'read() after the close_notify, the FIN held back'),
        null,
        'read() after the close_notify',
      );
      check(!sentFin(await peer.report(), peerDirection(role)), 'the peer has not sent its FIN yet');
      await peer.signal('fin');
      await reportsCleanEnd(socket);
    },
  },
  {
    name: 'warning-alert-then-fin',
    requirement: 'a warning alert (user_canceled) followed by a bare FIN is a truncation, not a clean end',
    source:
      'RFC 8446 §6.1 (only close_notify ends the data; user_canceled "should be followed by a close_notify")',
    tls: 'each',
    openedLastAlert: true,
    async run(ctx, role) {
      const { peer, socket } = await against(ctx, role, [
        { op: 'sendText', text: 'partial' },
        { op: 'alert', description: USER_CANCELED },
        { op: 'fin' },
      ]);
      equal(text(await readBytes(socket, 7)), 'partial', 'data before the alert');
      await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() at the FIN after the warning alert');
      await reportsTruncation(socket);
      endsWith(
        closingEvents((await peer.whenDone()).wire, peerDirection(role)),
        ['alert:user_canceled', 'fin'],
        'what the peer sent',
      );
    },
  },
  {
    name: 'key-update-then-close-notify',
    requirement: 'TLS 1.3: a close_notify under the keys after a KeyUpdate is a clean end',
    source: 'RFC 8446 §4.6.3 (KeyUpdate), §6.1',
    tls: 'any',
    async run(ctx, role) {
      const { peer, socket } = await against(
        ctx,
        role,
        [
          { op: 'sendText', text: 'before' },
          { op: 'keyUpdate' },
          { op: 'alert', description: CLOSE_NOTIFY },
          { op: 'fin' },
        ],
        { tls: 'TLSv1.3' },
      );
      equal(text(await readBytes(socket, 6)), 'before', 'data before the KeyUpdate');
      equal(await socket.read(), null, 'read() after the close_notify');
      await reportsCleanEnd(socket);
      const wire = (await peer.whenDone()).wire;
      check(
        wire.some(
          (event) =>
            event.dir === peerDirection(role) && event.kind === 'handshake' && event.type === 'KeyUpdate',
        ),
        'the peer sent a KeyUpdate',
      );
    },
  },
];

/** The scenarios with our socket as the client (`truncation.<name>`) or the server (`server.truncation.<name>`). */
function scenarioCases(role: Role): ConformanceCase[] {
  return SCENARIOS.map((scenario) => ({
    id: `${role === 'client' ? '' : 'server.'}truncation.${scenario.name}`,
    requirement: scenario.requirement,
    source: scenario.source,
    tls: scenario.tls,
    requires: role === 'client' ? ['truncationDetection'] : ['server', 'truncationDetection'],
    ...(role === 'server' && scenario.openedLastAlert
      ? { requiresOn: { 'TLSv1.2': ['tls12ServerCloseNotify'] } }
      : {}),
    ...(scenario.timeoutMs ? { timeoutMs: scenario.timeoutMs } : {}),
    run: (ctx) => scenario.run(ctx, role),
  }));
}

/** Our listen() socket against the same peer behaviours; listed with the other server cases. */
export const serverTruncationCases: ConformanceCase[] = scenarioCases('server');

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
  ...scenarioCases('client'),
];
