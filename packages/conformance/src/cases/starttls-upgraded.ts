import type { ShutdownableSecureSocket } from '@closenotify/core';
import {
  closingEvents,
  delay,
  equal,
  HANG_GUARD_MS,
  readBytes,
  rejectsWith,
  settlesWithin,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import { pseudoRandomBytes, type Step, sha256Hex } from '../peer-client.ts';

/**
 * STARTTLS cases about the upgraded socket, most found while bringing the upgrade to Deno (where it
 * runs over node:net and node:tls):
 * - an upgraded socket whose reader falls behind must still see every byte and the peer's exact
 *   ending (Deno's node:tls loses the TCP EOF while its TLS socket is paused, so pausing TLS for
 *   backpressure turned both endings into a read that never settled);
 * - the plaintext phase runs on a socket of its own there, so a STARTTLS client's noDelay and
 *   keepAlive are checked on the kernel socket, before and after the upgrade;
 * - an upgraded socket must answer the peer's close_notify with its own (Deno's node:tls destroyed the
 *   socket before the sealed record went out: the peer saw a bare FIN while our report said
 *   closeNotifySent), and a peer RST still reads as ERR_CONNECTION_RESET.
 */
const COMMAND = 'STARTTLS\r\n';
const GO_AHEAD = '220 go ahead\r\n';
/** Far beyond core's pause mark (128 KiB) and the kernel's buffers: the reader's backpressure reaches the peer. */
const BEHIND_BYTES = 4 * 1024 * 1024;
/** How long the application reads nothing while the peer sends; the ending is on its way meanwhile. */
const NOT_READING_MS = 300;
const SEED = 13;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

type Ending = 'close-notify' | 'fin';

function endingSteps(ending: Ending): Step[] {
  return [
    { op: 'send', bytes: BEHIND_BYTES, seed: SEED },
    ending === 'close-notify' ? { op: 'closeNotify' } : { op: 'fin' },
    { op: 'waitEnd' },
  ];
}

/**
 * How the application reads: 'behind' reads nothing for a while, then everything; 'slow' takes a
 * short break every 64 KiB, so the peer's ending arrives while data is still queued.
 */
type Pace = 'behind' | 'slow';
const SLOW_BREAK_EVERY = 64 * 1024;
const SLOW_BREAK_MS = 2;

async function readSlowly(secure: ShutdownableSecureSocket, bytes: number): Promise<Uint8Array> {
  const received = new Uint8Array(bytes);
  let offset = 0;
  let sinceBreak = 0;
  while (offset < bytes) {
    const chunk = await secure.read();
    if (chunk === null) break;
    received.set(chunk.subarray(0, bytes - offset), offset);
    offset += chunk.byteLength;
    sinceBreak += chunk.byteLength;
    if (sinceBreak >= SLOW_BREAK_EVERY) {
      sinceBreak = 0;
      await delay(SLOW_BREAK_MS);
    }
  }
  equal(offset, bytes, 'bytes read before the end');
  return received;
}

/** Reads at `pace`: every byte in order, then the ending the peer sent. */
async function readBehind(secure: ShutdownableSecureSocket, ending: Ending, pace: Pace): Promise<void> {
  if (pace === 'behind') await delay(NOT_READING_MS);
  const received = await settlesWithin(
    pace === 'behind' ? readBytes(secure, BEHIND_BYTES) : readSlowly(secure, BEHIND_BYTES),
    HANG_GUARD_MS,
    `reading ${BEHIND_BYTES} bytes (${pace === 'behind' ? 'after falling behind' : 'slowly'})`,
  );
  equal(
    await sha256Hex(received),
    await sha256Hex(pseudoRandomBytes(BEHIND_BYTES, SEED)),
    'sha256 of every byte the peer sent over TLS',
  );
  if (ending === 'close-notify') {
    equal(await settlesWithin(secure.read(), HANG_GUARD_MS, 'read() after the last byte'), null, 'read()');
    const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
    equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
    equal(report.truncated, false, 'truncated');
  } else {
    await rejectsWith(
      settlesWithin(secure.read(), HANG_GUARD_MS, 'read() after the last byte'),
      'ERR_TLS_TRUNCATED',
      'read() after a bare FIN',
    );
    const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
    equal(report.truncated, true, 'truncated');
  }
}

/** `reader-behind.<ending>`, or `slow-reader.<ending>`. */
const readerName = (pace: Pace, ending: Ending): string =>
  `${pace === 'behind' ? 'reader-behind' : 'slow-reader'}.${ending}`;
const readerWords = (pace: Pace): string => (pace === 'behind' ? 'whose reader fell behind' : 'read slowly');

function clientCase(ending: Ending, pace: Pace = 'behind'): ConformanceCase {
  return {
    id: `starttls.upgraded.${readerName(pace, ending)}`,
    requirement: `an upgraded client socket ${readerWords(pace)} reads every byte, then the server's ${ending === 'fin' ? 'bare FIN as ERR_TLS_TRUNCATED' : 'close_notify as the clean end'}`,
    source:
      'RFC 8446 §6.1; spec §2.5 (the upgraded socket is an ordinary secure socket); backpressure must not lose the end',
    tls: 'each',
    requires: ['startTls', 'truncationDetection'],
    async run(ctx: CaseContext) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        observe: false,
        steps: [
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          ...endingSteps(ending),
        ],
      });
      const plain = await ctx.connect(peer, { secureTransport: 'starttls' });
      await plain.write(COMMAND);
      equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
      await readBehind(await ctx.startTls(plain), ending, pace);
    },
  };
}

function serverCase(ending: Ending, pace: Pace = 'behind'): ConformanceCase {
  return {
    id: `server.starttls.upgraded.${readerName(pace, ending)}`,
    requirement: `an upgraded server socket ${readerWords(pace)} reads every byte, then the client's ${ending === 'fin' ? 'bare FIN as ERR_TLS_TRUNCATED' : 'close_notify as the clean end'}`,
    source:
      'RFC 8446 §6.1; spec §2.5 (the upgraded socket is an ordinary secure socket); backpressure must not lose the end',
    tls: 'each',
    requires: ['server', 'startTls', 'truncationDetection'],
    async run(ctx: CaseContext) {
      const { server, next } = await ctx.listen({ secureTransport: 'starttls' });
      await ctx.peer({
        role: 'client',
        startTls: true,
        observe: false,
        connect: { port: server.address.port },
        steps: [
          { op: 'sendText', text: COMMAND },
          { op: 'read', bytes: GO_AHEAD.length },
          { op: 'startTls' },
          ...endingSteps(ending),
        ],
      });
      const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
      equal(text(await readBytes(plain, COMMAND.length)), COMMAND, 'STARTTLS request');
      await plain.write(GO_AHEAD);
      await readBehind(await ctx.startTls(plain), ending, pace);
    },
  };
}

/**
 * The socket options of a STARTTLS client reach the kernel socket and survive the upgrade, as on a
 * direct connect: the plaintext phase runs on a socket of its own on Deno (node:net).
 */
function socketOptionsCase(
  name: string,
  options: { noDelay?: boolean; keepAlive?: boolean },
  expected: { noDelay: boolean; keepAlive: boolean },
): ConformanceCase {
  return {
    id: `starttls.socket-options.${name}`,
    requirement: `a STARTTLS client with ${JSON.stringify(options)} has TCP_NODELAY ${expected.noDelay ? 'set' : 'clear'} and SO_KEEPALIVE ${expected.keepAlive ? 'set' : 'clear'}, before and after startTls()`,
    source: 'the noDelay and keepAlive options of connect(); spec §2.5; tcp(7), socket(7)',
    tls: 'any',
    requires: ['startTls', ...(options.keepAlive ? (['keepAlive'] as const) : [])],
    async run(ctx: CaseContext) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        observe: false,
        steps: [
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          { op: 'echo' },
          { op: 'closeNotify' },
        ],
      });
      const plain = await ctx.connect(peer, { secureTransport: 'starttls', ...options });
      const before = await ctx.kernelSocketOptions(plain);
      ctx.note(`kernel before startTls(): ${JSON.stringify(before)}`);
      equal(before.noDelay, expected.noDelay, 'TCP_NODELAY of the plaintext socket');
      equal(before.keepAlive, expected.keepAlive, 'SO_KEEPALIVE of the plaintext socket');
      await plain.write(COMMAND);
      equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
      const secure = await ctx.startTls(plain);
      const after = await ctx.kernelSocketOptions(secure);
      equal(after.noDelay, expected.noDelay, 'TCP_NODELAY of the upgraded socket');
      equal(after.keepAlive, expected.keepAlive, 'SO_KEEPALIVE of the upgraded socket');
      await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
    },
  };
}

/** The ordinary RST and half-open behaviour of a secure socket, on one that startTls() upgraded. */
const upgradedEndingCases: ConformanceCase[] = [
  {
    id: 'starttls.upgraded.peer-rst',
    requirement:
      'a peer RST in the middle of an upgraded stream rejects reads and writes with ERR_CONNECTION_RESET',
    source: 'spec §2.5 (the upgraded socket is an ordinary secure socket); spec §3 peer RST',
    tls: 'any',
    requires: ['startTls'],
    async run(ctx: CaseContext) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        steps: [
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          { op: 'send', bytes: 65536 },
          { op: 'wait', signal: 'rst' },
          { op: 'rst' },
        ],
      });
      const plain = await ctx.connect(peer, { secureTransport: 'starttls' });
      await plain.write(COMMAND);
      equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
      const secure = await ctx.startTls(plain);
      await readBytes(secure, 65536);
      await peer.signal('rst');
      await rejectsWith(
        settlesWithin(secure.read(), HANG_GUARD_MS, 'read() at the RST'),
        'ERR_CONNECTION_RESET',
        'read() at the RST',
      );
      await rejectsWith(secure.write('after the reset'), 'ERR_CONNECTION_RESET', 'write() after the RST');
      equal((await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed')).initiator, 'error', 'initiator');
    },
  },
  {
    id: 'starttls.upgraded.answers-close-notify',
    requirement:
      "an upgraded client socket answers the server's close_notify with its own, then FIN, as a direct connection does",
    source: 'RFC 8446 §6.1 (each party MUST send close_notify before closing its write side); spec §2.5',
    tls: 'each',
    requires: ['startTls'],
    async run(ctx: CaseContext) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        steps: [
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          { op: 'sendText', text: '221 bye\r\n' },
          { op: 'closeNotify' },
          { op: 'readUntilEnd' },
        ],
      });
      const plain = await ctx.connect(peer, { secureTransport: 'starttls' });
      await plain.write(COMMAND);
      equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
      const secure = await ctx.startTls(plain);
      equal(text(await readBytes(secure, 9)), '221 bye\r\n', 'the last answer');
      equal(
        await settlesWithin(secure.read(), HANG_GUARD_MS, "read() to the server's close_notify"),
        null,
        'read()',
      );
      const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      const done = await peer.whenDone();
      equal(
        closingEvents(done.wire, 'c2s').join(' '),
        'alert:close_notify fin',
        `our side of the wire after the upgrade (${done.wireSummary})`,
      );
    },
  },
  {
    id: 'server.starttls.upgraded.half-open',
    requirement:
      "with allowHalfOpen an upgraded server socket keeps writing after the client's close_notify, and the client reads it all",
    source: 'spec §2.5; spec §3.2 (allowHalfOpen); RFC 8446 §6.1',
    tls: 'each',
    requires: ['server', 'startTls', 'halfClose'],
    async run(ctx: CaseContext) {
      const { server, next } = await ctx.listen({ secureTransport: 'starttls', allowHalfOpen: true });
      const peer = await ctx.peer({
        role: 'client',
        startTls: true,
        connect: { port: server.address.port },
        steps: [
          { op: 'sendText', text: COMMAND },
          { op: 'read', bytes: GO_AHEAD.length },
          { op: 'startTls' },
          { op: 'closeNotify' },
          { op: 'readUntilEnd' },
        ],
      });
      const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
      equal(text(await readBytes(plain, COMMAND.length)), COMMAND, 'STARTTLS request');
      await plain.write(GO_AHEAD);
      const secure = await ctx.startTls(plain);
      equal(
        await settlesWithin(secure.read(), HANG_GUARD_MS, "read() to the client's close_notify"),
        null,
        'read()',
      );
      await secure.write('after your close_notify');
      const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      const done = await peer.whenDone();
      equal(
        done.received.bytes,
        GO_AHEAD.length + 'after your close_notify'.length,
        'bytes the client read (the go-ahead, then over TLS)',
      );
      equal(
        closingEvents(done.wire, 's2c').join(' '),
        'data alert:close_notify fin',
        `our side of the wire (${done.wireSummary})`,
      );
    },
  },
];

export const starttlsUpgradedCases: ConformanceCase[] = [
  ...upgradedEndingCases,
  clientCase('close-notify'),
  clientCase('fin'),
  serverCase('close-notify'),
  serverCase('fin'),
  // A close_notify that comes while the reader is behind is still a clean end: the client's cipher
  // stream once judged it by which 'end' came first (on Node, and on Deno's copy of that path).
  clientCase('close-notify', 'slow'),
  serverCase('close-notify', 'slow'),
  socketOptionsCase('defaults', {}, { noDelay: true, keepAlive: false }),
  socketOptionsCase(
    'no-delay-off-keep-alive',
    { noDelay: false, keepAlive: true },
    { noDelay: false, keepAlive: true },
  ),
];
