import {
  type CloseReport,
  isSecureSocketError,
  type Socket,
  type SocketsApiOptions,
  socketsApi,
} from '@closenotify/core';
import {
  CaseFailure,
  check,
  closingEvents,
  endsWith,
  equal,
  HANG_GUARD_MS,
  rejectsWith,
  settlesWithin,
  valueWithin,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import type { WireEvent } from '../peer-client.ts';

/**
 * The WinterTC Sockets API facade (`socketsApi(adapter)`, published as `closenotify/sockets`) over the
 * adapter under test: the draft's rules for `opened`, `closed`, `close()`, `startTls()` and
 * `allowHalfOpen`, and closenotify's where the draft is silent (close_notify, truncation).
 */

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The facade's connect() over the adapter under test. */
function facade(ctx: CaseContext) {
  return socketsApi(ctx.adapter);
}

/** TLS to a peer of the suite, trusting the test CA. */
function secure(ctx: CaseContext, extra: SocketsApiOptions = {}): SocketsApiOptions {
  return { secureTransport: 'on', ...ctx.trusting(ctx.pki.ca), ...extra };
}

/** Reads exactly `count` bytes from a reader (fails at the end of the stream). */
async function readExactly(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<string> {
  let received = '';
  while (received.length < count) {
    const { value, done } = await settlesWithin(reader.read(), HANG_GUARD_MS, 'a read');
    if (done) throw new CaseFailure(`the readable ended after ${received.length} of ${count} bytes`);
    received += text(value);
  }
  return received;
}

/** Everything until the readable ends cleanly. */
async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  let received = '';
  const reader = readable.getReader();
  for (;;) {
    const { value, done } = await settlesWithin(reader.read(), HANG_GUARD_MS, 'a read');
    if (done) return received;
    received += text(value);
  }
}

async function write(socket: Socket, data: string): Promise<void> {
  const writer = socket.writable.getWriter();
  try {
    await settlesWithin(writer.write(data), HANG_GUARD_MS, 'a write');
  } finally {
    writer.releaseLock();
  }
}

/** The facade's report, which only a socket that connected has. */
async function reportOf(socket: Socket): Promise<CloseReport> {
  const report = await settlesWithin(socket.closeReport, HANG_GUARD_MS, 'closeReport');
  if (!report) throw new CaseFailure('closeReport: null, though the socket connected');
  return report;
}

/** `call` must throw a SecureSocketError of `code` synchronously. */
function throwsWith(call: () => unknown, code: string, what: string): void {
  try {
    call();
  } catch (error) {
    if (!isSecureSocketError(error))
      throw new CaseFailure(`${what}: threw a non-SecureSocketError: ${String(error)}`);
    equal(error.code, code, `${what}: code`);
    return;
  }
  throw new CaseFailure(`${what}: returned, expected ${code} thrown synchronously`);
}

function plaintextBytes(wire: WireEvent[], dir: 'c2s' | 's2c'): number {
  let total = 0;
  for (const event of wire) if (event.dir === dir && event.kind === 'plaintext') total += event.bytes;
  return total;
}

const GREETING = '220 ready\r\n';
const COMMAND = 'STARTTLS\r\n';
const GO_AHEAD = '220 go ahead\r\n';

export const socketsApiCases: ConformanceCase[] = [
  {
    id: 'sockets-api.echo',
    requirement:
      "connect() returns a Socket at once, usable before it opens; opened gives the addresses and ALPN; close() sends close_notify and FIN, and closed resolves after the peer's",
    source: 'WinterTC Sockets API draft (connect, opened, close); RFC 8446 §6.1',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        alpn: ['http/1.1'],
        steps: [{ op: 'echo' }, { op: 'closeNotify' }],
      });
      const socket = facade(ctx)(`localhost:${peer.port}`, secure(ctx, { alpn: ['h2', 'http/1.1'] }));
      check(!(socket instanceof Promise), 'connect() returned a promise, not a Socket');
      equal(socket.upgraded, false, 'upgraded');
      // Written before the handshake is done: the draft lets the streams be used at once.
      await write(socket, 'ping');
      const info = await settlesWithin(socket.opened, HANG_GUARD_MS, 'opened');
      equal(info.alpn, 'http/1.1', 'opened: alpn');
      check(info.remoteAddress?.endsWith(`:${peer.port}`), `opened: remoteAddress ${info.remoteAddress}`);
      check(info.localAddress?.includes(':'), `opened: localAddress ${info.localAddress}`);
      const reader = socket.readable.getReader();
      equal(await readExactly(reader, 4), 'ping', 'echo');
      reader.releaseLock();
      await settlesWithin(socket.close(), HANG_GUARD_MS, 'close()');
      const report = await reportOf(socket);
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(report.error?.code, undefined, 'report error');
      endsWith(
        closingEvents((await peer.whenDone()).wire, 'c2s'),
        ['data', 'alert:close_notify', 'fin'],
        'what we sent',
      );
    },
  },
  {
    id: 'sockets-api.peer-end-closes',
    requirement:
      "with allowHalfOpen false (the draft's default) the peer's close_notify ends readable after all its data, we answer with close_notify and FIN, and closed resolves without close()",
    source: 'WinterTC Sockets API draft (allowHalfOpen, closed); RFC 5246 §7.2.1',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'bye' }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const socket = facade(ctx)({ hostname: 'localhost', port: peer.port }, secure(ctx));
      equal(await readAll(socket.readable), 'bye', 'what we read');
      await settlesWithin(socket.closed, HANG_GUARD_MS, 'closed (without close())');
      const report = await reportOf(socket);
      equal(report.initiator, 'peer', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      endsWith(
        closingEvents((await peer.whenDone()).wire, 'c2s'),
        ['alert:close_notify', 'fin'],
        'our answer',
      );
    },
  },
  {
    id: 'sockets-api.half-open',
    requirement:
      "with allowHalfOpen: true the peer's close_notify ends readable only: we keep writing, closed stays pending, and closing writable ends the connection",
    source: 'WinterTC Sockets API draft (allowHalfOpen); RFC 8446 §6.1',
    tls: 'each',
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'request' }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const socket = facade(ctx)(`localhost:${peer.port}`, secure(ctx, { allowHalfOpen: true }));
      equal(await readAll(socket.readable), 'request', 'what we read');
      const early = await valueWithin(
        socket.closed.then(() => 'settled'),
        200,
      );
      equal(early, undefined, 'closed after the peer close_notify, with our side still open');
      const writer = socket.writable.getWriter();
      await settlesWithin(writer.write('reply'), HANG_GUARD_MS, 'write after the peer close_notify');
      await settlesWithin(writer.close(), HANG_GUARD_MS, 'writable.close()');
      await settlesWithin(socket.closed, HANG_GUARD_MS, 'closed once both directions ended');
      const done = await peer.whenDone();
      equal(done.received.bytes, 5, 'bytes the peer received after its close_notify');
      endsWith(closingEvents(done.wire, 'c2s'), ['data', 'alert:close_notify', 'fin'], 'what we sent');
    },
  },
  {
    id: 'sockets-api.truncation',
    requirement:
      "a peer FIN without close_notify is not a clean end: readable errors and closed rejects with ERR_TLS_TRUNCATED (truncation: 'ignore': both end cleanly, closeReport.truncated true)",
    source: 'RFC 8446 §6.1 (truncation attacks); closenotify where the draft is silent',
    tls: 'each',
    requires: ['truncationDetection'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'partial' }, { op: 'fin' }],
      });
      const socket = facade(ctx)(`localhost:${peer.port}`, secure(ctx));
      const reader = socket.readable.getReader();
      equal(await readExactly(reader, 7), 'partial', 'data before the FIN');
      await rejectsWith(reader.read(), 'ERR_TLS_TRUNCATED', 'read at the bare FIN');
      await rejectsWith(settlesWithin(socket.closed, HANG_GUARD_MS, 'closed'), 'ERR_TLS_TRUNCATED', 'closed');
      equal((await reportOf(socket)).truncated, true, 'truncated');

      const lenient = await ctx.peer({
        role: 'server',
        steps: [{ op: 'sendText', text: 'partial' }, { op: 'fin' }],
      });
      const ignoring = facade(ctx)(`localhost:${lenient.port}`, secure(ctx, { truncation: 'ignore' }));
      equal(await readAll(ignoring.readable), 'partial', "truncation: 'ignore': what we read");
      await settlesWithin(ignoring.closed, HANG_GUARD_MS, "truncation: 'ignore': closed");
      equal((await reportOf(ignoring)).truncated, true, "truncation: 'ignore': truncated");
    },
  },
  {
    id: 'sockets-api.reset',
    requirement: 'a peer RST errors readable and rejects closed with ERR_CONNECTION_RESET',
    source: 'WinterTC Sockets API draft (closed rejects on error); spec §3 (peer RST)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'rst' }] });
      const socket = facade(ctx)(`localhost:${peer.port}`, secure(ctx));
      await settlesWithin(socket.opened, HANG_GUARD_MS, 'opened');
      await rejectsWith(socket.readable.getReader().read(), 'ERR_CONNECTION_RESET', 'read at the RST');
      await rejectsWith(
        settlesWithin(socket.closed, HANG_GUARD_MS, 'closed'),
        'ERR_CONNECTION_RESET',
        'closed',
      );
    },
  },
  {
    id: 'sockets-api.connect-failure',
    requirement:
      'a failed connect or handshake rejects opened and closed with the stable code, and reads and writes fail with it',
    source: 'WinterTC Sockets API draft (connect steps: reject opened and closed); spec §5',
    tls: 'any',
    async run(ctx) {
      const gone = await ctx.peer({ role: 'server', observe: false });
      await gone.stop();
      const refused = facade(ctx)(`localhost:${gone.port}`, secure(ctx));
      await rejectsWith(
        settlesWithin(refused.opened, HANG_GUARD_MS, 'opened'),
        'ERR_CONNECT_REFUSED',
        'opened',
      );
      await rejectsWith(refused.closed, 'ERR_CONNECT_REFUSED', 'closed');
      await rejectsWith(refused.readable.getReader().read(), 'ERR_CONNECT_REFUSED', 'read');
      await rejectsWith(refused.writable.getWriter().write('x'), 'ERR_CONNECT_REFUSED', 'write');
      equal(await refused.closeReport, null, 'closeReport of a socket that never connected');

      const untrusted = await ctx.peer({ role: 'server', certificate: 'untrusted', observe: false });
      const socket = facade(ctx)(`localhost:${untrusted.port}`, secure(ctx));
      await rejectsWith(
        settlesWithin(socket.opened, HANG_GUARD_MS, 'opened'),
        'ERR_TLS_CERT_UNTRUSTED',
        'opened (untrusted certificate)',
      );
      await rejectsWith(socket.closed, 'ERR_TLS_CERT_UNTRUSTED', 'closed (untrusted certificate)');
    },
  },
  {
    id: 'sockets-api.bad-input',
    requirement:
      'a malformed address or option throws ERR_INVALID_OPTION from connect() synchronously, and startTls() on a socket not opened for it throws ERR_UNSUPPORTED',
    source: 'WinterTC Sockets API draft (connect may throw; startTls must fail); spec §5',
    tls: 'any',
    async run(ctx) {
      const connect = facade(ctx);
      throwsWith(() => connect('localhost', secure(ctx)), 'ERR_INVALID_OPTION', 'an address without a port');
      throwsWith(() => connect('localhost:0', secure(ctx)), 'ERR_INVALID_OPTION', 'port 0');
      throwsWith(() => connect('localhost:65536', secure(ctx)), 'ERR_INVALID_OPTION', 'port 65536');
      throwsWith(
        () => connect('::1:443', secure(ctx)),
        'ERR_INVALID_OPTION',
        'an IPv6 address without brackets',
      );
      throwsWith(
        () => connect({ hostname: '', port: 443 }, secure(ctx)),
        'ERR_INVALID_OPTION',
        'an empty hostname',
      );
      throwsWith(
        () => connect('localhost:443', { sni: 'localhost' }),
        'ERR_INVALID_OPTION',
        "sni with secureTransport 'off'",
      );
      throwsWith(
        () => connect('localhost:443', secure(ctx, { secureTransport: 'tls' as 'on' })),
        'ERR_INVALID_OPTION',
        "secureTransport 'tls'",
      );
      throwsWith(
        () => connect('localhost:443', secure(ctx, { closeTimeoutMs: -1 })),
        'ERR_INVALID_OPTION',
        'closeTimeoutMs: -1',
      );
      const peer = await ctx.peer({ role: 'server', steps: [{ op: 'readUntilEnd' }, { op: 'closeNotify' }] });
      const socket = connect(`localhost:${peer.port}`, secure(ctx));
      await settlesWithin(socket.opened, HANG_GUARD_MS, 'opened');
      throwsWith(() => socket.startTls(), 'ERR_UNSUPPORTED', "startTls() with secureTransport 'on'");
      await settlesWithin(socket.close(), HANG_GUARD_MS, 'close()');
    },
  },
  {
    id: 'sockets-api.close-before-open',
    requirement:
      'close(reason) before the handshake completes cancels the connect: opened rejects with the reason, closed resolves, nothing stays open',
    source: 'WinterTC Sockets API draft (close: a pending opened rejects with the reason)',
    tls: 'any',
    async run(ctx) {
      const peer = await ctx.peer({ role: 'server', onAccept: 'silent', observe: false });
      const socket = facade(ctx)(`localhost:${peer.port}`, secure(ctx));
      const reason = new Error('changed my mind');
      const closing = socket.close(reason);
      equal(closing, socket.closed, 'close() returns closed');
      await settlesWithin(closing, HANG_GUARD_MS, 'close() during the handshake');
      let rejected: unknown;
      await socket.opened.catch((error: unknown) => {
        rejected = error;
      });
      equal(rejected, reason, 'opened rejected with');
      let readError: unknown;
      await socket.readable
        .getReader()
        .read()
        .catch((error: unknown) => {
          readError = error;
        });
      equal(readError, reason, 'readable errored with');
    },
  },
  {
    id: 'sockets-api.starttls',
    requirement:
      "secureTransport 'starttls': plaintext through the streams, then startTls() returns a new verified Socket; the old one is upgraded, its streams fail and its closed resolves",
    source: 'WinterTC Sockets API draft (startTls, upgraded); RFC 3207',
    tls: 'each',
    requires: ['startTls'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        steps: [
          { op: 'sendText', text: GREETING },
          { op: 'read', bytes: COMMAND.length },
          { op: 'sendText', text: GO_AHEAD },
          { op: 'startTls' },
          { op: 'echo' },
          { op: 'closeNotify' },
        ],
      });
      const plain = facade(ctx)(`localhost:${peer.port}`, secure(ctx, { secureTransport: 'starttls' }));
      const reader = plain.readable.getReader();
      equal(await readExactly(reader, GREETING.length), GREETING, 'greeting');
      await write(plain, COMMAND);
      equal(await readExactly(reader, GO_AHEAD.length), GO_AHEAD, 'go-ahead');
      const tls = plain.startTls();
      equal(plain.upgraded, true, 'upgraded, on the old socket');
      equal(tls.upgraded, false, 'upgraded, on the new socket');
      await rejectsWith(reader.read(), 'ERR_SOCKET_DETACHED', 'a read on the old socket');
      await settlesWithin(plain.closed, HANG_GUARD_MS, 'closed of the old socket');
      throwsWith(() => plain.startTls(), 'ERR_SOCKET_DETACHED', 'startTls() again');
      const info = await settlesWithin(tls.opened, HANG_GUARD_MS, 'opened of the new socket');
      check(info.session.protocol !== undefined, 'session info');
      await write(tls, 'secret');
      const secureReader = tls.readable.getReader();
      equal(await readExactly(secureReader, 6), 'secret', 'echo over TLS');
      secureReader.releaseLock();
      await settlesWithin(tls.close(), HANG_GUARD_MS, 'close() of the new socket');
      const done = await peer.whenDone();
      equal(plaintextBytes(done.wire, 'c2s'), COMMAND.length, 'plaintext we sent');
      endsWith(
        closingEvents(done.wire, 'c2s'),
        ['data', 'alert:close_notify', 'fin'],
        'what we sent over TLS',
      );
    },
  },
  {
    id: 'sockets-api.plain-tcp',
    requirement:
      "secureTransport 'off' (the draft's default) is plain TCP: close() sends a FIN and no TLS record, and startTls() is refused",
    source: 'WinterTC Sockets API draft (SecureTransportKind off)',
    tls: 'any',
    // A plaintext connection is the adapter's plaintext phase, which comes with STARTTLS.
    requires: ['startTls'],
    async run(ctx) {
      const peer = await ctx.peer({
        role: 'server',
        startTls: true,
        steps: [{ op: 'sendText', text: GREETING }, { op: 'readUntilEnd' }, { op: 'fin' }],
      });
      const socket = facade(ctx)(`localhost:${peer.port}`);
      const reader = socket.readable.getReader();
      equal(await readExactly(reader, GREETING.length), GREETING, 'greeting');
      reader.releaseLock();
      await write(socket, 'QUIT\r\n');
      throwsWith(() => socket.startTls(), 'ERR_UNSUPPORTED', "startTls() with secureTransport 'off'");
      await settlesWithin(socket.close(), HANG_GUARD_MS, 'close()');
      const report = await reportOf(socket);
      equal(report.closeNotifySent, false, 'closeNotifySent');
      const done = await peer.whenDone();
      equal(plaintextBytes(done.wire, 'c2s'), 6, 'plaintext we sent');
      equal(closingEvents(done.wire, 'c2s').join(' '), 'fin', 'our side of the wire');
    },
  },
];
