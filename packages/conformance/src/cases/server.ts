/**
 * The same shutdown requirements with our listen() socket as the server and the peer as the client.
 * On the wire, c2s is the peer's direction and s2c ours.
 */
import { liveResources, type SecureSocketError, type ShutdownableSecureSocket } from '@closenotify/core';
import {
  CaseFailure,
  check,
  closingEvents,
  delay,
  endsWith,
  equal,
  eventually,
  HANG_GUARD_MS,
  readBytes,
  readToEnd,
  rejectsWith,
  settlesWithin,
  within,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import type { PeerHandle, PeerReport, Step } from '../peer-client.ts';
import { clientRefused, describeClient, REFUSED_CLIENTS, RefusalVerdicts } from './client-certificate.ts';
import { serverTruncationCases } from './truncation.ts';

const MIB = 1024 * 1024;

async function accepted(
  ctx: CaseContext,
  steps: Step[],
  options: { allowHalfOpen?: boolean; observe?: boolean } = {},
) {
  const { server, next } = await ctx.listen({ allowHalfOpen: options.allowHalfOpen ?? false });
  const peer = await ctx.peer({
    role: 'client',
    connect: { port: server.address.port },
    observe: options.observe ?? true,
    steps,
  });
  return { peer, socket: await next() };
}

/**
 * Bounds for what must happen without waiting on anyone: generous, they catch hangs (a close that
 * waits for clients measured seconds to forever), never speed.
 */
const PROMPTLY_MS = 5000;

/**
 * A silent client (TCP only) that leaves with `ending` before any ClientHello: onHandshakeError hears of
 * it at once, and its pending slot (the listener allows one) is free for the next client.
 */
async function clientGoneDuringHandshake(
  ctx: CaseContext,
  ending: 'rst' | 'fin',
  who: string,
): Promise<void> {
  const errors: SecureSocketError[] = [];
  const { server } = await ctx.listen({
    // Far beyond the case's own limit: only a prompt report passes.
    handshakeTimeoutMs: 120_000,
    maxPendingConnections: 1,
    onHandshakeError: (error) => errors.push(error),
  });
  await ctx.peer({
    role: 'client',
    connect: { port: server.address.port, silent: true },
    observe: false,
    steps: [{ op: 'sleep', ms: 100 }, { op: ending }],
  });
  await eventually(() => errors.length > 0, PROMPTLY_MS, `onHandshakeError for ${who}`);
  equal(errors[0]!.code, 'ERR_CONNECTION_RESET', 'onHandshakeError code');
  // Its pending slot is free again: the next client gets a handshake, not ERR_SERVER_BUSY.
  const next = await ctx.peer({
    role: 'client',
    connect: { port: server.address.port },
    observe: false,
    steps: [{ op: 'closeNotify' }, { op: 'readUntilEnd' }],
  });
  equal((await next.whenDone()).handshake?.authorized, true, 'the next client verified our certificate');
}

/** A client-role peer that handshakes and then waits for our end of the stream. */
function waitingClient(ctx: CaseContext, port: number): Promise<PeerHandle> {
  return ctx.peer({ role: 'client', connect: { port }, steps: [{ op: 'readUntilEnd' }] });
}

/** Until the peer's handshake is done, plus a moment for our side of it to finish too. */
async function handshaken(peer: PeerHandle, what: string): Promise<void> {
  let report = await peer.report();
  for (const deadline = performance.now() + PROMPTLY_MS; !report.handshake; report = await peer.report()) {
    check(
      !report.done,
      `${what}: the connection ended before its handshake: ${report.log.map((l) => l.text).join('; ')}`,
    );
    check(performance.now() < deadline, `${what}: no handshake within ${PROMPTLY_MS} ms`);
    await delay(20);
  }
  // The client is done after sending its Finished, the server once it read it: were our side still
  // handshaking, the case would take the abort path, which must close the connection too.
  await delay(100);
}

/**
 * The connection of a client peer ended: its script is over and our FIN or RST is on the wire (a
 * close_notify alone ends the stream, not the connection). Returns the peer's report.
 */
async function ended(peer: PeerHandle, what: string): Promise<PeerReport> {
  const deadline = performance.now() + PROMPTLY_MS;
  for (;;) {
    const report = await peer.report();
    const sent = closingEvents(report.wire, 's2c');
    if (report.done && (sent.includes('fin') || sent.includes('rst'))) return report;
    if (performance.now() > deadline) {
      throw new CaseFailure(
        `${what}: the connection did not end within ${PROMPTLY_MS} ms (we sent [${sent.join(', ')}]; ${report.log.map((l) => l.text).join('; ')})`,
      );
    }
    await delay(20);
  }
}

/** The listening port is closed: a new connect is refused. */
async function portRefuses(ctx: CaseContext, port: number): Promise<void> {
  await rejectsWith(ctx.connect({ port }), 'ERR_CONNECT_REFUSED', 'a new connect to the closed server');
}

/** A client that answers our "ping" with "pong", then closes after us. */
const PING_PONG: Step[] = [
  { op: 'read', bytes: 4 },
  { op: 'sendText', text: 'pong' },
  { op: 'readUntilEnd' },
  { op: 'closeNotify' },
];

/** A handed-out socket carries data both ways (after its server closed) and closes cleanly. */
async function pingPong(socket: ShutdownableSecureSocket, what: string): Promise<void> {
  await socket.write('ping');
  equal(new TextDecoder().decode(await readBytes(socket, 4)), 'pong', `${what}: the reply`);
  equal((await socket.close()).initiator, 'local', `${what}: close() initiator`);
}

async function noLiveSockets(what: string): Promise<void> {
  await eventually(() => liveResources().sockets === 0, PROMPTLY_MS, `${what}: every socket closed`);
}

/**
 * A client beyond a cap: refused before any TLS work (no handshake byte from us where the runtime
 * can drop a connection that early; a RST where it has one), reported to onError as ERR_SERVER_BUSY.
 */
async function refused(ctx: CaseContext, port: number, errors: SecureSocketError[]): Promise<void> {
  const busy = errors.length;
  const report = await ended(await waitingClient(ctx, port), 'the client beyond the cap');
  if (ctx.adapter.capabilities.dropDuringHandshake) {
    const handshake = report.wire.filter((event) => event.dir === 's2c' && event.kind === 'handshake');
    check(
      report.handshake === undefined && handshake.length === 0,
      `the client beyond the cap got a handshake: ${report.handshake?.protocol ?? ''} [${handshake.map((e) => (e.kind === 'handshake' ? e.type : '')).join(', ')}]`,
    );
  }
  if (ctx.adapter.capabilities.abortiveReset) {
    endsWith(closingEvents(report.wire, 's2c'), ['rst'], 'what the client beyond the cap got');
  }
  await eventually(() => errors.length > busy, PROMPTLY_MS, 'onError for the refused client');
  const error = errors[busy]!;
  equal(error.code, 'ERR_SERVER_BUSY', 'onError code');
  equal(error.phase, 'server', 'onError phase');
}

export const serverCases: ConformanceCase[] = [
  {
    id: 'server.address-in-use',
    requirement: 'listen() on a port another listener holds rejects ERR_ADDRESS_IN_USE',
    source: 'spec §5 (same failure, same code on every runtime)',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const { server } = await ctx.listen();
      const error = await rejectsWith(
        ctx.listen({ port: server.address.port }),
        'ERR_ADDRESS_IN_USE',
        'second listen()',
      );
      equal(error.phase, 'server', 'phase');
    },
  },
  {
    id: 'server.close.prompt',
    requirement:
      'server.close() resolves once the listener is closed while a handed-out socket is open, and that socket still works',
    source:
      "contract v2: server.close() stops accepting; handed-out sockets stay the caller's (Node waited for every client)",
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const { server, next } = await ctx.listen();
      const port = server.address.port;
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      const socket = await next();
      await settlesWithin(server.close(), PROMPTLY_MS, 'server.close() with a client connected');
      await portRefuses(ctx, port);
      await pingPong(socket, 'the handed-out socket after server.close()');
    },
  },
  {
    id: 'server.iteration-break.prompt',
    requirement:
      'breaking out of for await over a server closes it at once, and the socket taken in the loop still works',
    source:
      "contract v2: server.close() stops accepting; handed-out sockets stay the caller's (Node waited for every client)",
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const server = await ctx.serve();
      const port = server.address.port;
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      const taken = (async () => {
        for await (const socket of server) return socket;
        throw new Error('the iterator ended without a socket');
      })();
      const socket = await settlesWithin(taken, PROMPTLY_MS, 'for await ... return with a client connected');
      try {
        await portRefuses(ctx, port);
        await pingPong(socket, 'the socket taken in the loop');
      } finally {
        socket.abort();
      }
    },
  },
  {
    id: 'server.close.closes-queued',
    requirement:
      'server.close() closes the accepted sockets nobody took from the iterator: their clients see the end, none stays live',
    source: 'contract v2: accepted sockets never handed out are closed',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const server = await ctx.serve();
      const port = server.address.port;
      const clients = [await waitingClient(ctx, port), await waitingClient(ctx, port)];
      for (const [index, client] of clients.entries()) await handshaken(client, `client ${index + 1}`);
      await settlesWithin(server.close(), PROMPTLY_MS, 'server.close() with two queued sockets');
      for (const [index, client] of clients.entries()) await ended(client, `client ${index + 1}`);
      await noLiveSockets('after server.close()');
    },
  },
  {
    id: 'server.iteration-stop.closes-queued',
    requirement:
      'ending a for await loop over a server closes the sockets still queued, and the one taken stays open',
    source: "contract v2: accepted sockets never handed out are closed; handed-out ones stay the caller's",
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const server = await ctx.serve();
      const port = server.address.port;
      const first = await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      await handshaken(first, 'client 1');
      const second = await waitingClient(ctx, port);
      await handshaken(second, 'client 2');
      const taken = (async () => {
        for await (const socket of server) return socket;
        throw new Error('the iterator ended without a socket');
      })();
      const socket = await settlesWithin(taken, PROMPTLY_MS, 'for await ... return with a socket queued');
      try {
        await ended(second, 'the queued client');
        await pingPong(socket, 'the socket taken in the loop');
      } finally {
        socket.abort();
      }
      await noLiveSockets('after the loop ended');
    },
  },
  {
    id: 'server.pending-cap',
    requirement:
      'over maxPendingConnections a client is refused before any TLS work, onError gets ERR_SERVER_BUSY, and the server serves again once below',
    source:
      'contract v2: servers cap concurrent handshakes; a peer that never takes its sockets must not grow the queue',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const errors: SecureSocketError[] = [];
      const server = await ctx.serve({ maxPendingConnections: 1, onError: (error) => errors.push(error) });
      const port = server.address.port;
      const iterator = server[Symbol.asyncIterator]();
      const first = await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      await handshaken(first, 'client 1');
      await refused(ctx, port, errors);
      const socket = (await settlesWithin(iterator.next(), PROMPTLY_MS, 'taking the queued socket')).value;
      check(socket, 'the queued socket');
      await pingPong(socket, 'the queued socket');
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      const again = (await settlesWithin(iterator.next(), PROMPTLY_MS, 'a client once below the cap')).value;
      check(again, 'the socket of a client once below the cap');
      await pingPong(again, 'the socket of a client once below the cap');
      equal(errors.length, 1, 'onError calls');
    },
  },
  {
    id: 'server.max-connections',
    requirement:
      'over maxConnections a client is refused before any TLS work, onError gets ERR_SERVER_BUSY, and the server serves again once a socket closed',
    source: 'contract v2: servers cap their connections, handed-out ones included',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const errors: SecureSocketError[] = [];
      const { server, next } = await ctx.listen({
        maxConnections: 1,
        onError: (error) => errors.push(error),
      });
      const port = server.address.port;
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      const socket = await next();
      await refused(ctx, port, errors);
      await pingPong(socket, 'the socket within the cap');
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: PING_PONG });
      await pingPong(
        await settlesWithin(next(), PROMPTLY_MS, 'a client once below the cap'),
        'the next socket',
      );
      equal(errors.length, 1, 'onError calls');
    },
  },
  {
    id: 'server.handler-failure',
    requirement:
      'an onSocket handler that throws or rejects gets its socket aborted and onError gets ERR_HANDLER_FAILED with the thrown value as cause',
    source: 'contract v2: no failure is swallowed; the same failure is handled alike on every runtime',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const errors: SecureSocketError[] = [];
      const thrown = [new Error('handler threw'), new Error('handler rejected')];
      let calls = 0;
      const server = await ctx.serve({ onError: (error) => errors.push(error) }, () => {
        calls += 1;
        if (calls === 1) throw thrown[0];
        return Promise.reject(thrown[1]);
      });
      const port = server.address.port;
      for (const [index, cause] of thrown.entries()) {
        const report = await ended(await waitingClient(ctx, port), `client ${index + 1}`);
        const sent = closingEvents(report.wire, 's2c');
        if (ctx.adapter.capabilities.abortiveReset) {
          endsWith(sent, ['rst'], `what client ${index + 1} got`);
          check(!sent.includes('alert:close_notify'), `close_notify before the RST: [${sent.join(', ')}]`);
        }
        await eventually(
          () => errors.length > index,
          PROMPTLY_MS,
          `onError for handler failure ${index + 1}`,
        );
        const error = errors[index]!;
        equal(error.code, 'ERR_HANDLER_FAILED', `onError code ${index + 1}`);
        equal(error.phase, 'server', `onError phase ${index + 1}`);
        check(error.cause === cause, `onError cause ${index + 1}: ${String(error.cause)}`);
      }
      await noLiveSockets('after both handlers failed');
    },
  },
  {
    id: 'server.handshake-timeout.reported',
    requirement:
      'a client that connects and never sends a ClientHello is reported to onHandshakeError as ERR_HANDSHAKE_TIMEOUT at handshakeTimeoutMs',
    source: 'contract v2: servers have a handshake timeout by default (slow or silent clients)',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const errors: SecureSocketError[] = [];
      const { server } = await ctx.listen({
        handshakeTimeoutMs: 300,
        onHandshakeError: (error) => errors.push(error),
      });
      const started = performance.now();
      await ctx.peer({
        role: 'client',
        connect: { port: server.address.port, silent: true },
        observe: false,
        steps: [{ op: 'readUntilEnd' }],
      });
      await eventually(() => errors.length > 0, PROMPTLY_MS, 'onHandshakeError for the silent client');
      within(performance.now() - started, 290, 60_000, 'the handshake timeout');
      equal(errors[0]!.code, 'ERR_HANDSHAKE_TIMEOUT', 'onHandshakeError code');
    },
  },
  {
    id: 'server.client-reset-during-handshake',
    requirement:
      'a client that resets its connection before the handshake completes is reported to onHandshakeError as ERR_CONNECTION_RESET at once, not held until handshakeTimeoutMs',
    source:
      'contract v2: caps on pending connections (a reset client must not hold a slot); found on Node, whose tlsClientError socket has no address once reset',
    tls: 'any',
    requires: ['server'],
    run: (ctx) => clientGoneDuringHandshake(ctx, 'rst', 'the client that reset'),
  },
  {
    id: 'server.client-fin-during-handshake',
    requirement:
      'a client that half-closes (FIN) before its ClientHello is reported to onHandshakeError as ERR_CONNECTION_RESET at once, not held until handshakeTimeoutMs',
    source:
      'contract v2: caps on pending connections (a TCP probe that connects and closes must not hold a slot); found on Node, which kept such a connection until the handshake timeout',
    tls: 'any',
    requires: ['server'],
    run: (ctx) => clientGoneDuringHandshake(ctx, 'fin', 'the client that half-closed'),
  },
  {
    id: 'server.handshake-timeout.drops-connection',
    requirement:
      'a client that connects and never sends a ClientHello sees its TCP connection end (FIN or RST) at handshakeTimeoutMs',
    source:
      'contract v2: servers have a handshake timeout by default (slow or silent clients hold descriptors)',
    tls: 'any',
    requires: ['server', 'dropDuringHandshake'],
    async run(ctx) {
      const { server } = await ctx.listen({ handshakeTimeoutMs: 300 });
      const client = await ctx.peer({
        role: 'client',
        connect: { port: server.address.port, silent: true },
        steps: [{ op: 'readUntilEnd' }],
      });
      await ended(client, 'the silent client');
    },
  },
  {
    id: 'server.client-certificate',
    requirement:
      'requestClientCert verifies the client certificate against ca, and a client without one fails its handshake',
    source: 'RFC 8446 §4.3.2 (CertificateRequest); spec §2 ListenOptions',
    tls: 'each',
    requires: ['server', 'requestClientCertificates'],
    async run(ctx) {
      const errors: string[] = [];
      const { server, next } = await ctx.listen({
        requestClientCert: true,
        ca: ctx.pki.ca,
        onHandshakeError: (e) => errors.push(e.code),
      });
      const port = server.address.port;
      await ctx.peer({
        role: 'client',
        connect: { port },
        requestClientCert: true,
        observe: false,
        steps: [{ op: 'closeNotify' }, { op: 'readUntilEnd' }],
      });
      const socket = await next();
      const session = await socket.opened;
      if (ctx.adapter.capabilities.sessionInfo.authorized) equal(session.authorized, true, 'authorized');
      if (ctx.adapter.capabilities.sessionInfo.peerCertificate) {
        check(
          session.peerCertificate?.subject.includes('closenotify-client'),
          `peerCertificate: ${session.peerCertificate?.subject}`,
        );
      }
      await socket.closed;
      await ctx.peer({ role: 'client', connect: { port }, observe: false, steps: [{ op: 'waitEnd' }] });
      for (let waited = 0; errors.length === 0 && waited < 3000; waited += 20) await delay(20);
      check(
        errors.length === 1,
        `handshake errors reported for the client without a certificate: [${errors.join(', ')}]`,
      );
    },
  },
  {
    id: 'server.client-certificate.codes',
    requirement:
      'a client refused by requestClientCert is reported with the same code on every runtime: ERR_TLS_CERT_UNTRUSTED, ERR_TLS_CERT_EXPIRED, or ERR_TLS_CERT_MISSING when it sent none, and the client is told',
    source: 'spec §5 (the same failure gives the same code); RFC 8446 §4.4.2.4, §6.2',
    tls: 'each',
    requires: ['server', 'requestClientCertificates'],
    async run(ctx) {
      const reports: SecureSocketError[] = [];
      const handedOut: ShutdownableSecureSocket[] = [];
      const verdicts = new RefusalVerdicts();
      const server = await ctx.serve(
        { requestClientCert: true, ca: ctx.pki.ca, onHandshakeError: (error) => reports.push(error) },
        (socket) => {
          handedOut.push(socket);
        },
      );
      for (const client of REFUSED_CLIENTS) {
        const who = describeClient(client);
        const reported = reports.length;
        const peer = await ctx.peer({
          role: 'client',
          connect: { port: server.address.port },
          ...(client.presents ? { clientCertificate: client.presents } : {}),
          steps: [{ op: 'waitEnd' }],
        });
        await eventually(() => reports.length > reported, HANG_GUARD_MS, `the report of ${who}`);
        verdicts.record(client, reports[reported]);
        await clientRefused(client, peer);
      }
      equal(handedOut.length, 0, 'sockets handed out for refused clients');
      verdicts.check();
    },
  },
  {
    id: 'server.request-client-cert-needs-ca',
    requirement:
      'listen({ requestClientCert: true }) without ca is refused with ERR_INVALID_OPTION: a server that asks for client certificates says whom it trusts',
    source:
      'RFC 8446 §4.3.2 (certificate_authorities); the public roots would admit any clientAuth certificate',
    tls: 'any',
    async run(ctx) {
      const error = await rejectsWith(
        ctx.listen({ requestClientCert: true }),
        'ERR_INVALID_OPTION',
        'listen() asking for client certificates without ca',
      );
      check(error.message.includes('"ca"'), `the message names "ca": ${error.message}`);
    },
  },
  {
    id: 'server.session-info',
    requirement:
      "an accepted socket's opened reports the negotiated version, and the client verified our certificate",
    source: 'spec §2 listen(), SessionInfo',
    tls: 'each',
    requires: ['server'],
    async run(ctx) {
      const { peer, socket } = await accepted(ctx, [{ op: 'closeNotify' }, { op: 'readUntilEnd' }]);
      const session = await socket.opened;
      equal(session.protocol, ctx.adapter.capabilities.sessionInfo.protocol ? ctx.tls : null, 'protocol');
      await socket.closed;
      equal((await peer.whenDone()).handshake?.authorized, true, 'the client verified our certificate');
    },
  },
  {
    id: 'server.shutdown-write.close-notify-then-fin',
    requirement:
      "on an accepted socket, shutdown('write') sends data, close_notify, FIN in order, and reading goes on",
    source: 'RFC 8446 §6.1; measured: half-close on an accepted socket',
    tls: 'each',
    requires: ['server', 'halfClose'],
    async run(ctx) {
      const { peer, socket } = await accepted(
        ctx,
        [
          { op: 'sendText', text: 'hi' },
          { op: 'readUntilEnd' },
          { op: 'sendText', text: 'late' },
          { op: 'closeNotify' },
          { op: 'waitEnd' },
        ],
        { allowHalfOpen: true },
      );
      equal(new TextDecoder().decode(await readBytes(socket, 2)), 'hi', 'request');
      await socket.write('bye');
      await socket.shutdown('write');
      equal((await readToEnd(socket)).text, 'late', 'read after our half-close');
      await socket.closed;
      endsWith(
        closingEvents((await peer.whenDone()).wire, 's2c'),
        ['data', 'alert:close_notify', 'fin'],
        'what we sent',
      );
    },
  },
  {
    id: 'server.shutdown-read.discards-and-counts',
    requirement:
      "on an accepted socket, shutdown('read') discards and counts later data and never blocks the client",
    source: 'spec §3 shutdown(read)',
    tls: 'any',
    requires: ['server', 'shutdownRead'],
    async run(ctx) {
      const { peer, socket } = await accepted(
        ctx,
        [{ op: 'send', bytes: 2 * MIB, seed: 8 }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
        { allowHalfOpen: true, observe: false },
      );
      await socket.shutdown('read');
      equal(await socket.read(), null, 'read() after shutdown("read")');
      for (;;) {
        if ((await peer.report()).sent.bytes >= 2 * MIB) break;
        await delay(20);
      }
      await socket.shutdown('write');
      const report = await socket.closed;
      equal(report.bytesRead + report.bytesDiscarded, 2 * MIB, 'bytesRead + bytesDiscarded');
      check(report.bytesDiscarded > 0, 'bytesDiscarded > 0');
    },
  },
  {
    id: 'server.peer-close.half-open',
    requirement:
      "on an accepted socket with allowHalfOpen, the client's close_notify ends reading and we can still write",
    source: 'RFC 8446 §6.1; measured: half-close on an accepted socket',
    tls: 'each',
    requires: ['server'],
    async run(ctx) {
      const { peer, socket } = await accepted(
        ctx,
        [{ op: 'sendText', text: 'req' }, { op: 'closeNotify' }, { op: 'readUntilEnd' }],
        {
          allowHalfOpen: true,
        },
      );
      equal((await readToEnd(socket)).text, 'req', 'request');
      await socket.write(new Uint8Array(65536).fill(3));
      await socket.shutdown('write');
      equal((await socket.closed).initiator, 'peer', 'initiator');
      equal(
        (await peer.whenDone()).received.bytes,
        65536,
        'bytes the client received after its close_notify',
      );
    },
  },
  {
    id: 'server.bad-peer.garbage-after-handshake',
    requirement:
      'garbage from the client after the handshake fails reads on the accepted socket with ERR_TLS_PROTOCOL',
    source: 'RFC 8446 §5.2 (a record that does not open is a fatal error); found by the Bun fuzz batch',
    tls: 'each',
    requires: ['server'],
    async run(ctx) {
      const { peer, socket } = await accepted(
        ctx,
        [{ op: 'wait', signal: 'garbage' }, { op: 'garbage', bytes: 64 }, { op: 'waitEnd' }],
        { observe: false },
      );
      const reading = socket.read();
      await peer.signal('garbage');
      await rejectsWith(reading, 'ERR_TLS_PROTOCOL', 'read() after garbage');
      equal((await socket.closed).initiator, 'error', 'initiator');
    },
  },
  {
    id: 'server.close.waits-for-peer',
    requirement: "close() on an accepted socket waits for the client's close_notify",
    source: 'spec §3 close()',
    tls: 'each',
    requires: ['server'],
    async run(ctx) {
      const { peer, socket } = await accepted(ctx, [
        { op: 'readUntilEnd' },
        { op: 'sleep', ms: 200 },
        { op: 'closeNotify' },
        { op: 'waitEnd' },
      ]);
      const started = performance.now();
      const report = await socket.close();
      within(performance.now() - started, 190, 200 + HANG_GUARD_MS, 'close() waiting for the client');
      equal(report.initiator, 'local', 'initiator');
      const wire = (await peer.whenDone()).wire;
      endsWith(closingEvents(wire, 's2c'), ['alert:close_notify', 'fin'], 'what we sent');
      endsWith(closingEvents(wire, 'c2s'), ['alert:close_notify', 'fin'], 'what the client sent');
    },
  },
  {
    id: 'server.abort.rst-on-wire',
    requirement: 'abort() on an accepted socket puts a RST on the wire and no close_notify',
    source: 'spec §3 abort()',
    tls: 'each',
    requires: ['server', 'abortiveReset'],
    async run(ctx) {
      const { peer, socket } = await accepted(ctx, [{ op: 'sendText', text: 'ping' }, { op: 'waitEnd' }]);
      await readBytes(socket, 4);
      socket.abort();
      const report = await peer.whenDone();
      const sent = closingEvents(report.wire, 's2c');
      endsWith(sent, ['rst'], 'what we sent');
      check(!sent.includes('alert:close_notify'), `close_notify before the RST: [${sent.join(', ')}]`);
    },
  },
  {
    id: 'server.truncation.fin',
    requirement: 'a client FIN without close_notify is ERR_TLS_TRUNCATED on an accepted socket',
    source: 'RFC 8446 §6.1; measured: Deno reports UnexpectedEof',
    tls: 'each',
    requires: ['server', 'truncationDetection'],
    async run(ctx) {
      const { socket } = await accepted(ctx, [
        { op: 'sendText', text: 'partial' },
        { op: 'fin' },
        { op: 'waitEnd' },
      ]);
      equal(new TextDecoder().decode(await readBytes(socket, 7)), 'partial', 'data before the FIN');
      await rejectsWith(socket.read(), 'ERR_TLS_TRUNCATED', 'read() at the bare FIN');
    },
  },
  ...serverTruncationCases,
];
