/**
 * The same shutdown requirements with our listen() socket as the server and the peer as the client.
 * On the wire, c2s is the peer's direction and s2c ours.
 */
import {
  check,
  closingEvents,
  delay,
  endsWith,
  equal,
  readBytes,
  readToEnd,
  rejectsWith,
  within,
} from '../assert.ts';
import type { CaseContext, ConformanceCase } from '../case.ts';
import type { Step } from '../peer-client.ts';

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

export const serverCases: ConformanceCase[] = [
  {
    id: 'server.address-in-use',
    requirement: 'listen() on a port another listener holds rejects ERR_ADDRESS_IN_USE',
    source: 'DESIGN §5 (same failure, same code on every runtime)',
    tls: 'any',
    requires: ['server'],
    async run(ctx) {
      const { server } = await ctx.listen();
      await rejectsWith(ctx.listen({ port: server.address.port }), 'ERR_ADDRESS_IN_USE', 'second listen()');
    },
  },
  {
    id: 'server.client-certificate',
    requirement:
      'requestClientCert verifies the client certificate against ca, and a client without one fails its handshake',
    source: 'RFC 8446 §4.3.2 (CertificateRequest); DESIGN §2 ListenOptions',
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
    source: 'DESIGN §2 listen(), SessionInfo',
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
    source: 'RFC 8446 §6.1; research Q13',
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
    source: 'DESIGN §3 shutdown(read)',
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
    source: 'RFC 8446 §6.1; research Q13',
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
    id: 'server.close.waits-for-peer',
    requirement: "close() on an accepted socket waits for the client's close_notify",
    source: 'DESIGN §3 close()',
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
      within(performance.now() - started, 190, 3000, 'close() waiting for the client');
      equal(report.initiator, 'local', 'initiator');
      const wire = (await peer.whenDone()).wire;
      endsWith(closingEvents(wire, 's2c'), ['alert:close_notify', 'fin'], 'what we sent');
      endsWith(closingEvents(wire, 'c2s'), ['alert:close_notify', 'fin'], 'what the client sent');
    },
  },
  {
    id: 'server.abort.rst-on-wire',
    requirement: 'abort() on an accepted socket puts a RST on the wire and no close_notify',
    source: 'DESIGN §3 abort()',
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
    source: 'RFC 8446 §6.1; research Q13 (Deno reports UnexpectedEof)',
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
];
