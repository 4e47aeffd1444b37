import type { SecureSocketError, ShutdownableSecureSocket } from '@closenotify/core';
import {
  CaseFailure,
  check,
  closingEvents,
  delay,
  equal,
  eventually,
  HANG_GUARD_MS,
  readBytes,
  rejectsWith,
  settlesWithin,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import type { CertificateVariant, Direction, PeerHandle, PeerSpec, Step, WireEvent } from '../peer-client.ts';
import { clientRefused, describeClient, REFUSED_CLIENTS, RefusalVerdicts } from './client-certificate.ts';

/**
 * STARTTLS in both roles (spec §2.5), over a small SMTP-like exchange: the client asks with
 * `STARTTLS\r\n`, the server answers `220 go ahead\r\n`, and both sides start TLS on the same TCP
 * connection. The peer speaks plaintext until its `startTls` step, and the wire observer reports the
 * bytes before each direction's first TLS record as `plaintext`.
 */
const COMMAND = 'STARTTLS\r\n';
const GO_AHEAD = '220 go ahead\r\n';
const INJECTED = 'MAIL FROM:<attacker@example.org>\r\n';
const GREETING = '220 ready\r\n';
const HELLO = 'EHLO client\r\n';
const HANDSHAKE_TIMEOUT_MS = 500;
/**
 * Once the wire observer has passed bytes on, they are in this runtime's kernel buffer; a runtime that
 * is not busy reads them in its next poll. This settle only lets the loop turn: the check it enables
 * (bytes waiting unread at startTls()) then holds whatever the runtime's speed.
 */
const READ_SETTLE_MS = 100;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The peer (a server) for our client: greeting, EHLO answered, then the STARTTLS exchange. */
function serverPeerSteps(afterGoAhead: Step[]): Step[] {
  return [
    { op: 'sendText', text: GREETING },
    { op: 'read', bytes: HELLO.length },
    { op: 'sendText', text: '250 ok\r\n' },
    { op: 'read', bytes: COMMAND.length },
    { op: 'sendText', text: GO_AHEAD },
    ...afterGoAhead,
  ];
}

/** Our client's side of serverPeerSteps, up to the go-ahead: the plaintext socket, ready to upgrade. */
async function plaintextUntilGoAhead(ctx: CaseContext, peer: PeerHandle): Promise<ShutdownableSecureSocket> {
  const plain = await ctx.connect(peer, { secureTransport: 'starttls' });
  equal(plain.state, 'plaintext', 'state of a starttls socket');
  equal(text(await readBytes(plain, GREETING.length)), GREETING, 'greeting');
  await plain.write(HELLO);
  equal(text(await readBytes(plain, 8)), '250 ok\r\n', 'EHLO answer');
  await plain.write(COMMAND);
  equal(text(await readBytes(plain, GO_AHEAD.length)), GO_AHEAD, 'go-ahead');
  return plain;
}

/** The plaintext our side and the peer exchanged on the wire, per direction. */
function plaintextBytes(wire: WireEvent[], dir: Direction): number {
  let total = 0;
  for (const event of wire) if (event.dir === dir && event.kind === 'plaintext') total += event.bytes;
  return total;
}

/** Until the wire observer has passed `bytes` of plaintext on in `dir`, then READ_SETTLE_MS. */
async function plaintextArrived(peer: PeerHandle, dir: Direction, bytes: number): Promise<void> {
  const deadline = performance.now() + HANG_GUARD_MS;
  while (plaintextBytes((await peer.report()).wire, dir) < bytes) {
    if (performance.now() > deadline) {
      throw new CaseFailure(
        `the observer did not see ${bytes} plaintext bytes ${dir} within ${HANG_GUARD_MS} ms`,
      );
    }
    await delay(20);
  }
  await delay(READ_SETTLE_MS);
}

/** Until the wire observer has passed on the first TLS handshake record in `dir`, then READ_SETTLE_MS. */
async function handshakeArrived(peer: PeerHandle, dir: Direction): Promise<void> {
  const deadline = performance.now() + HANG_GUARD_MS;
  while (!(await peer.report()).wire.some((event) => event.dir === dir && event.kind === 'handshake')) {
    if (performance.now() > deadline) {
      throw new CaseFailure(`the observer saw no TLS handshake record ${dir} within ${HANG_GUARD_MS} ms`);
    }
    await delay(20);
  }
  await delay(READ_SETTLE_MS);
}

/** The plaintext socket's report once startTls() took its connection. */
async function expectDetachedReport(
  plain: ShutdownableSecureSocket,
  bytesRead: number,
  bytesWritten: number,
) {
  const report = await settlesWithin(plain.closed, HANG_GUARD_MS, 'the plaintext socket closed');
  equal(report.upgraded, true, 'plaintext report: upgraded');
  equal(report.error?.code, undefined, 'plaintext report: error');
  equal(report.closeNotifySent, false, 'plaintext report: closeNotifySent');
  equal(report.bytesRead, bytesRead, 'plaintext report: bytesRead');
  equal(report.bytesWritten, bytesWritten, 'plaintext report: bytesWritten');
  equal(plain.state, 'closed', 'state of the detached plaintext socket');
}

const CLIENT_PLAINTEXT_READ = GREETING.length + 8 + GO_AHEAD.length;
const CLIENT_PLAINTEXT_WRITTEN = HELLO.length + COMMAND.length;

/** The peer (a client) for our server: the STARTTLS request, the go-ahead read, then `after`. */
function clientPeer(
  ctx: CaseContext,
  port: number,
  after: Step[],
  extra: Pick<PeerSpec, 'requestClientCert' | 'clientCertificate' | 'observe'> = {},
) {
  return ctx.peer({
    role: 'client',
    startTls: true,
    connect: { port },
    ...extra,
    steps: [{ op: 'sendText', text: COMMAND }, { op: 'read', bytes: GO_AHEAD.length }, ...after],
  });
}

/** Our server's side: the plaintext socket handed out, the request read and answered. */
async function acceptUntilGoAhead(
  next: () => Promise<ShutdownableSecureSocket>,
): Promise<ShutdownableSecureSocket> {
  const plain = await settlesWithin(next(), HANG_GUARD_MS, 'a plaintext socket handed out');
  equal(plain.state, 'plaintext', 'state of an accepted starttls socket');
  equal(text(await readBytes(plain, COMMAND.length)), COMMAND, 'STARTTLS request');
  await plain.write(GO_AHEAD);
  return plain;
}

type Role = 'client' | 'server';

/** A plaintext socket of ours at the go-ahead, in either role, and what the wire should show of it. */
interface AtGoAhead {
  peer: PeerHandle;
  plain: ShutdownableSecureSocket;
  /** Our direction on the wire and the peer's. */
  ours: Direction;
  theirs: Direction;
  /** The plaintext our socket read and wrote up to the go-ahead. */
  plaintextRead: number;
  plaintextWritten: number;
}

/**
 * Our socket in `role` with the STARTTLS exchange done: as a client against a server peer (greeting,
 * EHLO, STARTTLS, go-ahead), as a server under a starttls listener against a client peer (STARTTLS,
 * go-ahead). The peer goes on with `afterGoAhead`.
 */
async function atGoAhead(
  ctx: CaseContext,
  role: Role,
  afterGoAhead: Step[],
  certificate?: CertificateVariant,
): Promise<AtGoAhead> {
  if (role === 'client') {
    const peer = await ctx.peer({
      role: 'server',
      startTls: true,
      ...(certificate ? { certificate } : {}),
      steps: serverPeerSteps(afterGoAhead),
    });
    return {
      peer,
      plain: await plaintextUntilGoAhead(ctx, peer),
      ours: 'c2s',
      theirs: 's2c',
      plaintextRead: CLIENT_PLAINTEXT_READ,
      plaintextWritten: CLIENT_PLAINTEXT_WRITTEN,
    };
  }
  const { server, next } = await ctx.listen({ secureTransport: 'starttls' });
  const peer = await clientPeer(ctx, server.address.port, afterGoAhead);
  return {
    peer,
    plain: await acceptUntilGoAhead(next),
    ours: 's2c',
    theirs: 'c2s',
    plaintextRead: COMMAND.length,
    plaintextWritten: GO_AHEAD.length,
  };
}

const otherRole = (role: Role): Role => (role === 'client' ? 'server' : 'client');

function clientVerificationCase(
  id: string,
  certificate: CertificateVariant,
  code: 'ERR_TLS_CERT_UNTRUSTED' | 'ERR_TLS_HOSTNAME_MISMATCH',
): ConformanceCase {
  return {
    id,
    requirement: `startTls() verifies the server as connect() does: a ${certificate} certificate rejects with ${code}`,
    source: 'spec §2.5 (verification on by default); RFC 3207 §4.1',
    tls: 'each',
    requires: ['startTls'],
    async run(ctx) {
      const { plain } = await atGoAhead(ctx, 'client', [{ op: 'startTls' }], certificate);
      await rejectsWith(ctx.startTls(plain), code, 'startTls()');
      await expectDetachedReport(plain, CLIENT_PLAINTEXT_READ, CLIENT_PLAINTEXT_WRITTEN);
    },
  };
}

/** Plain TCP endings before any TLS, in either role: never a close_notify. */
async function plaintextEnding(
  ctx: CaseContext,
  role: Role,
  how: 'shutdown' | 'close' | 'abort',
  expected: string,
): Promise<void> {
  const { peer, plain, ours, plaintextWritten } = await atGoAhead(ctx, role, [
    { op: 'readUntilEnd' },
    { op: 'fin' },
  ]);
  await plain.write('QUIT\r\n');
  if (how === 'shutdown') {
    await plain.shutdown('write');
    await rejectsWith(plain.write('x'), 'ERR_WRITE_AFTER_SHUTDOWN', 'write() after shutdown');
    equal(await settlesWithin(plain.read(), HANG_GUARD_MS, 'read() to the peer FIN'), null, 'read()');
  } else if (how === 'close') {
    await settlesWithin(plain.close(), HANG_GUARD_MS, 'close()');
  } else {
    plain.abort();
  }
  const report = await settlesWithin(plain.closed, HANG_GUARD_MS, 'closed');
  equal(report.closeNotifySent, false, 'closeNotifySent');
  if (how !== 'abort') {
    equal(report.closeNotifyReceived, false, 'closeNotifyReceived (plain TCP has none)');
    equal(report.truncated, false, 'truncated (a FIN is the clean end of plain TCP)');
    equal(report.error?.code, undefined, 'report error');
  }
  await rejectsWith(
    plain.startTls(),
    how === 'abort' ? 'ERR_ABORTED' : 'ERR_SOCKET_CLOSED',
    'startTls() after it',
  );
  const done = await peer.whenDone();
  equal(closingEvents(done.wire, ours).join(' '), expected, `our side of the wire (${done.wireSummary})`);
  equal(plaintextBytes(done.wire, ours), plaintextWritten + 6, 'plaintext bytes we sent');
}

function clientPlaintextEnding(
  id: string,
  how: 'shutdown' | 'close' | 'abort',
  expected: string,
): ConformanceCase {
  return {
    id,
    requirement: `${how} on a plaintext socket ends it as plain TCP (${expected}, no close_notify), and startTls() is refused after it`,
    source: 'spec §2.5; RFC 3207 §4.2 (no TLS before the handshake)',
    tls: 'any',
    requires: ['startTls', ...(how === 'abort' ? (['abortiveReset'] as const) : [])],
    run: (ctx) => plaintextEnding(ctx, 'client', how, expected),
  };
}

/** Unread plaintext after the go-ahead: startTls() refuses, closes, and sends no TLS byte. */
async function injectionRefused(ctx: CaseContext, role: Role): Promise<void> {
  const { peer, plain, ours, theirs, plaintextRead } = await atGoAhead(ctx, role, [
    { op: 'wait', signal: 'inject' },
    { op: 'sendText', text: INJECTED },
    { op: 'waitEnd' },
  ]);
  await peer.signal('inject');
  await plaintextArrived(peer, theirs, plaintextRead + INJECTED.length);
  await rejectsWith(
    ctx.startTls(plain),
    'ERR_STARTTLS_REFUSED',
    'startTls() with injected plaintext waiting',
  );
  await rejectsWith(plain.read(), 'ERR_SOCKET_DETACHED', 'read() after the refusal');
  const report = await settlesWithin(plain.closed, HANG_GUARD_MS, 'closed');
  equal(report.error?.code, 'ERR_STARTTLS_REFUSED', 'report error');
  equal(report.bytesDiscarded, INJECTED.length, 'bytesDiscarded (the injected bytes)');
  equal(report.bytesRead, plaintextRead, 'bytesRead');
  const done = await peer.whenDone();
  check(
    !done.wire.some((event) => event.dir === ours && event.kind === 'handshake'),
    `no TLS byte may leave after a refusal (${done.wireSummary})`,
  );
  const ending = closingEvents(done.wire, ours).at(-1);
  check(ending === 'rst' || ending === 'fin', `the connection is closed (our side: ${done.wireSummary})`);
}

/** A peer that never sends its part of the handshake: startTls() fails at its handshakeTimeoutMs. */
async function handshakeTimeout(ctx: CaseContext, role: Role): Promise<void> {
  const { plain } = await atGoAhead(ctx, role, [{ op: 'waitEnd' }]);
  const started = performance.now();
  await rejectsWith(
    ctx.startTls(plain, { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }),
    'ERR_HANDSHAKE_TIMEOUT',
    `startTls() against a silent ${otherRole(role)}`,
  );
  const took = performance.now() - started;
  check(took >= HANDSHAKE_TIMEOUT_MS - 5, `startTls() gave up early, after ${took.toFixed(0)} ms`);
}

/** Our socket in `role`, upgraded, with the peer going on with `afterHandshake`. */
async function upgraded(ctx: CaseContext, role: Role, afterHandshake: Step[]) {
  const side = await atGoAhead(ctx, role, [{ op: 'startTls' }, ...afterHandshake]);
  return { ...side, secure: await ctx.startTls(side.plain) };
}

async function upgradedTruncation(ctx: CaseContext, role: Role): Promise<void> {
  const { secure } = await upgraded(ctx, role, [
    { op: 'send', bytes: 4096 },
    { op: 'fin' },
    { op: 'waitEnd' },
  ]);
  await readBytes(secure, 4096);
  await rejectsWith(secure.read(), 'ERR_TLS_TRUNCATED', 'read() after a bare FIN');
  const report = await secure.closed;
  equal(report.truncated, true, 'truncated');
}

async function upgradedShutdown(ctx: CaseContext, role: Role): Promise<void> {
  const { peer, secure, ours } = await upgraded(ctx, role, [
    { op: 'readUntilEnd' },
    { op: 'send', bytes: 2048 },
    { op: 'closeNotify' },
  ]);
  await secure.write('bye');
  await secure.shutdown('write');
  await readBytes(secure, 2048);
  equal(await secure.read(), null, 'read() after the peer close_notify');
  const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
  equal(report.closeNotifySent, true, 'closeNotifySent');
  equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
  const done = await peer.whenDone();
  equal(
    closingEvents(done.wire, ours).join(' '),
    'data alert:close_notify fin',
    `our side (${done.wireSummary})`,
  );
}

async function upgradedAbort(ctx: CaseContext, role: Role): Promise<void> {
  const { peer, secure, ours } = await upgraded(ctx, role, [{ op: 'echo' }]);
  await secure.write('ping');
  equal(text(await readBytes(secure, 4)), 'ping', 'echo');
  secure.abort();
  equal((await secure.closed).initiator, 'abort', 'initiator');
  const done = await peer.whenDone();
  equal(closingEvents(done.wire, ours).join(' '), 'data rst', `our side (${done.wireSummary})`);
}

const clientCases: ConformanceCase[] = [
  {
    id: 'starttls.upgrade',
    requirement:
      'a plaintext exchange, then startTls() resolves with a verified secure socket that echoes; the plaintext socket is detached with its own report',
    source: 'spec §2.5; RFC 3207 (SMTP STARTTLS); WinterTC Sockets API startTls()',
    tls: 'each',
    requires: ['startTls'],
    async run(ctx) {
      const { peer, plain } = await atGoAhead(ctx, 'client', [
        { op: 'startTls' },
        { op: 'echo' },
        { op: 'closeNotify' },
      ]);
      const secure = await ctx.startTls(plain);
      equal(secure.state, 'open', 'state of the secure socket');
      const session = await secure.opened;
      equal(session.protocol === null ? ctx.tls : session.protocol, ctx.tls, 'protocol');
      equal(session.authorized, true, 'authorized');
      await expectDetachedReport(plain, CLIENT_PLAINTEXT_READ, CLIENT_PLAINTEXT_WRITTEN);
      await secure.write('hello over TLS');
      equal(text(await readBytes(secure, 14)), 'hello over TLS', 'echo');
      const report = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(report.closeNotifySent, true, 'closeNotifySent');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      equal(report.bytesRead, 14, 'bytesRead of the secure socket (the plaintext is the other socket’s)');
      const done = await peer.whenDone();
      equal(
        plaintextBytes(done.wire, 'c2s'),
        CLIENT_PLAINTEXT_WRITTEN,
        `plaintext we sent (${done.wireSummary})`,
      );
      equal(plaintextBytes(done.wire, 's2c'), CLIENT_PLAINTEXT_READ, 'plaintext the peer sent');
      equal(done.handshake?.protocol, ctx.tls, 'the peer’s handshake');
      equal(closingEvents(done.wire, 'c2s').join(' '), 'data alert:close_notify fin', 'our side of the wire');
    },
  },
  {
    id: 'starttls.options',
    requirement:
      'startTls(options) overrides the connect options (here servername); a bad option rejects ERR_INVALID_OPTION and leaves the plaintext socket usable',
    source:
      'spec §2.5 (client options overridable per call); spec §2.2 (options validated before anything happens)',
    tls: 'any',
    requires: ['startTls'],
    async run(ctx) {
      const { plain } = await atGoAhead(
        ctx,
        'client',
        [{ op: 'startTls' }, { op: 'echo' }, { op: 'closeNotify' }],
        'wrongHost',
      );
      await rejectsWith(
        plain.startTls({ hostname: 'localhost' } as never),
        'ERR_INVALID_OPTION',
        'startTls() with an option it does not take',
      );
      await rejectsWith(plain.startTls({ alpn: [] }), 'ERR_INVALID_OPTION', 'startTls() with an empty alpn');
      equal(plain.state, 'plaintext', 'state after a refused option');
      const secure = await ctx.startTls(plain, { servername: 'wrong.example' });
      equal((await secure.opened).servername, 'wrong.example', 'servername verified');
      await secure.write('renamed');
      equal(text(await readBytes(secure, 7)), 'renamed', 'echo');
      await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
    },
  },
  clientVerificationCase('starttls.untrusted', 'untrusted', 'ERR_TLS_CERT_UNTRUSTED'),
  clientVerificationCase('starttls.wrong-host', 'wrongHost', 'ERR_TLS_HOSTNAME_MISMATCH'),
  {
    id: 'starttls.injection-refused',
    requirement:
      'plaintext the server sent after its go-ahead and we did not read makes startTls() reject ERR_STARTTLS_REFUSED: the connection is closed before any TLS byte, nothing is delivered',
    source: 'CVE-2011-0411 (Postfix), CVE-2021-23222 (libpq); spec §2.5',
    tls: 'any',
    requires: ['startTls'],
    run: (ctx) => injectionRefused(ctx, 'client'),
  },
  {
    id: 'starttls.handshake-timeout',
    requirement:
      'a server that never answers the ClientHello fails startTls() with ERR_HANDSHAKE_TIMEOUT at its handshakeTimeoutMs',
    source: 'spec §2.2 handshakeTimeoutMs; spec §2.5',
    tls: 'any',
    requires: ['startTls'],
    run: (ctx) => handshakeTimeout(ctx, 'client'),
  },
  clientPlaintextEnding('starttls.plaintext-shutdown', 'shutdown', 'fin'),
  clientPlaintextEnding('starttls.plaintext-close', 'close', 'fin'),
  clientPlaintextEnding('starttls.plaintext-abort', 'abort', 'rst'),
  {
    id: 'starttls.detached',
    requirement:
      'after startTls() the plaintext socket is detached: a pending read and every later call reject ERR_SOCKET_DETACHED, its streams error, close() gives its report and abort() leaves the secure socket alone',
    source: 'spec §2.5 (Python ssl.wrap_socket detaches the original socket)',
    tls: 'any',
    requires: ['startTls'],
    async run(ctx) {
      const { plain } = await atGoAhead(ctx, 'client', [
        { op: 'startTls' },
        { op: 'echo' },
        { op: 'closeNotify' },
      ]);
      const pendingRead = plain.read();
      const upgrading = ctx.startTls(plain);
      await rejectsWith(pendingRead, 'ERR_SOCKET_DETACHED', 'a read pending when startTls() was called');
      await rejectsWith(plain.write('x'), 'ERR_SOCKET_DETACHED', 'write() during the upgrade');
      const secure = await upgrading;
      await rejectsWith(plain.read(), 'ERR_SOCKET_DETACHED', 'read()');
      await rejectsWith(plain.write('x'), 'ERR_SOCKET_DETACHED', 'write()');
      await rejectsWith(plain.shutdown('write'), 'ERR_SOCKET_DETACHED', "shutdown('write')");
      await rejectsWith(plain.startTls(), 'ERR_SOCKET_DETACHED', 'a second startTls()');
      await rejectsWith(plain.readable.getReader().read(), 'ERR_SOCKET_DETACHED', 'readable');
      await rejectsWith(
        plain.writable.getWriter().write(new Uint8Array(1)),
        'ERR_SOCKET_DETACHED',
        'writable',
      );
      const report = await settlesWithin(plain.close(), HANG_GUARD_MS, 'close() of the detached socket');
      equal(report.upgraded, true, 'close() of the detached socket gives its report');
      plain.abort();
      await rejectsWith(secure.startTls(), 'ERR_UNSUPPORTED', 'startTls() on a secure socket');
      await secure.write('still here');
      equal(
        text(await readBytes(secure, 10)),
        'still here',
        'the secure socket after abort() of the plaintext one',
      );
      const closed = await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      equal(closed.error?.code, undefined, 'secure report error');
      equal(closed.closeNotifyReceived, true, 'closeNotifyReceived');
    },
  },
  {
    id: 'starttls.upgraded.truncation',
    requirement:
      'an upgraded socket detects a truncation exactly as a direct connect does (ERR_TLS_TRUNCATED after every byte)',
    source: 'RFC 8446 §6.1; spec §2.5 (everything the secure socket promises holds after an upgrade)',
    tls: 'each',
    requires: ['startTls', 'truncationDetection'],
    run: (ctx) => upgradedTruncation(ctx, 'client'),
  },
  {
    id: 'starttls.upgraded.shutdown',
    requirement:
      "shutdown('write') on an upgraded socket sends close_notify then FIN, and reading goes on to the peer's close_notify",
    source: 'RFC 8446 §6.1; spec §3.1',
    tls: 'each',
    requires: ['startTls'],
    run: (ctx) => upgradedShutdown(ctx, 'client'),
  },
  {
    id: 'starttls.upgraded.idle',
    requirement:
      "an upgraded socket's idle timeout (set by startTls()) fails a waiting read with ERR_IDLE_TIMEOUT and closes as close() does",
    source: 'contract v2: an idle timeout is visible to a reader; spec §2.5',
    tls: 'any',
    requires: ['startTls', 'idleTimeout'],
    async run(ctx) {
      const { plain } = await atGoAhead(ctx, 'client', [
        { op: 'startTls' },
        { op: 'readUntilEnd' },
        { op: 'closeNotify' },
      ]);
      const secure = await ctx.startTls(plain, { idleTimeoutMs: 300 });
      await rejectsWith(
        settlesWithin(secure.read(), HANG_GUARD_MS, 'read() of a silent peer'),
        'ERR_IDLE_TIMEOUT',
        'read() of a silent peer',
      );
      const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
      equal(report.initiator, 'idle', 'initiator');
      equal(report.closeNotifySent, true, 'closeNotifySent');
    },
  },
  {
    id: 'starttls.upgraded.abort',
    requirement: 'abort() on an upgraded socket puts a RST on the wire, no close_notify',
    source: 'spec §3.1 abort()',
    tls: 'each',
    requires: ['startTls', 'abortiveReset'],
    run: (ctx) => upgradedAbort(ctx, 'client'),
  },
];

const serverCases: ConformanceCase[] = [
  {
    id: 'server.starttls.upgrade',
    requirement:
      "a starttls listener hands out plaintext sockets; startTls() runs the server handshake with the listener's credentials and the secure socket echoes",
    source: 'spec §2.5; RFC 3207',
    tls: 'each',
    requires: ['server', 'startTls'],
    async run(ctx) {
      const { peer, plain } = await atGoAhead(ctx, 'server', [
        { op: 'startTls' },
        { op: 'sendText', text: 'hello over TLS' },
        { op: 'read', bytes: 14 },
        { op: 'closeNotify' },
        { op: 'readUntilEnd' },
      ]);
      await rejectsWith(
        plain.startTls({ servername: 'localhost' }),
        'ERR_INVALID_OPTION',
        "a server's startTls() with a client option (the listener's credentials apply)",
      );
      const secure = await ctx.startTls(plain);
      equal((await secure.opened).protocol ?? ctx.tls, ctx.tls, 'protocol');
      await expectDetachedReport(plain, COMMAND.length, GO_AHEAD.length);
      const echoed = await readBytes(secure, 14);
      await secure.write(echoed);
      equal(
        await settlesWithin(secure.read(), HANG_GUARD_MS, 'read() to the end'),
        null,
        'read() at the peer close_notify',
      );
      const report = await settlesWithin(secure.closed, HANG_GUARD_MS, 'closed');
      equal(report.closeNotifyReceived, true, 'closeNotifyReceived');
      equal(report.closeNotifySent, true, 'closeNotifySent (we answer the close_notify)');
      const done = await peer.whenDone();
      equal(done.handshake?.protocol, ctx.tls, 'the peer’s handshake');
      equal(done.handshake?.authorized, true, 'the peer verified our certificate');
      equal(plaintextBytes(done.wire, 's2c'), GO_AHEAD.length, `plaintext we sent (${done.wireSummary})`);
    },
  },
  {
    id: 'server.starttls.client-certificate',
    requirement:
      'with requestClientCert, startTls() verifies the client certificate: a valid one is authorized, a client without one fails',
    source: 'spec §2.2 requestClientCert; Node: a bare server TLSSocket does not enforce client certificates',
    tls: 'any',
    requires: ['server', 'startTls', 'requestClientCertificates'],
    async run(ctx) {
      const { server, next } = await ctx.listen({
        secureTransport: 'starttls',
        requestClientCert: true,
        ...ctx.trusting(ctx.pki.ca),
      });
      const port = server.address.port;
      await clientPeer(ctx, port, [{ op: 'startTls' }, { op: 'closeNotify' }, { op: 'readUntilEnd' }], {
        requestClientCert: true,
      });
      const withCertificate = await ctx.startTls(await acceptUntilGoAhead(next));
      equal((await withCertificate.opened).authorized, true, 'authorized with the client certificate');
      equal(await settlesWithin(withCertificate.read(), HANG_GUARD_MS, 'read()'), null, 'read()');
      await settlesWithin(withCertificate.closed, HANG_GUARD_MS, 'closed');
      await clientPeer(ctx, port, [{ op: 'startTls' }, { op: 'waitEnd' }]);
      const without = await acceptUntilGoAhead(next);
      const failed = await settlesWithin(
        ctx.startTls(without).then(
          () => undefined,
          (error: unknown) => error,
        ),
        HANG_GUARD_MS,
        'startTls() with a client that has no certificate',
      );
      check(failed !== undefined, 'startTls() resolved for a client without a certificate');
    },
  },
  {
    id: 'server.starttls.client-certificate.codes',
    requirement:
      "startTls() on a server with requestClientCert rejects a refused client with listen()'s codes: ERR_TLS_CERT_UNTRUSTED, ERR_TLS_CERT_EXPIRED, or ERR_TLS_CERT_MISSING when it sent none, and the client is told",
    source: 'spec §5 (the same failure gives the same code); spec §2.5',
    tls: 'each',
    requires: ['server', 'startTls', 'requestClientCertificates'],
    async run(ctx) {
      const { server, next } = await ctx.listen({
        secureTransport: 'starttls',
        requestClientCert: true,
        ...ctx.trusting(ctx.pki.ca),
      });
      const verdicts = new RefusalVerdicts();
      for (const client of REFUSED_CLIENTS) {
        const who = describeClient(client);
        const peer = await clientPeer(ctx, server.address.port, [{ op: 'startTls' }, { op: 'waitEnd' }], {
          ...(client.presents ? { clientCertificate: client.presents } : {}),
        });
        const plain = await acceptUntilGoAhead(next);
        const failed = await settlesWithin(
          ctx.startTls(plain).then(
            () => undefined,
            (error: unknown) => error,
          ),
          HANG_GUARD_MS,
          `startTls() with ${who}`,
        );
        check(failed !== undefined, `startTls() resolved for ${who}`);
        verdicts.record(client, failed);
        await clientRefused(client, peer);
      }
      verdicts.check();
    },
  },
  {
    id: 'server.starttls.injection-refused',
    requirement:
      'plaintext a client sent after its STARTTLS request that is not a TLS handshake makes startTls() reject ERR_STARTTLS_REFUSED and closes the connection; nothing is delivered',
    source: 'CVE-2011-0411 (Postfix); spec §2.5',
    tls: 'any',
    requires: ['server', 'startTls'],
    run: (ctx) => injectionRefused(ctx, 'server'),
  },
  {
    id: 'server.starttls.early-client-hello',
    requirement:
      'a ClientHello that arrives before the server calls startTls() is handed to TLS, and the upgrade succeeds',
    source: 'spec §2.5 (the server passes on bytes that begin a TLS handshake record)',
    tls: 'each',
    requires: ['server', 'startTls'],
    async run(ctx) {
      const { peer, plain } = await atGoAhead(ctx, 'server', [
        { op: 'startTls' },
        { op: 'echo' },
        { op: 'closeNotify' },
      ]);
      await handshakeArrived(peer, 'c2s');
      const secure = await ctx.startTls(plain);
      await secure.write('late but fine');
      equal(text(await readBytes(secure, 13)), 'late but fine', 'echo');
      await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      const done = await peer.whenDone();
      equal(done.handshake?.protocol, ctx.tls, `the peer's handshake (${done.wireSummary})`);
    },
  },
  {
    id: 'server.starttls.handshake-timeout',
    requirement:
      'a client that never sends its ClientHello fails startTls() with ERR_HANDSHAKE_TIMEOUT at its handshakeTimeoutMs',
    source: 'spec §2.2 handshakeTimeoutMs; spec §2.5',
    tls: 'any',
    requires: ['server', 'startTls'],
    run: (ctx) => handshakeTimeout(ctx, 'server'),
  },
  {
    id: 'server.starttls.plaintext-close',
    requirement: 'close() on an accepted plaintext socket ends it as plain TCP: a FIN, no close_notify',
    source: 'spec §2.5',
    tls: 'any',
    requires: ['server', 'startTls'],
    run: (ctx) => plaintextEnding(ctx, 'server', 'close', 'fin'),
  },
  {
    id: 'server.starttls.max-connections',
    requirement:
      'an upgraded connection still counts toward maxConnections: a client beyond the cap is refused (ERR_SERVER_BUSY) until the secure socket closes',
    source: 'contract v2: servers cap their connections, handed-out ones included; spec §2.5',
    tls: 'any',
    requires: ['server', 'startTls'],
    async run(ctx) {
      const errors: SecureSocketError[] = [];
      const { server, next } = await ctx.listen({
        secureTransport: 'starttls',
        maxConnections: 1,
        onError: (error) => errors.push(error),
      });
      const port = server.address.port;
      await clientPeer(ctx, port, [{ op: 'startTls' }, { op: 'echo' }, { op: 'closeNotify' }]);
      const secure = await ctx.startTls(await acceptUntilGoAhead(next));
      await ctx.peer({
        role: 'client',
        startTls: true,
        connect: { port },
        observe: false,
        steps: [{ op: 'waitEnd' }],
      });
      await eventually(() => errors.length > 0, HANG_GUARD_MS, 'onError for the client beyond the cap');
      equal(errors[0]!.code, 'ERR_SERVER_BUSY', 'onError code');
      await secure.write('ping');
      equal(text(await readBytes(secure, 4)), 'ping', 'the upgraded socket within the cap');
      await settlesWithin(secure.close(), HANG_GUARD_MS, 'close()');
      await clientPeer(ctx, port, [{ op: 'waitEnd' }]);
      const again = await acceptUntilGoAhead(next);
      await settlesWithin(again.close(), HANG_GUARD_MS, 'close() of the next plaintext socket');
      equal(errors.length, 1, 'onError calls');
    },
  },
  {
    id: 'server.starttls.upgraded.shutdown',
    requirement:
      "shutdown('write') on an upgraded server socket sends close_notify then FIN, and reading goes on to the client's close_notify",
    source: 'RFC 8446 §6.1; spec §3.1',
    tls: 'each',
    requires: ['server', 'startTls'],
    run: (ctx) => upgradedShutdown(ctx, 'server'),
  },
  {
    id: 'server.starttls.upgraded.abort',
    requirement: 'abort() on an upgraded server socket puts a RST on the wire, no close_notify',
    source: 'spec §3.1 abort()',
    tls: 'each',
    requires: ['server', 'startTls', 'abortiveReset'],
    run: (ctx) => upgradedAbort(ctx, 'server'),
  },
  {
    id: 'server.starttls.upgraded.truncation',
    requirement:
      'an upgraded server socket detects a truncation exactly (ERR_TLS_TRUNCATED after every byte)',
    source: 'RFC 8446 §6.1; spec §2.5',
    tls: 'each',
    requires: ['server', 'startTls', 'truncationDetection'],
    run: (ctx) => upgradedTruncation(ctx, 'server'),
  },
];

export const starttlsCases: ConformanceCase[] = [...clientCases, ...serverCases];
