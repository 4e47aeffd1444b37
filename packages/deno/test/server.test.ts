/**
 * listen(): our socket as the server, for the same shutdown cases as the client (server.*).
 * Run with: deno test --allow-net=127.0.0.1,localhost --allow-run=openssl,node --allow-write=.tmp --allow-read=.tmp
 */
import {
  type CloseReport,
  connect,
  listen,
  type SecureServer,
  type SecureSocketError,
  type ShutdownableSecureSocket,
} from '../src/index.ts';
import { assertEquals, assertRejects } from './fixtures/assert.ts';
import { MIB, randomBytes, readAll, sha256, text } from './fixtures/bytes.ts';
import { nodeClientThatResets, Relay, readText, readToEnd, writeText } from './fixtures/peers.ts';
import { testPki } from './fixtures/pki.ts';

const pki = await testPki();

function summary(report: CloseReport) {
  return {
    initiator: report.initiator,
    closeNotifySent: report.closeNotifySent,
    closeNotifyReceived: report.closeNotifyReceived,
    truncated: report.truncated,
    error: report.error?.code,
  };
}

/** A server whose first accepted socket is handed to `serve`; `served` settles with what serve returned. */
async function serveOnce<T>(
  serve: (socket: ShutdownableSecureSocket) => Promise<T>,
  options: Partial<Parameters<typeof listen>[0]> = {},
): Promise<{ server: SecureServer; served: Promise<T> }> {
  const served = Promise.withResolvers<T>();
  const server = await listen({ ...pki.server, ...options }, (socket) => {
    serve(socket).then(served.resolve, served.reject);
  });
  // Handled here so that a failure fails the test awaiting it rather than the whole module.
  served.promise.catch(() => {});
  return { server, served: served.promise };
}

/** A plain Deno TLS client over startTls, as a peer for our server. */
async function denoClient(port: number): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: '127.0.0.1', port });
  const conn = await Deno.startTls(tcp, { hostname: 'localhost', caCerts: [pki.ca] });
  await conn.handshake();
  return conn;
}

Deno.test('our listen() serves our connect(): request, half-close, full response, both reports (server.shutdown-write.peer-reads-all)', async () => {
  const { server, served } = await serveOnce(
    async (socket) => {
      const request = await readText(socket);
      await socket.write(request.toUpperCase());
      await socket.shutdown('write');
      return { session: await socket.opened, report: await socket.closed };
    },
    // The client half-closes first: without allowHalfOpen our server would answer it at once.
    { alpn: ['h2', 'http/1.1'], allowHalfOpen: true },
  );
  const client = await connect({
    hostname: 'localhost',
    port: server.address.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
    alpn: ['h2'],
  });
  await client.write('hello');
  await client.shutdown('write');
  assertEquals(await readText(client), 'HELLO');
  assertEquals(summary(await client.closed), {
    initiator: 'local',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  const { session, report } = await served;
  assertEquals(
    [session.alpnProtocol, session.servername, session.authorized, session.protocol, session.peerCertificate],
    ['h2', null, false, null, null],
  );
  assertEquals(session.localAddress, { hostname: '127.0.0.1', port: server.address.port });
  assertEquals(summary(report), {
    initiator: 'peer',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  await server.close();
});

Deno.test('our server half-closes first and still reads the reply (server.peer-close.half-open)', async () => {
  const { server, served } = await serveOnce(async (socket) => {
    await socket.write('hello');
    await socket.shutdown('write');
    return readText(socket);
  });
  const client = await denoClient(server.address.port);
  assertEquals(text(await readToEnd(client)), 'hello');
  await writeText(client, 'reply after your close_notify');
  await client.closeWrite();
  assertEquals(await served, 'reply after your close_notify');
  client.close();
  await server.close();
});

Deno.test('our server answers the client’s close_notify with its own (server.peer-close.answers)', async () => {
  const { server, served } = await serveOnce(async (socket) => {
    const request = await readText(socket);
    return { request, report: await socket.closed };
  });
  const client = await denoClient(server.address.port);
  await writeText(client, 'bye');
  await client.closeWrite();
  // null, not UnexpectedEof: the server answered with close_notify.
  assertEquals(text(await readToEnd(client)), '');
  const { request, report } = await served;
  assertEquals(request, 'bye');
  assertEquals(summary(report), {
    initiator: 'peer',
    closeNotifySent: true,
    closeNotifyReceived: true,
    truncated: false,
    error: undefined,
  });
  client.close();
  await server.close();
});

for (const truncation of ['error', 'ignore'] as const) {
  Deno.test(`a client FIN without close_notify, truncation: '${truncation}' (server.truncation.fin-at-boundary, server.truncation.ignore)`, async () => {
    const firstRead = Promise.withResolvers<string>();
    const { server, served } = await serveOnce(
      async (socket) => {
        const first = await socket.read();
        firstRead.resolve(first ? text(first) : 'end of stream');
        const next = await socket.read().then(
          (chunk) => chunk,
          (error: SecureSocketError) => error.code,
        );
        return { next, report: await socket.closed };
      },
      { truncation },
    );
    const relay = new Relay(server.address.port);
    const client = await denoClient(relay.port);
    await writeText(client, 'first');
    // Only once the server has it: the relay must not cut off the handshake or the data.
    assertEquals(await firstRead.promise, 'first');
    await relay.finToServer();
    const { next, report } = await served;
    assertEquals(next, truncation === 'error' ? 'ERR_TLS_TRUNCATED' : null);
    assertEquals([report.truncated, report.closeNotifyReceived], [true, false]);
    client.close();
    await relay.finished;
    await server.close();
  });
}

Deno.test('a client RST is ERR_CONNECTION_RESET on our server (server.reset.peer-rst-mid-stream)', async () => {
  const { server, served } = await serveOnce(async (socket) => {
    const hello = await socket.read();
    await socket.write('ack');
    const error = await socket.read().then(
      () => 'no error',
      (failure: SecureSocketError) => failure.code,
    );
    return { hello: hello && text(hello), error, report: await socket.closed };
  });
  const client = nodeClientThatResets(server.address.port, pki);
  const { hello, error, report } = await served;
  assertEquals([hello, error, report.error?.code], ['hello', 'ERR_CONNECTION_RESET', 'ERR_CONNECTION_RESET']);
  assertEquals(await client.output, ['resetting']);
  await client.finished;
  await server.close();
});

Deno.test('abort() on our server is a close on Deno: the client sees close_notify, not a RST (abort.rst-on-wire unsupported)', async () => {
  const { server, served } = await serveOnce(async (socket) => {
    socket.abort();
    return socket.closed;
  });
  const client = await denoClient(server.address.port);
  assertEquals(text(await readToEnd(client)), '');
  assertEquals((await served).initiator, 'abort');
  client.close();
  await server.close();
});

Deno.test('16 MiB each way through our server and our client, verified by sha256 (server.data.sha256-16mib)', async () => {
  const size = 16 * MIB;
  const upload = randomBytes(size);
  const download = randomBytes(size);
  const { server, served } = await serveOnce(async (socket) => {
    const [received] = await Promise.all([
      readAll(socket),
      socket.write(download).then(() => socket.shutdown('write')),
    ]);
    return sha256(received);
  });
  const client = await connect({
    hostname: 'localhost',
    port: server.address.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  });
  const [received] = await Promise.all([
    readAll(client),
    client.write(upload).then(() => client.shutdown('write')),
  ]);
  assertEquals(await sha256(received), await sha256(download), 'download sha256');
  assertEquals(await served, await sha256(upload), 'upload sha256');
  assertEquals((await client.closed).bytesRead, size);
  await server.close();
});

Deno.test('handshake failures reach onHandshakeError with their code', async () => {
  const errors: string[] = [];
  const twoFailures = Promise.withResolvers<void>();
  const server = await listen({
    ...pki.server,
    onHandshakeError: (error) => {
      errors.push(error.code);
      if (errors.length === 2) twoFailures.resolve();
    },
  });
  const plaintext = await Deno.connect({ hostname: '127.0.0.1', port: server.address.port });
  await writeText(plaintext, 'GET / HTTP/1.0\r\n\r\n');
  // A client without our CA rejects the certificate and tells the server with an alert.
  const untrusting = await Deno.connectTls({ hostname: 'localhost', port: server.address.port });
  await untrusting.handshake().catch(() => {});
  await twoFailures.promise;
  assertEquals(errors.sort(), ['ERR_TLS_ALERT', 'ERR_TLS_PROTOCOL']);
  plaintext.close();
  untrusting.close();
  await server.close();
});

Deno.test('close() stops accepting; a socket already handed out stays usable', async () => {
  const accepted = Promise.withResolvers<ShutdownableSecureSocket>();
  const server = await listen({ ...pki.server }, (socket) => accepted.resolve(socket));
  const client = await connect({
    hostname: 'localhost',
    port: server.address.port,
    ca: pki.ca,
    caAddsToDefaultTrust: true,
  });
  const socket = await accepted.promise;
  await server.close();
  await assertRejects(
    connect({ hostname: '127.0.0.1', port: server.address.port, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_CONNECT_REFUSED',
    },
  );
  await socket.write('still here');
  await socket.shutdown('write');
  assertEquals(await readText(client), 'still here');
  await Promise.all([client.closed, socket.closed]);
});

Deno.test('listen() refuses what Deno.listenTls cannot do, and a bad key', async () => {
  await assertRejects(
    listen({ ...pki.server, requestClientCert: true, ca: pki.ca, caAddsToDefaultTrust: true }),
    {
      code: 'ERR_UNSUPPORTED',
    },
  );
  await assertRejects(listen({ ...pki.server, ca: pki.ca }), { code: 'ERR_UNSUPPORTED' });
  await assertRejects(listen({ ...pki.server, keepAlive: true }), { code: 'ERR_UNSUPPORTED' });
  await assertRejects(listen({ cert: pki.server.cert, key: pki.client.key }), { code: 'ERR_INVALID_OPTION' });
});
